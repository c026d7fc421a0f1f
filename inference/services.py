"""Detection over freshly stored samples. Today: the safety rule floor. PulseNet joins it (issue 5)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from episodes.models import Episode
from episodes.services import episode_open
from vitals.models import VitalSample

from .rules import RuleThresholds, rules_evaluate

LOOKBACK = timedelta(minutes=10)


def wearers_detect(*, wearer_ids: list[int]) -> int:
    """Run the rule floor for each wearer over their last minutes of samples; open (or add evidence
    to) an episode per hit through the episodes service. Returns the number of hits.

    Safe to run twice: a second hit on an active episode of the same kind is new evidence, not a new page.
    """
    thresholds = RuleThresholds()
    since = timezone.now() - LOOKBACK
    hits = 0
    for wearer in User.objects.filter(id__in=wearer_ids, is_active=True):
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
