"""Detection over freshly stored samples. Today: the safety rule floor. PulseNet joins it (issue 5)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from episodes.models import Episode
from episodes.services import episode_open
from vitals.models import VitalSample

from .rules import RuleThresholds, rules_evaluate

LOOKBACK = timedelta(minutes=3)  # the rules' sustained window, with margin


def _suspicious(wearer_ids: list[int], thresholds: RuleThresholds, since: datetime) -> list[int]:
    """Wearers with any reading past a rule threshold in the window. A rule fires only if every
    reading of its window is past the threshold, so the others need no further look (one indexed
    query for the whole batch instead of one per wearer)."""
    past = (
        Q(spo2__lt=thresholds.spo2_low)
        | Q(heart_rate__gt=thresholds.heart_rate_high_at_rest)
        | Q(heart_rate__lt=thresholds.heart_rate_low)
    )
    return list(
        VitalSample.objects.filter(past, wearer_id__in=wearer_ids, recorded_at__gte=since)
        .values_list("wearer_id", flat=True)
        .distinct()
    )


def wearers_detect(*, wearer_ids: list[int]) -> int:
    """Run the rule floor for each wearer over their last minutes of samples; open (or add evidence
    to) an episode per hit through the episodes service. Returns the number of hits.

    Safe to run twice: a second hit on an active episode of the same kind is new evidence, not a new page.
    """
    thresholds = RuleThresholds()
    since = timezone.now() - LOOKBACK
    hits = 0
    for wearer in User.objects.filter(id__in=_suspicious(wearer_ids, thresholds, since), is_active=True):
        readings = list(
            VitalSample.objects.filter(wearer=wearer, recorded_at__gte=since)
            .only("recorded_at", "heart_rate", "spo2", "steps", "motion_g")
            .order_by("recorded_at")
        )
        for hit in rules_evaluate(readings, thresholds):
            episode_open(
                wearer=wearer,
                kind=hit.kind,
                source=Episode.Source.RULE,
                severity=hit.severity,
                explanation=hit.explanation,
            )
            hits += 1
    return hits
