"""The safety rule floor: fixed thresholds that fire whatever the model says. Pure numpy.

A clinician can set the thresholds per wearer (inference.DetectionSettings in admin). A rule fires
only when every minute of its sustained window has a reading past the threshold, so one noisy
reading never alarms, and a missing minute breaks the run rather than being assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .schema import CRITICAL_HEART_RATE_BELOW, CRITICAL_SPO2_BELOW, REST


@dataclass(frozen=True)
class RuleThresholds:
    spo2_low: float = 88.0
    heart_rate_high_at_rest: float = 150.0
    heart_rate_low: float = 40.0
    sustained_minutes: int = 2  # low SpO2 and low heart rate
    high_sustained_minutes: int = 10  # high heart rate at rest (exercise the watch missed lasts minutes too)


def _sustained(cond: np.ndarray, k: int) -> np.ndarray:
    """True at t when cond held at every one of minutes t-k+1..t."""
    c = np.concatenate([[0], np.cumsum(cond.astype(np.int64))])
    out = np.zeros(len(cond), dtype=bool)
    if len(cond) >= k:
        out[k - 1 :] = (c[k:] - c[:-k]) == k
    return out


def rule_hits(values: dict[str, np.ndarray], ctx: np.ndarray, t: RuleThresholds) -> dict[str, np.ndarray]:
    """Per minute and kind, whether the rule floor fires (sustained window ending at that minute)."""
    k = max(1, t.sustained_minutes)
    hr, spo2 = values["heart_rate"], values["spo2"]
    with np.errstate(invalid="ignore"):
        return {
            "desaturation": _sustained(np.isfinite(spo2) & (spo2 < t.spo2_low), k),
            "tachycardia": _sustained(
                np.isfinite(hr) & (hr > t.heart_rate_high_at_rest) & (ctx == REST), max(1, t.high_sustained_minutes)
            ),
            "bradycardia": _sustained(np.isfinite(hr) & (hr < t.heart_rate_low), k),
        }


def rule_explanation(kind: str, values: dict[str, np.ndarray], i: int, t: RuleThresholds) -> tuple[str, str]:
    """Severity and a plain sentence for a rule hit ending at row i."""
    k = max(1, t.sustained_minutes)
    lo = max(0, i - k + 1)
    if kind == "desaturation":
        low = float(np.nanmin(values["spo2"][lo : i + 1]))
        return (
            "critical" if low < CRITICAL_SPO2_BELOW else "high",
            f"Blood oxygen below {t.spo2_low:.0f}% for {k} minutes (lowest {low:.0f}%).",
        )
    if kind == "tachycardia":
        k = max(1, t.high_sustained_minutes)
        span = slice(max(0, i - k + 1), i + 1)
        high = float(np.nanmax(values["heart_rate"][span]))
        # the floor fires on minutes without any activity reading too (as a floor should), but does not
        # call them rest: nothing says whether the wearer was still
        unknown = not (np.isfinite(values["steps"][span]).any() or np.isfinite(values["motion_g"][span]).any())
        doing = "with no activity recorded (the watch sent no steps or motion)" if unknown else "at rest"
        return "high", f"Heart rate above {t.heart_rate_high_at_rest:.0f} {doing} for {k} minutes (up to {high:.0f})."
    low = float(np.nanmin(values["heart_rate"][lo : i + 1]))
    return (
        "critical" if low < CRITICAL_HEART_RATE_BELOW else "high",
        f"Heart rate below {t.heart_rate_low:.0f} for {k} minutes (down to {low:.0f}).",
    )
