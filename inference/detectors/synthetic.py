"""Labelled synthetic physiology at one-minute cadence, for training and evaluating PulseNet. Pure, seeded.

A synthetic wearer has a resting heart rate, HRV, SpO2 and skin temperature, a circadian rhythm and a
night's sleep (turning over now and then), sits still for long spells, walks and exercises in bouts
(some exercise, like cycling, without steps), has benign raised-heart-rate spells (stress, coffee)
that must not alarm, takes the watch off now and then, and produces sensor artefacts. Like real
watches, not every wearer's watch reports every metric, and each reads SpO2 at its own rate.

`Calibration` holds the numbers that make this realistic; `calibrate()` measures them from the CC BY
sets in ../shared/data (PMData resting heart rate across people, and how much Fitbit's smoothing
steadies it from day to day; Fitabase 5-second heart rate for minute-to-minute variability) and
falls back to published-typical defaults without them.

Injected anomalies are labelled with kind, onset and end:
    tachycardia   heart rate 35-70 above normal at rest, 15-60 min, rising over a minute or two
    hr_spike      a sudden 40-70 bpm jump at rest, 4-12 min
    bradycardia   heart rate 30-41, 10-40 min
    hrv_collapse  HRV falls to 12-35% of normal, 30-120 min
    desaturation  SpO2 78-87.5%, 4-20 min
    drift         resting heart rate up 6-15 bpm over 2-3 days, HRV down, steps down 0-50 %, for 5-10 days
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .schema import ACUTE_KINDS, DRIFT
from .series import MinuteSeries

DAY = 1440
# An illness cuts a day's steps by 0-50 %: some people stay in bed, others go to work with a fever.
ILLNESS_SLOWDOWN = 0.5
# One person's steps from one day to the next vary by about half (weekdays and weekends, errands, rest
# days). An assumption, not a measurement: there is no CC BY daily-steps data in ../shared/data.
DAILY_STEPS_LOG_SD = 0.5


@dataclass(frozen=True)
class Calibration:
    rhr_mean: float = 64.0  # resting heart rate across people
    rhr_sd: float = 7.5
    # A night's resting heart rate from one night to the next, as a share of the person's usual: an
    # ECG study of daily-life resting heart rate found a between-day coefficient of variation of
    # 5 +/- 3 % asleep (Digital Health 2025, doi:10.1177/20552076251367506). Each synthetic person
    # gets 0.5-1.5 times this. Not measured from PMData: its daily resting heart rate is Fitbit's
    # estimate, smoothed over days, and moves far less from one day to the next (fitbit_rhr_day_sd).
    rhr_night_cv: float = 0.045
    fitbit_rhr_day_sd: float = 0.8  # PMData's Fitbit resting heart rate from one day to the next
    hr_minute_sd: float = 2.5  # minute-to-minute heart-rate wobble at rest
    steps_per_day: float = 7000.0  # no CC BY minute-steps data here: Tudor-Locke 2011's typical adult
    source: str = "defaults"

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def calibrate(data_dir: Path) -> Calibration:
    """Measure the generator's levels from PMData (CC BY 4.0) and Fitabase (CC BY 4.0)."""
    values = asdict(Calibration())
    sources = []
    pm = data_dir / "pmdata_daily" / "resting_hr_daily.csv"
    if pm.is_file():
        per_person: dict[str, list[float]] = {}
        with pm.open() as fh:
            for row in csv.DictReader(fh):
                try:
                    rhr = float(row["rhr_bpm"])
                except ValueError:
                    continue
                if 30 < rhr < 120:
                    per_person.setdefault(row["participant"], []).append(rhr)
        medians = np.array([np.median(v) for v in per_person.values() if len(v) >= 14])
        if len(medians) >= 5:
            values["rhr_mean"] = float(np.mean(medians))
            values["rhr_sd"] = float(np.std(medians))
            day_sd = []
            for v in per_person.values():
                a = np.array(v)
                if len(a) >= 14:
                    day_sd.append(np.median(np.abs(np.diff(a))) * 1.4826 / np.sqrt(2))
            values["fitbit_rhr_day_sd"] = float(np.median(day_sd))
            sources.append(f"PMData resting HR ({len(medians)} people)")
    fit = sorted((data_dir / "fitabase_subset").glob("*.csv")) if (data_dir / "fitabase_subset").is_dir() else []
    diffs = []
    for path in fit:
        by_minute: dict[int, list[float]] = {}
        with path.open() as fh:
            for row in csv.DictReader(fh):
                try:
                    ts = datetime.strptime(row["Time"], "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC).timestamp()
                    by_minute.setdefault(int(ts // 60), []).append(float(row["Value"]))
                except (ValueError, KeyError):
                    continue
        minutes = sorted(by_minute)
        means = {m: float(np.mean(by_minute[m])) for m in minutes}
        rest = [means[m] - means[m - 1] for m in minutes if m - 1 in means and means[m] < 80 and means[m - 1] < 80]
        diffs.extend(rest)
    if len(diffs) > 200:
        values["hr_minute_sd"] = float(np.median(np.abs(diffs)) * 1.4826 / np.sqrt(2))
        sources.append(f"Fitabase 5-second HR ({len(fit)} files)")
    values["source"] = "; ".join(sources) or "defaults (no CC BY data found)"
    return Calibration(**values)


@dataclass
class Event:
    kind: str
    onset: int  # minute index
    end: int  # minute index, exclusive


@dataclass
class SyntheticWearer:
    series: MinuteSeries
    events: list[Event] = field(default_factory=list)
    benign: np.ndarray | None = None  # minutes of benign raised heart rate (hard negatives)
    # minutes nothing can call normal or not: cycling (no steps) on a watch without motion, and the
    # 10 minutes after it while the heart rate comes down
    ambiguous: np.ndarray | None = None
    has: dict[str, bool] = field(default_factory=dict)


def _filter(x: np.ndarray, tau: float) -> np.ndarray:
    """Causal first-order lag (heart rate follows its target), as a truncated exponential kernel."""
    k = np.exp(-np.arange(int(6 * tau) + 2) / tau)
    k /= k.sum()
    padded = np.concatenate([np.full(len(k) - 1, x[0]), x])
    return np.convolve(padded, k, mode="valid")


def _bouts(rng: np.random.Generator, mask: np.ndarray, count: int, lo: int, hi: int) -> list[tuple[int, int]]:
    allowed = np.flatnonzero(mask)
    out = []
    for _ in range(count):
        if len(allowed) == 0:
            break
        start = int(rng.choice(allowed))
        out.append((start, start + int(rng.integers(lo, hi + 1))))
    return out


def night_sd(rng: np.random.Generator, rhr: float, cal: Calibration) -> float:
    """How much one person's nightly resting heart rate moves from one night to the next (bpm)."""
    return rhr * cal.rhr_night_cv * rng.uniform(0.5, 1.5)


def generate(
    rng: np.random.Generator,
    *,
    days: int,
    cal: Calibration,
    acute_per_day: float = 0.5,
    drift_probability: float = 0.5,
    start_day: int = 20_000,
    kinds: tuple[str, ...] = ACUTE_KINDS,
    full_sensors: bool = False,
) -> SyntheticWearer:
    """One wearer, `days` days at one-minute cadence, with labelled anomalies."""
    n = days * DAY
    t0 = start_day * DAY
    minute_of_day = np.arange(n) % DAY
    hour = minute_of_day / 60
    rhr = float(np.clip(rng.normal(cal.rhr_mean, cal.rhr_sd), 48, 95))
    hrv_base = rng.uniform(25, 70)
    spo2_base = rng.uniform(95.5, 98.5)
    temp_base = rng.uniform(32.6, 33.8)
    sleep_at = rng.uniform(22, 24.5)
    wake_at = rng.uniform(5.5, 8)
    has = {
        "motion_g": full_sensors or rng.random() < 0.5,
        "hrv_ms": full_sensors or rng.random() < 0.6,
        "spo2": full_sensors or rng.random() < 0.6,
        "skin_temp_c": full_sensors or rng.random() < 0.6,
    }
    asleep = (hour >= sleep_at) | (hour < wake_at) if sleep_at < 24 else (hour >= sleep_at - 24) & (hour < wake_at)
    # day-level resting heart rate: night-to-night wobble plus an optional illness-like drift
    day_rhr = rhr + rng.normal(0, night_sd(rng, rhr, cal), days)
    day_hrv = np.ones(days)
    day_steps = np.ones(days)
    events: list[Event] = []
    if days >= 28 and rng.random() < drift_probability:
        onset = int(rng.integers(21, days - 5))
        ramp, length, size = int(rng.integers(2, 4)), int(rng.integers(5, 11)), rng.uniform(6, 15)
        slowdown = rng.uniform(0, ILLNESS_SLOWDOWN)
        profile = np.zeros(days)
        for d in range(onset, min(days, onset + length + 3)):
            k = d - onset
            profile[d] = min(1.0, (k + 1) / ramp) if k < length else max(0.0, 1 - (k - length + 1) / 3)
        day_rhr += size * profile
        day_hrv *= 1 - 0.3 * profile
        day_steps *= 1 - slowdown * profile
        events.append(Event(DRIFT, t0 + onset * DAY, t0 + min(days, onset + length) * DAY))
    day_of = np.arange(n) // DAY
    # resting heart rate is the sleeping level (as Fitbit's and PMData's is); awake rest sits above it
    circadian = (3 * np.sin((hour - 15) / 24 * 2 * np.pi) + rng.uniform(6, 11)) * ~asleep
    circadian = _filter(circadian, tau=10.0)  # the heart slows over a quarter of an hour falling asleep
    target = day_rhr[day_of] + circadian + rng.normal(0, 1.0)

    awake = ~asleep
    level = np.zeros(n)  # extra heart rate from activity
    cycling_minutes = np.zeros(n, dtype=bool)
    steps = np.zeros(n)
    motion = np.full(n, 1.0) + np.abs(rng.normal(0, 0.015, n))
    steps_scale = cal.steps_per_day / 7000
    for d in range(days):
        day_mask = np.zeros(n, dtype=bool)
        day_mask[d * DAY : (d + 1) * DAY] = True
        for a, b in _bouts(rng, awake & day_mask, rng.poisson(6), 3, 20):  # walking
            intensity = rng.uniform(0.6, 1.2)
            level[a:b] = np.maximum(level[a:b], 22 * intensity)
            steps[a:b] = rng.normal(95 * intensity, 12, max(0, min(b, n) - a)) * steps_scale * day_steps[d]
            motion[a:b] = rng.uniform(1.2, 1.5, max(0, min(b, n) - a))
        if rng.random() < 0.45:  # exercise: running, or cycling (no steps)
            for a, b in _bouts(rng, awake & day_mask, 1, 20, 70):
                effort = rng.uniform(45, 85)
                level[a:b] = effort
                cycling = rng.random() < 0.3
                cycling_minutes[a:b] = cycling
                steps[a:b] = 0 if cycling else rng.normal(150, 15, max(0, min(b, n) - a))
                motion[a:b] = (
                    rng.uniform(1.3, 1.8, max(0, min(b, n) - a))
                    if cycling
                    else rng.uniform(1.7, 2.6, max(0, min(b, n) - a))
                )
    # light fidgeting steps while awake at rest, except in long sedentary spells (reading, a film,
    # desk work) where hardly a step is taken: being still for hours is normal awake too
    sedentary = np.zeros(n, dtype=bool)
    for a, b in _bouts(rng, awake & (level == 0), rng.poisson(2 * days), 30, 180):
        sedentary[a:b] = True
    fidget = awake & (steps == 0) & (rng.random(n) < np.where(sedentary, 0.003, 0.08))
    steps[fidget] = rng.integers(1, 20, fidget.sum())
    # turning over in bed: the wrist moves now and then in sleep, without a step
    turning = asleep & (rng.random(n) < 1 / 30)
    motion[turning] = rng.uniform(1.2, 1.5, turning.sum())
    # benign raised heart rate (stress, coffee, a hot shower): no steps, must not alarm. They raise
    # a resting heart rate by 5-20 bpm; more than that at rest (tachycardia is injected at +35-70)
    # is worth asking about, so the two do not overlap.
    benign = np.zeros(n, dtype=bool)
    for a, b in _bouts(rng, awake & (level == 0), rng.poisson(0.7 * days), 10, 60):
        level[a:b] = np.maximum(level[a:b], rng.uniform(5, 20))
        benign[a:b] = True

    extra = np.zeros(n)  # added after the lag filter (sudden)
    override = np.full(n, np.nan)
    hrv_factor = np.ones(n)
    spo2_override = np.full(n, np.nan)
    usable = [k for k in kinds if (k != "hrv_collapse" or has["hrv_ms"]) and (k != "desaturation" or has["spo2"])]
    durations = {"tachycardia": (15, 60), "hr_spike": (4, 12), "bradycardia": (10, 40), "hrv_collapse": (30, 120), "desaturation": (4, 20)}  # fmt: skip
    drift_days = {e.onset // DAY - start_day + k for e in events for k in range(-1, (e.end - e.onset) // DAY + 4)}
    for d in range(days):
        if d in drift_days or not usable or rng.random() > acute_per_day:
            continue
        kind = str(rng.choice(usable))
        lo, hi = durations[kind]
        length = int(rng.integers(lo, hi + 1))
        a = d * DAY + int(rng.integers(30, DAY - hi - 30))
        b = a + length
        # anomalies happen at rest: clear activity around them
        level[a - 15 : b + 5] = 0
        steps[a - 15 : b + 5] = 0
        motion[a - 15 : b + 5] = 1.0 + np.abs(rng.normal(0, 0.015, b + 5 - (a - 15)))
        benign[a - 15 : b + 5] = False
        cycling_minutes[a - 15 : b + 5] = False
        if kind == "tachycardia":
            level[a:b] = rng.uniform(35, 70)
        elif kind == "hr_spike":
            extra[a:b] = rng.uniform(40, 70)
        elif kind == "bradycardia":
            override[a:b] = rng.uniform(30, 41)
        elif kind == "hrv_collapse":
            hrv_factor[a:b] = rng.uniform(0.12, 0.35)
            level[a:b] = rng.uniform(0, 8)
        elif kind == "desaturation":
            spo2_override[a:b] = rng.uniform(78, 87.5)
        events.append(Event(kind, t0 + a, t0 + b))

    hr = _filter(target + level, tau=1.5)
    wobble = np.zeros(n)
    noise = rng.normal(0, cal.hr_minute_sd, n)
    phi = 0.7
    for lag in range(8):  # AR(1)-like smooth wobble without a Python loop over minutes
        wobble[lag:] += (phi**lag) * noise[: n - lag] * np.sqrt(1 - phi**2)
    hr = hr + wobble + extra
    hr = np.where(np.isfinite(override), override + rng.normal(0, 1.0, n), hr)
    # optical artefacts while moving: a minute reads 20-40 off
    artefact = (steps > 60) & (rng.random(n) < 0.01)
    hr[artefact] += rng.choice([-1, 1], artefact.sum()) * rng.uniform(20, 40, artefact.sum())

    hrv = hrv_base * day_hrv[day_of] * np.exp(-(hr - day_rhr[day_of]) / 40) * np.where(asleep, 1.25, 1.0)
    hrv = hrv * hrv_factor * np.exp(rng.normal(0, 0.15, n))
    spo2 = np.minimum(100, spo2_base - 0.8 * asleep + rng.normal(0, 0.7, n))
    spo2 = np.where(np.isfinite(spo2_override), spo2_override + rng.normal(0, 1.0, n), spo2)
    temp = temp_base + 0.4 * asleep + 0.3 * (day_rhr[day_of] - rhr > 4) + rng.normal(0, 0.15, n)

    present = np.ones(n, dtype=bool)
    for a, b in _bouts(rng, np.ones(n, dtype=bool), rng.poisson(1.2 * days), 5, 90):  # off the wrist
        if not any(e.onset - t0 - 20 < b and a < e.end - t0 for e in events if e.kind != DRIFT):
            present[a:b] = False
    # how often the watch reads SpO2 is its own (every minute, or now and then), never more often
    # because something is wrong: otherwise the readings' density alone would give the anomalies away
    spo2_rate = rng.uniform(0.3, 1.0)
    values = {
        "heart_rate": np.where(present, hr, np.nan),
        "hrv_ms": np.where(present & (rng.random(n) < np.where(asleep, 0.4, 0.2)), hrv, np.nan),
        "spo2": np.where(present & (rng.random(n) < spo2_rate), spo2, np.nan),
        "skin_temp_c": np.where(present, temp, np.nan),
        "steps": np.where(present, np.maximum(0, np.round(steps)), np.nan),
        "motion_g": np.where(present, motion, np.nan),
    }
    for metric, on in has.items():
        if not on:
            values[metric] = np.full(n, np.nan)
    # implausible readings (a watch glitch): dropped by the series, never an alarm
    glitch = present & (rng.random(n) < 0.001)
    values["heart_rate"][glitch] = rng.choice([0.0, 255.0], glitch.sum())
    invalid = glitch.astype(np.int32)
    values["heart_rate"][glitch] = np.nan
    last_ts = np.where(present, (t0 + np.arange(n)) * 60.0, np.nan)
    series = MinuteSeries(start=t0, values=values, last_ts=last_ts, invalid=invalid)
    recent = np.convolve(cycling_minutes.astype(np.int32), np.ones(11, dtype=np.int32))[:n] > 0
    ambiguous = recent & present & (not has["motion_g"])
    return SyntheticWearer(series=series, events=events, benign=benign, has=has, ambiguous=ambiguous)


def daily_histories(
    rng: np.random.Generator, *, people: int, days: int, cal: Calibration, data_dir: Path | None = None
) -> list[tuple[list[list[float | None]], Event | None]]:
    """Daily resting-HR/HRV/steps histories with and without injected drift, for the drift head.

    Synthetic people, plus PMData's real daily resting heart rate (CC BY 4.0) with drifts injected.
    """
    out: list[tuple[list[list[float | None]], Event | None]] = []
    real: list[np.ndarray] = []
    pm = data_dir / "pmdata_daily" / "resting_hr_daily.csv" if data_dir else None
    if pm is not None and pm.is_file():
        per: dict[str, list[float]] = {}
        with pm.open() as fh:
            for row in csv.DictReader(fh):
                try:
                    per.setdefault(row["participant"], []).append(float(row["rhr_bpm"]))
                except ValueError:
                    per.setdefault(row["participant"], []).append(float("nan"))
        real = [np.array(v) for v in per.values() if len(v) >= 60]
    for p in range(people):
        if real and p % 2 == 1:
            base = real[p // 2 % len(real)]
            offset = int(rng.integers(0, max(1, len(base) - days)))
            rhr = base[offset : offset + days].copy()
            # Fitbit's estimate is smoothed over days: put back a night's own variation
            sd = night_sd(rng, float(np.nanmedian(rhr)), cal)
            rhr += rng.normal(0, np.sqrt(max(0.0, sd**2 - cal.fitbit_rhr_day_sd**2)), len(rhr))
            hrv = np.full(len(rhr), np.nan)
        else:
            level = np.clip(rng.normal(cal.rhr_mean, cal.rhr_sd), 48, 95)
            rhr = level + rng.normal(0, night_sd(rng, level, cal), days) + np.cumsum(rng.normal(0, 0.15, days))
            hrv = (
                rng.uniform(25, 70) * np.exp(rng.normal(0, 0.08, days)) if rng.random() < 0.6 else np.full(days, np.nan)
            )
        steps = cal.steps_per_day * np.exp(rng.normal(0, DAILY_STEPS_LOG_SD, len(rhr)))
        event = None
        if rng.random() < 0.6 and len(rhr) >= 45:
            onset = int(rng.integers(36, len(rhr) - 4))
            ramp, length, size = int(rng.integers(2, 4)), int(rng.integers(5, 11)), rng.uniform(6, 15)
            slowdown = rng.uniform(0, ILLNESS_SLOWDOWN)
            for d in range(onset, min(len(rhr), onset + length)):
                f = min(1.0, (d - onset + 1) / ramp)
                rhr[d] += size * f
                hrv[d] *= 1 - 0.3 * f
                steps[d] *= 1 - slowdown * f
            event = Event(DRIFT, onset, onset + length)
        missing = rng.random(len(rhr)) < 0.05
        history = [
            [d, None if missing[d] or not np.isfinite(rhr[d]) else float(rhr[d]),
             None if missing[d] or not np.isfinite(hrv[d]) else float(hrv[d]),
             None if missing[d] else float(steps[d]), 1000]
            for d in range(len(rhr))
        ]  # fmt: skip
        out.append((history, event))
    return out


def read_stanford(path: Path) -> MinuteSeries:
    """One Stanford/Mishra 2020 person (datetime,hr_mean_bpm,steps; one row per minute). Evaluation only."""
    ts, hr, steps = [], [], []
    with gzip.open(path, "rt") as fh:
        for row in csv.DictReader(fh):
            ts.append(datetime.fromisoformat(row["datetime"]).replace(tzinfo=UTC).timestamp())
            hr.append(float(row["hr_mean_bpm"]) if row["hr_mean_bpm"] else np.nan)
            steps.append(float(row["steps"]) if row["steps"] else np.nan)
    from .series import resample

    return resample(np.array(ts), {"heart_rate": np.array(hr), "steps": np.array(steps)})
