"""Writes about devices and samples. `samples_ingest` is the one ingest path (REST and socket)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .models import METRICS, Device, LatestVitals, VitalSample, token_hash
from .validation import ParsedBatch, SampleInput, SampleRejection, batch_parse

TOKEN_PREFIX = "pd_"
MAX_SAMPLE_AGE = timedelta(days=7)  # an offline watch may backfill up to a week


def device_token_assign(device: Device) -> str:
    """Give an (unsaved) device a fresh token and return it; only its hash is kept on the device."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device.token_hash = token_hash(token)
    device.token_prefix = token[:10]
    return token


@transaction.atomic
def device_register(*, wearer: User, name: str, kind: str = Device.Kind.WATCH) -> tuple[Device, str]:
    """Register a device for `wearer`. Returns (device, token); the token is never retrievable again."""
    device = Device(wearer=wearer, name=name, kind=kind)
    token = device_token_assign(device)
    device.full_clean()
    device.save()
    return device, token


def device_token_rotate(*, device: Device) -> str:
    """Issue a new token; the old one stops working at once. A revoked device becomes active again."""
    token = device_token_assign(device)
    device.token_rotated_at = timezone.now()
    device.revoked_at = None
    device.save(update_fields=["token_hash", "token_prefix", "token_rotated_at", "revoked_at"])
    return token


def device_revoke(*, device: Device) -> None:
    Device.objects.filter(id=device.id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    device.refresh_from_db(fields=["revoked_at"])


def device_by_token(token: str) -> Device | None:
    return Device.objects.select_related("wearer").filter(token_hash=token_hash(token)).first()


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)  # sequences stored by this call
    duplicates: list[int] = field(default_factory=list)  # sequences already stored: acknowledged again
    rejected: list[SampleRejection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "rejected": [r.to_dict() for r in self.rejected],
            # What the watch may drop from its buffer: stored now or before.
            "acked": sorted(self.accepted + self.duplicates),
        }


def batch_from_payload(payload: Any) -> ParsedBatch:
    """Validate a raw batch with the server's limits. Raises validation.BatchError."""
    return batch_parse(
        payload,
        now=timezone.now(),
        max_samples=settings.PULSERA_INGEST_MAX_SAMPLES,
        max_future=timedelta(seconds=settings.PULSERA_INGEST_MAX_FUTURE_SECONDS),
        max_age=MAX_SAMPLE_AGE,
    )


def samples_ingest(*, device: Device, batch: ParsedBatch) -> IngestResult:
    """Store a validated batch from `device`, exactly once per (device, sequence).

    The wearer comes from the device, never from the payload. One transaction: the samples, the
    wearer's latest vitals and the device's last-seen are committed together, and the result is
    returned only after commit, so an acknowledged sample is durable. Resending a batch stores
    nothing new and reports the samples as duplicates.
    """
    result = IngestResult(rejected=list(batch.rejected))
    unique: dict[int, SampleInput] = {}
    for sample in batch.samples:
        if sample.sequence in unique:
            result.duplicates.append(sample.sequence)
        else:
            unique[sample.sequence] = sample
    now = timezone.now()
    with transaction.atomic():
        stored = set(
            VitalSample.objects.filter(device=device, sequence__in=list(unique)).values_list("sequence", flat=True)
        )
        new = [s for seq, s in unique.items() if seq not in stored]
        result.duplicates.extend(seq for seq in unique if seq in stored)
        result.accepted.extend(s.sequence for s in new)
        VitalSample.objects.bulk_create(
            [
                VitalSample(
                    wearer_id=device.wearer_id,
                    device=device,
                    sequence=s.sequence,
                    recorded_at=s.recorded_at,
                    received_at=now,
                    **s.metrics(),
                )
                for s in new
            ],
            batch_size=1000,
            ignore_conflicts=True,  # a concurrent resend of the same sample is stored once
        )
        if new:
            latest_vitals_merge(wearer_id=device.wearer_id, samples=new)
        device_seen(
            device=device,
            now=now,
            newest=max((s.recorded_at for s in new), default=None),
            battery_pct=batch.battery_pct,
        )
    return result


def device_seen(
    *, device: Device, now: datetime, newest: datetime | None = None, battery_pct: int | None = None
) -> None:
    """Record that the device was heard from (and its battery, and its newest sample)."""
    fields = ["last_seen_at"]
    device.last_seen_at = now
    if newest is not None and (device.last_sample_at is None or newest > device.last_sample_at):
        device.last_sample_at = newest
        fields.append("last_sample_at")
    if battery_pct is not None:
        device.battery_pct = battery_pct
        fields.append("battery_pct")
    device.save(update_fields=fields)


def latest_vitals_merge(*, wearer_id: int, samples: list[SampleInput]) -> LatestVitals:
    """Fold new samples into the wearer's latest values: per metric, the newest reading wins, so a
    late backlog never overwrites fresher values."""
    row = LatestVitals.objects.select_for_update().filter(wearer_id=wearer_id).first()
    values: dict[str, dict[str, Any]] = dict(row.values) if row else {}
    for sample in sorted(samples, key=lambda s: s.recorded_at):
        for name, value in sample.metrics().items():
            current = values.get(name)
            if current is None or datetime.fromisoformat(current["at"]) <= sample.recorded_at:
                values[name] = {"value": value, "at": sample.recorded_at.astimezone(UTC).isoformat()}
    newest = max(s.recorded_at for s in samples)
    if row is None:
        return LatestVitals.objects.create(wearer_id=wearer_id, values=values, recorded_at=newest)
    row.values = {name: values[name] for name in METRICS if name in values}
    row.recorded_at = max(row.recorded_at, newest)
    row.save(update_fields=["values", "recorded_at", "updated_at"])
    return row
