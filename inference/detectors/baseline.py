"""Each wearer's personal normal, learned online and persisted.

For heart rate, HRV, SpO2 and skin temperature the baseline keeps a mean and a variance per hour of
the day (24) and activity context (rest, light, active): sleep is rest at the hours this wearer
sleeps, exercise is its own context, so a run at 7 am is compared with other runs, not with sleep.

Learning is causal. Minutes of the current day (noon to noon: one whole night each) are
accumulated; when the first minute of a later day arrives the day is folded into the baseline with
an exponential memory of about two weeks. A minute is always judged against the baseline as it
stood at the start of its day, so the same data gives the same answers whether it arrives minute by
minute (live) or all at once (offline).

A new wearer starts from a population prior worth two days of data, so the first days neither
alarm on every quirk nor miss the obvious. Daily summaries (resting heart rate, HRV, steps) are kept
for 60 days for the drift detector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .schema import ACTIVE, BASELINED, CONTEXTS, LIGHT, REST
from .series import filled

MEMORY_DAYS = 14
PRIOR_WEIGHT_DAYS = 2.0
HISTORY_DAYS = 60
MIN_CELL_MINUTES = 5  # a cell's day mean is folded only with at least this many minutes
RHR_BINS = np.arange(30, 201)  # 1-bpm histogram of resting heart rate over a day
MIN_REST_MINUTES_FOR_RHR = 120
# A night's resting heart rate: the mean of the day's lowest fifth of rest minutes (mostly deep
# sleep). Steadier from night to night than one percentile of them (the 10th, before): on real traces
# (seeds 2000-2004) a drift's rise stood further out of the usual nights (docs/pulsenet.md).
RHR_LOWEST_SHARE = 0.2
STD_FLOOR = {"heart_rate": 3.0, "hrv_ms": 5.0, "spo2": 1.0, "skin_temp_c": 0.3}
# After this many days with a step count or a motion reading, a minute with neither is a gap in the
# watch's activity data, not rest: it is judged, and counts for the night's resting heart rate, but
# does not teach the per-hour, per-activity normal (a week of workouts taken for rest would raise it).
# A watch that never sends activity keeps learning from every minute.
ACTIVITY_DAYS_TO_TRUST = 3


def _prior_mean(metric: str) -> np.ndarray:
    hours = np.arange(24)
    if metric == "heart_rate":
        rest = 68 + 4 * np.sin((hours - 15) / 24 * 2 * np.pi) - 8 * ((hours < 6) | (hours >= 23))
        return np.stack([rest, rest + 12, rest + 35], axis=1)
    level = {"hrv_ms": 45.0, "spo2": 96.5, "skin_temp_c": 33.3}[metric]
    return np.full((24, CONTEXTS), level)


PRIOR_STD = {
    "heart_rate": np.array([9.0, 12.0, 20.0]),
    "hrv_ms": np.array([18.0, 18.0, 18.0]),
    "spo2": np.array([1.8, 1.8, 2.0]),
    "skin_temp_c": np.array([1.0, 1.0, 1.2]),
}


def activity_levels(steps: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """Per-minute activity from steps and peak motion: 0 rest, 1 light, 2 active."""
    level = np.zeros(len(steps), dtype=np.int8)
    s = filled(steps, 0.0)
    m = filled(motion, 1.0)
    level[(s > 15) | (m > 1.15)] = LIGHT
    level[(s > 60) | (m > 1.6)] = ACTIVE
    return level


def activity_context(levels: np.ndarray) -> np.ndarray:
    """Context of each minute, remembering recent effort: heart rate takes minutes to come down
    after exercise, so a minute is 'active' if any of the last 10 was, 'light' if any of the last 5."""
    light = _any_of_last(levels >= LIGHT, 5)
    return np.where(_any_of_last(levels == ACTIVE, 10), ACTIVE, np.where(light, LIGHT, REST)).astype(np.int8)


def _any_of_last(flags: np.ndarray, k: int) -> np.ndarray:
    """For each minute, whether any of the last k minutes (itself included) is flagged."""
    counts = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    end = np.arange(1, len(flags) + 1)
    return counts[end] - counts[np.maximum(0, end - k)] > 0


@dataclass
class Baseline:
    mean: dict[str, np.ndarray] = field(default_factory=lambda: {m: _prior_mean(m) for m in BASELINED})
    var: dict[str, np.ndarray] = field(
        default_factory=lambda: {m: np.tile(PRIOR_STD[m] ** 2, (24, 1)) for m in BASELINED}
    )
    weight: dict[str, np.ndarray] = field(
        default_factory=lambda: {m: np.full((24, CONTEXTS), PRIOR_WEIGHT_DAYS) for m in BASELINED}
    )
    day: int | None = None  # the day being accumulated ((minute - DAY_STARTS_AT_MINUTE) // 1440)
    acc: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (3, 24, CONTEXTS): n, sum, sum of squares
    rest_hr_hist: np.ndarray = field(default_factory=lambda: np.zeros(len(RHR_BINS)))
    rest_hrv: np.ndarray = field(default_factory=lambda: np.zeros(2))  # n, sum
    day_steps: float = 0.0
    day_minutes: int = 0
    history: list[list[Any]] = field(default_factory=list)  # [day, rhr, hrv, steps, worn minutes]
    activity_days: int = 0  # folded days with a step count or motion reading (up to ACTIVITY_DAYS_TO_TRUST)
    day_had_activity: bool = False

    def __post_init__(self) -> None:
        for metric in BASELINED:
            self.acc.setdefault(metric, np.zeros((3, 24, CONTEXTS)))

    # -- lookups -----------------------------------------------------------------------------
    def expected(self, metric: str, hours: np.ndarray, ctx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of `metric` at these hours and contexts."""
        mean = self.mean[metric][hours, ctx]
        std = np.maximum(np.sqrt(self.var[metric][hours, ctx]), STD_FLOOR[metric])
        return mean, std

    def maturity(self) -> float:
        """How much of the baseline is this wearer's own data rather than the prior, 0-1."""
        w = self.weight["heart_rate"][:, REST].mean()
        return float(min(1.0, (w - PRIOR_WEIGHT_DAYS) / 7))

    # -- learning ------------------------------------------------------------------------------
    def accumulate(self, values: dict[str, np.ndarray], hours: np.ndarray, ctx: np.ndarray) -> None:
        """Add minutes of the current day (all in self.day) to the day's statistics."""
        known = np.isfinite(values["steps"]) | np.isfinite(values["motion_g"])
        self.day_had_activity = self.day_had_activity or bool(known.any())
        learn = known if self.activity_days >= ACTIVITY_DAYS_TO_TRUST else np.ones(len(known), dtype=bool)
        for metric in BASELINED:
            v = values[metric]
            ok = np.isfinite(v) & learn
            if not ok.any():
                continue
            cell = hours[ok] * CONTEXTS + ctx[ok]
            acc = self.acc[metric].reshape(3, -1)
            acc[0] += np.bincount(cell, minlength=24 * CONTEXTS)
            acc[1] += np.bincount(cell, weights=v[ok], minlength=24 * CONTEXTS)
            acc[2] += np.bincount(cell, weights=v[ok] ** 2, minlength=24 * CONTEXTS)
        hr = values["heart_rate"]
        rest = (ctx == REST) & np.isfinite(hr)
        bins = np.clip(np.round(hr[rest]).astype(np.int64) - RHR_BINS[0], 0, len(RHR_BINS) - 1)
        self.rest_hr_hist += np.bincount(bins, minlength=len(RHR_BINS))
        hrv = values["hrv_ms"]
        rest_hrv = (ctx == REST) & np.isfinite(hrv)
        self.rest_hrv += [rest_hrv.sum(), hrv[rest_hrv].sum()]
        self.day_steps += float(np.nansum(values["steps"]))
        self.day_minutes += int(np.isfinite(hr).sum())

    def day_summary(self) -> tuple[float | None, float | None, float | None]:
        """Resting heart rate (the mean of the lowest RHR_LOWEST_SHARE of rest minutes), rest HRV and
        steps of the day so far."""
        total = self.rest_hr_hist.sum()
        rhr = None
        if total >= MIN_REST_MINUTES_FOR_RHR:
            below = np.cumsum(self.rest_hr_hist) - self.rest_hr_hist  # minutes in the bins under each
            take = np.clip(RHR_LOWEST_SHARE * total - below, 0, self.rest_hr_hist)
            rhr = float((take * RHR_BINS).sum() / take.sum())
        hrv = float(self.rest_hrv[1] / self.rest_hrv[0]) if self.rest_hrv[0] >= 30 else None
        steps = self.day_steps if self.day_minutes >= 600 else None
        return rhr, hrv, steps

    def fold(self) -> None:
        """Fold the accumulated day into the baseline and the daily history; start a new day."""
        for metric in BASELINED:
            n, s, ss = self.acc[metric]
            ok = n >= MIN_CELL_MINUTES
            if ok.any():
                day_mean = np.where(ok, s / np.maximum(n, 1), 0.0)
                day_var = np.where(ok, np.maximum(ss / np.maximum(n, 1) - day_mean**2, 0.0), 0.0)
                w = self.weight[metric]
                a = np.maximum(1.0 / (w + 1.0), 1.0 / MEMORY_DAYS)
                delta = day_mean - self.mean[metric]
                new_mean = self.mean[metric] + a * delta
                new_var = (1 - a) * (self.var[metric] + a * delta**2) + a * day_var
                self.mean[metric] = np.where(ok, new_mean, self.mean[metric])
                self.var[metric] = np.where(ok, new_var, self.var[metric])
                self.weight[metric] = np.where(ok, w + 1.0, w)
            self.acc[metric][:] = 0
        if self.day is not None:
            rhr, hrv, steps = self.day_summary()
            self.history.append([self.day, rhr, hrv, steps, self.day_minutes])
            self.history = self.history[-HISTORY_DAYS:]
        self.rest_hr_hist[:] = 0
        self.rest_hrv[:] = 0
        self.day_steps = 0.0
        self.day_minutes = 0
        if self.day_had_activity:
            self.activity_days = min(ACTIVITY_DAYS_TO_TRUST, self.activity_days + 1)
        self.day_had_activity = False

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": {m: v.tolist() for m, v in self.mean.items()},
            "var": {m: v.tolist() for m, v in self.var.items()},
            "weight": {m: v.tolist() for m, v in self.weight.items()},
            "day": self.day,
            "acc": {m: v.tolist() for m, v in self.acc.items()},
            "rest_hr_hist": self.rest_hr_hist.astype(int).tolist(),
            "rest_hrv": self.rest_hrv.tolist(),
            "day_steps": self.day_steps,
            "day_minutes": self.day_minutes,
            "history": self.history,
            "activity_days": self.activity_days,
            "day_had_activity": self.day_had_activity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baseline:
        if not data:
            return cls()
        return cls(
            mean={m: np.array(v, dtype=np.float64) for m, v in data["mean"].items()},
            var={m: np.array(v, dtype=np.float64) for m, v in data["var"].items()},
            weight={m: np.array(v, dtype=np.float64) for m, v in data["weight"].items()},
            day=data["day"],
            acc={m: np.array(v, dtype=np.float64) for m, v in data["acc"].items()},
            rest_hr_hist=np.array(data["rest_hr_hist"], dtype=np.float64),
            rest_hrv=np.array(data["rest_hrv"], dtype=np.float64),
            day_steps=float(data["day_steps"]),
            day_minutes=int(data["day_minutes"]),
            history=[list(row) for row in data["history"]],
            # saved before activity gaps were told apart: learn as before until days with activity are seen
            activity_days=int(data.get("activity_days", 0)),
            day_had_activity=bool(data.get("day_had_activity", False)),
        )
