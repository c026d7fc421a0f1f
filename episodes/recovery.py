"""Are the vitals back near the wearer's normal? Pure: used for "I'm OK" (after the calming window)
and for recovery before anyone acknowledged. Missing data never counts as recovered."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

# A few readings are needed before anyone is told "all clear".
MIN_READINGS = 3


@dataclass(frozen=True)
class Usual:
    """The wearer's usual value at rest at this hour (from their personal baseline), if known."""

    mean: float
    sd: float


@dataclass(frozen=True)
class Verdict:
    recovered: bool
    reason: str


def judge(
    kind: str,
    *,
    heart_rate: list[float],
    spo2: list[float],
    hrv_ms: list[float],
    usual_hr: Usual | None = None,
    usual_hrv: Usual | None = None,
    hr_low: float = 40.0,
    spo2_low: float = 88.0,
) -> Verdict:
    if kind in ("tachycardia", "hr_spike"):
        if len(heart_rate) < MIN_READINGS:
            return Verdict(False, "Not enough heart-rate readings since.")
        hr = statistics.median(heart_rate)
        ceiling = 100.0 if usual_hr is None else min(100.0, usual_hr.mean + 2.5 * max(usual_hr.sd, 4.0))
        usual = "" if usual_hr is None else f" (usual {usual_hr.mean:.0f} ± {usual_hr.sd:.0f})"
        if hr <= ceiling:
            return Verdict(True, f"Heart rate back to {hr:.0f}{usual}.")
        return Verdict(False, f"Heart rate still {hr:.0f}{usual}.")
    if kind == "bradycardia":
        if len(heart_rate) < MIN_READINGS:
            return Verdict(False, "Not enough heart-rate readings since.")
        hr = statistics.median(heart_rate)
        if hr >= max(50.0, hr_low + 5) and min(heart_rate) >= hr_low:
            return Verdict(True, f"Heart rate back to {hr:.0f}.")
        return Verdict(False, f"Heart rate still {hr:.0f} (lowest {min(heart_rate):.0f}).")
    if kind == "desaturation":
        if len(spo2) < MIN_READINGS:
            return Verdict(False, "Not enough blood-oxygen readings since.")
        level = statistics.median(spo2)
        if level >= 92 and min(spo2) >= spo2_low:
            return Verdict(True, f"Blood oxygen back to {level:.0f}%.")
        return Verdict(False, f"Blood oxygen still {level:.0f}% (lowest {min(spo2):.0f}%).")
    if kind == "hrv_collapse":
        if len(hrv_ms) < MIN_READINGS:
            return Verdict(False, "Not enough HRV readings since.")
        level = statistics.median(hrv_ms)
        floor = 20.0 if usual_hrv is None else 0.7 * usual_hrv.mean
        if level >= floor:
            return Verdict(True, f"HRV back to {level:.0f} ms.")
        return Verdict(False, f"HRV still {level:.0f} ms.")
    return Verdict(False, "This kind of episode is not judged from vitals; a caregiver decides.")
