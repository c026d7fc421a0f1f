"""The safety rule floor: fixed thresholds that fire whatever the model says. Pure, no ORM.

Each rule looks at one wearer's recent samples (oldest first) and fires only when the condition is
sustained over a window and covered by enough readings, so one noisy reading never alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Reading(Protocol):
    recorded_at: datetime
    heart_rate: float | None
    spo2: float | None
    steps: int | None
    motion_g: float | None


@dataclass(frozen=True)
class RuleThresholds:
    spo2_low: float = 88.0
    heart_rate_high_at_rest: float = 150.0
    heart_rate_low: float = 40.0
    sustained: timedelta = timedelta(minutes=2)
    min_readings: int = 3
    rest_steps_per_reading: int = 10  # more steps than this in a reading means "moving"
    rest_motion_g: float = 1.3


@dataclass(frozen=True)
class RuleHit:
    kind: str  # an episodes.Episode.Kind value
    severity: str  # an episodes.Episode.Severity value
    value: float
    explanation: str


def _sustained(
    readings: Sequence[Reading], metric: str, test, thresholds: RuleThresholds, now: datetime
) -> list[float]:  # type: ignore[no-untyped-def]
    """Values of `metric` in the sustained window if every one passes `test`, else []."""
    window = [r for r in readings if r.recorded_at >= now - thresholds.sustained and getattr(r, metric) is not None]
    if len(window) < thresholds.min_readings:
        return []
    if window[-1].recorded_at - window[0].recorded_at < thresholds.sustained * 0.75:
        return []  # readings too bunched together to call it sustained
    values = [float(getattr(r, metric)) for r in window]
    return values if all(test(v) for v in values) else []


def _at_rest(readings: Sequence[Reading], thresholds: RuleThresholds, now: datetime) -> bool:
    recent = [r for r in readings if r.recorded_at >= now - thresholds.sustained]
    return all(
        (r.steps or 0) <= thresholds.rest_steps_per_reading and (r.motion_g or 1.0) <= thresholds.rest_motion_g
        for r in recent
    )


def rules_evaluate(readings: Sequence[Reading], thresholds: RuleThresholds | None = None) -> list[RuleHit]:
    """The rule floor over one wearer's recent readings (oldest first), judged at the newest one."""
    if not readings:
        return []
    t = thresholds or RuleThresholds()
    now = readings[-1].recorded_at
    hits = []
    minutes = int(t.sustained.total_seconds() // 60)
    if values := _sustained(readings, "spo2", lambda v: v < t.spo2_low, t, now):
        low = min(values)
        hits.append(
            RuleHit("desaturation", "critical" if low < 85 else "high", low,
                    f"Blood oxygen below {t.spo2_low:.0f}% for {minutes} minutes (lowest {low:.0f}%).")
        )  # fmt: skip
    values = _sustained(readings, "heart_rate", lambda v: v > t.heart_rate_high_at_rest, t, now)
    if values and _at_rest(readings, t, now):
        high = max(values)
        hits.append(
            RuleHit("tachycardia", "high", high,
                    f"Heart rate above {t.heart_rate_high_at_rest:.0f} at rest for {minutes} minutes (up to {high:.0f}).")
        )  # fmt: skip
    if values := _sustained(readings, "heart_rate", lambda v: v < t.heart_rate_low, t, now):
        low = min(values)
        hits.append(
            RuleHit("bradycardia", "critical" if low < 35 else "high", low,
                    f"Heart rate below {t.heart_rate_low:.0f} for {minutes} minutes (down to {low:.0f}).")
        )  # fmt: skip
    return hits
