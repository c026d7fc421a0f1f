"""Shared vocabulary of the detectors: metrics, kinds, cadence and the Detection record."""

from __future__ import annotations

from dataclasses import dataclass

CADENCE_SECONDS = 60  # everything is resampled to one row per minute before detection
WINDOW_MINUTES = 15  # PulseNet looks at the last 15 minutes
DAY_STARTS_AT_MINUTE = 12 * 60  # the detector's days (baseline folds, nights for drift) run noon to noon
LOOKBACK_MINUTES = WINDOW_MINUTES  # raw history a step needs before its first minute
MIN_WINDOW_COVERAGE = 0.6  # fewer heart-rate minutes than this in the window: the model does not score

METRICS = ("heart_rate", "hrv_ms", "spo2", "skin_temp_c", "steps", "motion_g")
BASELINED = ("heart_rate", "hrv_ms", "spo2", "skin_temp_c")
# Outside these a value is an artefact, not physiology: dropped, counted, and lowers confidence.
PLAUSIBLE = {
    "heart_rate": (25.0, 240.0),
    "hrv_ms": (2.0, 300.0),
    "spo2": (50.0, 100.0),
    "skin_temp_c": (20.0, 43.0),
    "steps": (0.0, 400.0),
    "motion_g": (0.0, 16.0),
}

# Readings past these are critical (red flags: caregivers are paged without asking the wearer first).
# Used by the rule floor's severity and by ingest, which fast-tracks such readings to detection.
CRITICAL_SPO2_BELOW = 85.0
CRITICAL_HEART_RATE_BELOW = 35.0
# Readings past these (heart rate high only with no steps) deserve a prompt look: ingest has the
# wearer judged on the `urgent` queue, past the routine backlog, when such a minute completes. Wider
# than the rule floor's defaults (88 %, 150 at rest, 40) so the model's detections at these levels,
# and a clinician's limits set within them, are judged promptly too. Only the order of judging
# depends on them: a wearer outside them is judged all the same, on the `detection` queue.
ATTENTION_SPO2_BELOW = 92.0
ATTENTION_HEART_RATE_ABOVE = 120.0
ATTENTION_HEART_RATE_BELOW = 45.0

ACUTE_KINDS = ("tachycardia", "bradycardia", "hr_spike", "hrv_collapse", "desaturation")
DRIFT = "drift"
KINDS = (*ACUTE_KINDS, DRIFT)
# Kinds that page as one: a racing heart that starts with a sudden jump is one event, not two. They
# share one alarm (one detection, then quiet until REARM_MINUTES pass without either being hot),
# named here; the detection carries the kind that fired first.
PAGES_AS_ONE = {"high_heart_rate": ("tachycardia", "hr_spike")}
# Without a motion sensor, cycling (no steps) looks like tachycardia at rest: a stricter threshold,
# while the wearer could be on a bike. After CYCLING_STILL_MINUTES without a step (asleep, lying
# down) they cannot, and the usual threshold applies.
TACHYCARDIA_WITHOUT_MOTION = "tachycardia_without_motion"
CYCLING_STILL_MINUTES = 180

# Activity context of a minute: at rest, light activity, active (exercise).
REST, LIGHT, ACTIVE = 0, 1, 2
CONTEXTS = 3


@dataclass(frozen=True)
class Detection:
    kind: str
    detected_at: float  # epoch seconds (wall clock of the wearer) of the last sample seen when it fired
    onset: float  # epoch seconds: where the evidence starts
    severity: str  # low | medium | high | critical
    score: float  # 0-1
    confidence: float  # 0-1, from data quality
    explanation: str
    source: str  # "model", "rule" or "baseline"
