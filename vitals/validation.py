"""Validation of incoming samples: pure code shared by REST bulk ingest and the watch socket.

A batch is `{"samples": [...], "battery_pct": 0-100 (optional)}`; each sample is
`{"sequence": int, "timestamp": ISO-8601 with offset, <metric>: number, ...}`.
A bad envelope rejects the whole batch (BatchError); a bad sample is rejected alone, with a reason,
while the good samples of the same batch are kept. Unknown keys in a sample are ignored so newer
watch firmware can add fields.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Physiologically plausible ranges (inclusive). Outside them a reading is a sensor fault.
RANGES: dict[str, tuple[float, float]] = {
    "heart_rate": (20, 250),
    "hrv_ms": (1, 500),
    "spo2": (50, 100),
    "respiratory_rate": (3, 70),
    "skin_temp_c": (20, 45),
    "steps": (0, 100_000),
    "motion_g": (0, 16),
}
INTEGER_METRICS = {"steps"}
MAX_SEQUENCE = 2**63 - 1


class Reason:
    MALFORMED = "malformed"
    OUT_OF_RANGE = "out_of_range"
    IN_THE_FUTURE = "in_the_future"
    TOO_OLD = "too_old"


class BatchError(ValueError):
    """The batch as a whole is unusable (not an object, no samples list, too many samples...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SampleInput:
    sequence: int
    recorded_at: datetime
    heart_rate: float | None = None
    hrv_ms: float | None = None
    spo2: float | None = None
    respiratory_rate: float | None = None
    skin_temp_c: float | None = None
    steps: int | None = None
    motion_g: float | None = None

    def metrics(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in RANGES if getattr(self, name) is not None}


@dataclass
class SampleRejection:
    index: int
    sequence: int | None
    reason: str
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedBatch:
    samples: list[SampleInput]
    rejected: list[SampleRejection]
    battery_pct: int | None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def sample_parse(
    raw: Any, *, index: int, now: datetime, max_future: timedelta, max_age: timedelta
) -> SampleInput | SampleRejection:
    """Parse one sample, or say precisely why it is rejected (the most basic problem wins)."""
    if not isinstance(raw, dict):
        return SampleRejection(index, None, Reason.MALFORMED, {"sample": "A sample must be a JSON object."})
    malformed: dict[str, str] = {}
    out_of_range: dict[str, str] = {}

    sequence = raw.get("sequence")
    if not (isinstance(sequence, int) and not isinstance(sequence, bool) and 0 <= sequence <= MAX_SEQUENCE):
        malformed["sequence"] = "Required: an integer from 0 to 2^63-1."
        sequence = None

    recorded_at: datetime | None = None
    stamp = raw.get("timestamp")
    if not isinstance(stamp, str):
        malformed["timestamp"] = "Required: an ISO-8601 string with a UTC offset, e.g. 2026-11-23T18:00:00Z."
    else:
        try:
            recorded_at = datetime.fromisoformat(stamp)
        except ValueError:
            malformed["timestamp"] = f"'{stamp[:40]}' is not an ISO-8601 timestamp."
        else:
            if recorded_at.tzinfo is None:
                malformed["timestamp"] = "The timestamp needs a UTC offset (Z or +hh:mm)."
                recorded_at = None

    values: dict[str, float | int] = {}
    for name, (low, high) in RANGES.items():
        value = raw.get(name)
        if value is None:
            continue
        if not _is_number(value) or (name in INTEGER_METRICS and not float(value).is_integer()):
            malformed[name] = "Must be an integer." if name in INTEGER_METRICS else "Must be a number."
        elif not low <= value <= high:
            out_of_range[name] = f"{value} is outside the plausible range {low}-{high}."
        else:
            values[name] = int(value) if name in INTEGER_METRICS else float(value)
    if not values and not malformed and not out_of_range:
        malformed["sample"] = f"A sample must carry at least one of: {', '.join(RANGES)}."

    if malformed:
        return SampleRejection(index, sequence, Reason.MALFORMED, malformed)
    if out_of_range:
        return SampleRejection(index, sequence, Reason.OUT_OF_RANGE, out_of_range)
    assert recorded_at is not None and sequence is not None
    if recorded_at > now + max_future:
        return SampleRejection(
            index,
            sequence,
            Reason.IN_THE_FUTURE,
            {"timestamp": "The timestamp is in the future; check the watch clock."},
        )
    if recorded_at < now - max_age:
        return SampleRejection(
            index, sequence, Reason.TOO_OLD, {"timestamp": f"Older than {max_age.days} days; not accepted."}
        )
    return SampleInput(sequence=sequence, recorded_at=recorded_at, **values)


def batch_parse(
    payload: Any, *, now: datetime, max_samples: int, max_future: timedelta, max_age: timedelta
) -> ParsedBatch:
    if not isinstance(payload, dict):
        raise BatchError("malformed_batch", 'A batch must be a JSON object: {"samples": [...]}.')
    raw_samples = payload.get("samples")
    if not isinstance(raw_samples, list):
        raise BatchError("malformed_batch", '"samples" is required and must be a list.')
    if not raw_samples:
        raise BatchError("empty_batch", "The batch has no samples.")
    if len(raw_samples) > max_samples:
        raise BatchError(
            "batch_too_large", f"At most {max_samples} samples per batch; this one has {len(raw_samples)}."
        )
    battery = payload.get("battery_pct")
    if battery is not None and not (isinstance(battery, int) and not isinstance(battery, bool) and 0 <= battery <= 100):
        raise BatchError("malformed_batch", '"battery_pct" must be an integer from 0 to 100.')

    samples: list[SampleInput] = []
    rejected: list[SampleRejection] = []
    for index, raw in enumerate(raw_samples):
        parsed = sample_parse(raw, index=index, now=now, max_future=max_future, max_age=max_age)
        (samples if isinstance(parsed, SampleInput) else rejected).append(parsed)
    return ParsedBatch(samples=samples, rejected=rejected, battery_pct=battery)
