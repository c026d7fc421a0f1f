"""Reads of detection state for other apps (the episode lifecycle asks "what is usual for them?")."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import numpy as np

from accounts.models import User

from .detectors.baseline import REST
from .detectors.pipeline import WearerState
from .detectors.rules import RuleThresholds
from .models import WearerDetectorState


def wearer_usual_at_rest(wearer: User, at: datetime) -> dict[str, tuple[float, float]]:
    """metric -> (mean, sd) of the wearer's personal baseline at rest at `at`'s local hour.
    Empty when the wearer has no baseline yet (the caller uses population-level limits)."""
    row = WearerDetectorState.objects.filter(wearer=wearer).values_list("state", flat=True).first()
    if not row:
        return {}
    state = WearerState.from_dict(row)
    hour = np.array([at.astimezone(zoneinfo.ZoneInfo(wearer.time_zone or "UTC")).hour])
    ctx = np.array([REST])
    usual = {}
    for metric in ("heart_rate", "hrv_ms"):
        mean, sd = state.baseline.expected(metric, hour, ctx)
        usual[metric] = (float(mean[0]), float(sd[0]))
    return usual


def rule_thresholds_of(wearer: User) -> RuleThresholds:
    from .services import rule_thresholds_for

    return rule_thresholds_for([wearer.id]).get(wearer.id, RuleThresholds())
