"""The stale-data alarm: a watch silent for too long while it should be worn opens a gentle "no data"
episode (its own chain, never confused with distress), which clears itself when data returns."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from episodes import state_machine as sm
from episodes.models import Episode
from episodes.services import episode_open
from inference.models import DetectionSettings
from vitals.models import Device

from .escalation import episode_close


def _worn(now: datetime, tz: str, worn_from: time | None, worn_until: time | None) -> bool:
    if worn_from is None or worn_until is None or worn_from == worn_until:
        return True
    local = now.astimezone(zoneinfo.ZoneInfo(tz or "UTC")).time()
    return worn_from <= local < worn_until if worn_from < worn_until else (local >= worn_from or local < worn_until)


def wearers_check_silent(*, now: datetime | None = None) -> int:
    """Open "no data" episodes for silent watches and resolve those whose data is back.
    Returns how many episodes it opened or resolved. Only wearers whose watch has sent data before."""
    now = now or timezone.now()
    last_seen = dict(
        Device.objects.filter(revoked_at__isnull=True, last_seen_at__isnull=False)
        .values("wearer_id")
        .annotate(last=Max("last_seen_at"))
        .values_list("wearer_id", "last")
    )
    changed = 0
    active = Episode.objects.filter(kind=Episode.Kind.NO_DATA).exclude(state=sm.RESOLVED)
    for episode in active:
        seen = last_seen.get(episode.wearer_id)
        if seen is not None and seen > episode.started_at:
            with transaction.atomic():
                changed += episode_close(episode=episode, by=None, resolution=Episode.Resolution.RECOVERED,
                                         note=f"Data is flowing again (last seen {seen:%H:%M:%S} UTC).")  # fmt: skip
    already = set(active.values_list("wearer_id", flat=True))
    custom = {s.wearer_id: s for s in DetectionSettings.objects.filter(wearer_id__in=list(last_seen))}
    default = settings.PULSERA_NO_DATA_AFTER_MINUTES
    for wearer_id, seen in last_seen.items():
        row = custom.get(wearer_id)
        after = row.no_data_after_minutes if row is not None and row.no_data_after_minutes is not None else default
        if not after or wearer_id in already or now - seen < timedelta(minutes=after):
            continue
        wearer = User.objects.get(id=wearer_id)
        if row is not None and not _worn(now, wearer.time_zone, row.worn_from, row.worn_until):
            continue
        silent = int((now - seen).total_seconds() // 60)
        episode_open(
            wearer=wearer,
            kind=Episode.Kind.NO_DATA,
            source=Episode.Source.SYSTEM,
            severity=Episode.Severity.LOW,
            explanation=f"No data from the watch for {silent} minutes (last at {seen:%H:%M} UTC). "
            "It may be off the wrist, out of battery or out of range.",
        )
        changed += 1
    return changed
