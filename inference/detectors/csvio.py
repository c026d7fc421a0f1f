"""The `pulsenet_detect` CSV contract. Pure.

Input columns: wearer_id,timestamp,heart_rate,hrv_ms,spo2,skin_temp_c,steps,motion_g
(ISO-8601 timestamps, any vital may be empty, rows in any order, several wearers per file).
Output columns: wearer_id,detected_at,onset,kind,severity,score,explanation

Timestamps are judged on their own wall clock (a baseline's "3 am" is the wearer's 3 am). Naive
input gives naive output; input with an offset gives output with the wearer's offset.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import IO

import numpy as np

from .schema import METRICS, Detection
from .series import MinuteSeries, resample

INPUT_COLUMNS = ("wearer_id", "timestamp", *METRICS)
OUTPUT_COLUMNS = ("wearer_id", "detected_at", "onset", "kind", "severity", "score", "explanation")


class ContractError(ValueError):
    """The file does not follow the input contract (missing columns)."""


@dataclass
class WearerInput:
    timestamps: list[float] = field(default_factory=list)
    columns: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    offset: timedelta | None = None  # None: naive timestamps

    def series(self) -> MinuteSeries:
        return resample(np.array(self.timestamps), {m: np.array(v) for m, v in self.columns.items()})


def read_input(fh: IO[str]) -> tuple[dict[str, WearerInput], list[str]]:
    """Rows grouped by wearer, and one message per rejected row (the rest are kept)."""
    reader = csv.DictReader(fh)
    missing = [c for c in ("wearer_id", "timestamp") if c not in (reader.fieldnames or [])]
    if missing:
        raise ContractError(f"Missing column(s) {', '.join(missing)}; expected {','.join(INPUT_COLUMNS)}.")
    wearers: dict[str, WearerInput] = {}
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        wearer = (row.get("wearer_id") or "").strip()
        if not wearer:
            problems.append(f"line {line}: empty wearer_id")
            continue
        try:
            when = datetime.fromisoformat((row.get("timestamp") or "").strip())
        except ValueError:
            problems.append(f"line {line}: timestamp {row.get('timestamp')!r} is not ISO-8601")
            continue
        values = {}
        try:
            for metric in METRICS:
                text = (row.get(metric) or "").strip()
                values[metric] = float(text) if text else np.nan
        except ValueError:
            problems.append(f"line {line}: {metric} {text!r} is not a number")
            continue
        entry = wearers.setdefault(wearer, WearerInput())
        offset = when.utcoffset()
        if offset is not None:
            entry.offset = offset
        wall = when.replace(tzinfo=UTC) if when.tzinfo is None else when.replace(tzinfo=None).replace(tzinfo=UTC)
        entry.timestamps.append(wall.timestamp())
        for metric in METRICS:
            entry.columns[metric].append(values[metric])
    return wearers, problems


def _iso(seconds: float, offset: timedelta | None) -> str:
    wall = datetime.fromtimestamp(round(seconds), tz=UTC).replace(tzinfo=None)
    return wall.isoformat() if offset is None else wall.replace(tzinfo=timezone(offset)).isoformat()


def write_output(fh: IO[str], rows: Iterable[tuple[str, WearerInput, Detection]]) -> int:
    writer = csv.writer(fh)
    writer.writerow(OUTPUT_COLUMNS)
    count = 0
    for wearer, entry, d in rows:
        writer.writerow([wearer, _iso(d.detected_at, entry.offset), _iso(d.onset, entry.offset), d.kind, d.severity,
                         f"{d.score:.3f}", d.explanation])  # fmt: skip
        count += 1
    return count
