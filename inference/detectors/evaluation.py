"""Event-level evaluation of PulseNet against simple detectors, on two test beds. Pure.

Test beds:
  * held-out synthetic wearers (a seed never used in training), every metric, every kind;
  * the real Stanford/Mishra 2020 Fitbit wearers (heart rate and steps only) with labelled anomalies
    injected into their real traces: acute heart-rate kinds on a third of their days and one
    illness-like drift each. False alarms are counted on their untouched days.

An event counts as caught when a detection of its kind (or of a kind that pages as one with it:
tachycardia and hr_spike, both a high heart rate) fires between its onset and 30 minutes after its end; a
drift must be caught within 3 days of its onset. Delay is detected_at minus onset.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import synthetic as syn
from .alarms import AlarmState, fire
from .pipeline import Detector, DetectorConfig, Job, WearerState
from .pulsenet import LoadedModel
from .rules import _sustained
from .schema import ACUTE_KINDS, DRIFT, KINDS, PAGES_AS_ONE
from .series import MinuteSeries

DAY = 1440
FAMILY = {k: set(kinds) for kinds in PAGES_AS_ONE.values() for k in kinds}  # kinds that stand in for each other
LATE_TOLERANCE = 30  # minutes after an acute event's end that still count as catching it
DRIFT_WINDOW_DAYS = 3


@dataclass
class Hit:
    kind: str
    minute: float  # detected_at, in minutes
    onset: float


@dataclass
class TestWearer:
    name: str
    series: MinuteSeries
    events: list[syn.Event]
    untouched_days: set[int] = field(default_factory=set)


# -- test beds ---------------------------------------------------------------------------------
def _untouched(series: MinuteSeries, events: list[syn.Event]) -> set[int]:
    days = set(range(series.start // DAY, (series.end - 1) // DAY + 1))
    for e in events:
        if e.kind == DRIFT:
            days -= set(range(e.onset // DAY - 1, e.end // DAY + 8))
        else:
            days -= set(range(e.onset // DAY, (e.end - 1) // DAY + 1))
    worn = {d for d in days if np.isfinite(series.window(d * DAY, (d + 1) * DAY).values["heart_rate"]).sum() >= 600}
    return worn


def synthetic_bed(cal: syn.Calibration, *, seed: int, wearers: int, days: int) -> list[TestWearer]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(wearers):
        w = syn.generate(rng, days=days, cal=cal, acute_per_day=0.4, drift_probability=0.6, start_day=20_000 + 50 * i)
        out.append(TestWearer(f"synthetic-{i:02d}", w.series, w.events, _untouched(w.series, w.events)))
    return out


def _rest_start(rng: np.random.Generator, series: MinuteSeries, day: int, length: int) -> int | None:
    hr, steps = series.values["heart_rate"], np.nan_to_num(series.values["steps"], nan=0.0)
    ok = np.isfinite(hr) & (steps == 0)
    lo = max(day * DAY - series.start + 20, 20)
    hi = min((day + 1) * DAY - series.start - length - 10, len(hr) - length - 10)
    for _ in range(300):
        if hi <= lo:
            return None
        a = int(rng.integers(lo, hi))
        if ok[a - 15 : a + length + 5].all():
            return a
    return None


DRIFT_HISTORY_DAYS = (28, 14)  # a drift needs a normal to drift from: 14 worn days in the 4 weeks before


def _worn_days(series: MinuteSeries) -> set[int]:
    """Days the watch read a heart rate for at least 10 hours (as an untouched day needs)."""
    first = series.start // DAY
    seen = np.isfinite(series.values["heart_rate"])
    per_day = np.bincount((np.arange(series.start, series.end)[seen] // DAY) - first)
    return {first + d for d, n in enumerate(per_day) if n >= 600}


def _drift_onset(rng: np.random.Generator, series: MinuteSeries) -> int | None:
    """A day for an injected drift: 28 days or more into the trace and 10 before its end, where the
    watch was worn on the onset day and the 2 after it (the days it must be caught in) and on 14 of
    the 28 days before (a normal to drift from). A drift injected into weeks without data, or onto a
    wearer just back from a month without the watch, is not an event any detector could see. The day
    drawn is kept where it qualifies; otherwise the nearest one that does (earlier on a tie)."""
    first_day, last_day = series.start // DAY, (series.end - 1) // DAY
    worn = _worn_days(series)
    history, needed = DRIFT_HISTORY_DAYS
    candidates = [
        d
        for d in range(first_day + 28, last_day - 9)
        if {d, d + 1, d + 2} <= worn and len(worn & set(range(d - history, d))) >= needed
    ]
    drawn = first_day + int(rng.integers(28, last_day - first_day - 9))
    return min(candidates, key=lambda d: (abs(d - drawn), d)) if candidates else None


def stanford_bed(data_dir: Path, *, seed: int, draws: int = 1) -> list[TestWearer]:
    """The real people with anomalies injected `draws` times over, independently (draw k from seed
    + k): one drift per person per draw, so 12 people give 12 drifts a draw, and figures from one
    draw move by a tenth when a single drift is caught or not."""
    out = []
    for i, path in enumerate(sorted((data_dir / "stanford_covid_fitbit").glob("*_minute.csv.gz"))):
        real = syn.read_stanford(path)
        name = path.name.split("_")[0]
        for k in range(draws):
            series = real.window(real.start, real.end)  # a copy: the injection writes into it
            events = _inject(series, seed + k, i)
            out.append(
                TestWearer(name if draws == 1 else f"{name}#{k + 1}", series, events, _untouched(series, events))
            )
    return out


def _inject(series: MinuteSeries, seed: int, person: int) -> list[syn.Event]:
    """Inject an illness-like drift and acute events at rest into a real trace (in place). The drift,
    and each day's acute event, come from their own random streams, so moving one (a drift onset the
    wearer's data cannot show) redraws nothing else."""
    hr = series.values["heart_rate"]
    events: list[syn.Event] = []
    first_day, last_day = series.start // DAY, (series.end - 1) // DAY
    drift_days: set[int] = set()
    rng = np.random.default_rng((seed, person))
    onset = _drift_onset(rng, series) if last_day - first_day + 1 >= 40 else None
    if onset is not None:
        ramp, length, size = int(rng.integers(2, 4)), int(rng.integers(5, 11)), rng.uniform(6, 15)
        for d in range(onset, onset + length):
            a, b = max(0, d * DAY - series.start), min(len(hr), (d + 1) * DAY - series.start)
            hr[a:b] += size * min(1.0, (d - onset + 1) / ramp)
        events.append(syn.Event(DRIFT, onset * DAY, (onset + length) * DAY))
        drift_days = set(range(onset - 1, onset + length + 8))
    for day in range(first_day + 1, last_day):
        rng = np.random.default_rng((seed, person, day))
        if day in drift_days or rng.random() > 0.35:
            continue
        kind = str(rng.choice(["tachycardia", "bradycardia", "hr_spike"]))
        lo, hi = {"tachycardia": (15, 60), "bradycardia": (10, 40), "hr_spike": (4, 12)}[kind]
        length = int(rng.integers(lo, hi + 1))
        a = _rest_start(rng, series, day, length)
        if a is None:
            continue
        b = a + length
        if kind == "tachycardia":
            hr[a:b] += rng.uniform(35, 70) * (1 - np.exp(-(np.arange(length) + 1) / 1.5))
        elif kind == "hr_spike":
            hr[a:b] += rng.uniform(40, 70)
        else:
            hr[a:b] = rng.uniform(30, 41) + rng.normal(0, 1.0, length)
        events.append(syn.Event(kind, series.start + a, series.start + b))
    return events


# -- comparison detectors ----------------------------------------------------------------------
def _alarm(kind: str, series: MinuteSeries, trigger: np.ndarray, hot: np.ndarray | None = None) -> list[Hit]:
    minutes = np.arange(series.start, series.end)
    return [
        Hit(kind, float(t), float(o)) for t, o in fire(minutes, trigger, trigger if hot is None else hot, AlarmState())
    ]


def apple_rule(series: MinuteSeries) -> list[Hit]:
    """Apple-style: heart rate above 120 or below 40 for 10 minutes while inactive (no steps)."""
    hr, steps = series.values["heart_rate"], np.nan_to_num(series.values["steps"], nan=0.0)
    still = np.isfinite(hr) & (steps == 0)
    with np.errstate(invalid="ignore"):
        return _alarm("tachycardia", series, _sustained(still & (hr > 120), 10)) + _alarm(
            "bradycardia", series, _sustained(still & (hr < 40), 10)
        )


def _hourly_z(series: MinuteSeries, metric: str, days: int = 7) -> np.ndarray:
    """z of each minute against the same hour over the previous `days` days."""
    v = series.values[metric]
    minutes = np.arange(series.start, series.end)
    day = minutes // DAY - series.start // DAY
    hour = (minutes // 60) % 24
    n_days = int(day.max()) + 1
    ok = np.isfinite(v)
    cell = day[ok] * 24 + hour[ok]
    cnt = np.bincount(cell, minlength=n_days * 24).reshape(n_days, 24)
    s = np.bincount(cell, weights=v[ok], minlength=n_days * 24).reshape(n_days, 24)
    ss = np.bincount(cell, weights=v[ok] ** 2, minlength=n_days * 24).reshape(n_days, 24)

    def trailing(a: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros((1, 24)), np.cumsum(a, axis=0)])
        idx = np.arange(n_days)
        return c[idx] - c[np.maximum(0, idx - days)]

    tc, ts, tss = trailing(cnt), trailing(s), trailing(ss)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ts / tc
        std = np.sqrt(np.maximum(tss / tc - mean**2, 0))
        floor = {"heart_rate": 3.0, "spo2": 1.0, "hrv_ms": 5.0}[metric]
        z = (v - mean[day, hour]) / np.maximum(std[day, hour], floor)
    z[(tc[day, hour] < 30)] = np.nan
    return z


def rolling_zscore(series: MinuteSeries) -> list[Hit]:
    """Rolling per-hour z-score (last 7 days, same hour): |z| > 3 for 5 minutes at rest."""
    steps = np.nan_to_num(series.values["steps"], nan=0.0)
    z = _hourly_z(series, "heart_rate")
    hits = []
    with np.errstate(invalid="ignore"):
        hits += _alarm("tachycardia", series, _sustained((z > 3) & (steps == 0), 5))
        hits += _alarm("bradycardia", series, _sustained(z < -3, 5))
        for metric, kind in (("spo2", "desaturation"), ("hrv_ms", "hrv_collapse")):
            if np.isfinite(series.values[metric]).sum() > DAY:
                zm = _hourly_z(series, metric)
                low = np.where(np.isfinite(zm), zm < -3, False).astype(float)
                present = np.isfinite(zm).astype(float)
                c_low = np.concatenate([[0], np.cumsum(low)])
                c_pr = np.concatenate([[0], np.cumsum(present)])
                w = 10
                n_low = c_low[w:] - c_low[:-w]
                n_pr = c_pr[w:] - c_pr[:-w]
                trig = np.zeros(len(zm), dtype=bool)
                trig[w - 1 :] = (n_pr >= 3) & (n_low == n_pr)
                hits += _alarm(kind, series, trig)
    return hits


def resting_hr_cusum(series: MinuteSeries) -> list[Hit]:
    """CuSum on daily resting heart rate (10th percentile of still minutes) against the previous 28 days."""
    hr, steps = series.values["heart_rate"], np.nan_to_num(series.values["steps"], nan=0.0)
    first, last = series.start // DAY, (series.end - 1) // DAY
    rhr: dict[int, float] = {}
    for d in range(first, last + 1):
        a, b = max(0, d * DAY - series.start), min(len(hr), (d + 1) * DAY - series.start)
        still = hr[a:b][np.isfinite(hr[a:b]) & (steps[a:b] == 0)]
        if len(still) >= 120:
            rhr[d] = float(np.percentile(still, 10))
    hits, s, last_alarm = [], 0.0, -(10**6)
    for d in sorted(rhr):
        ref = [rhr[k] for k in range(d - 28, d) if k in rhr]
        if len(ref) < 7:
            continue
        z = (rhr[d] - np.mean(ref)) / max(2.0, float(np.std(ref)))
        s = max(0.0, s + z - 0.5)
        if s > 4 and d - last_alarm >= 10:
            hits.append(Hit(DRIFT, float((d + 1) * DAY), float(d * DAY)))
            s, last_alarm = 0.0, d
    return hits


def pipeline_detector(model: LoadedModel | None, config: DetectorConfig) -> Callable[[MinuteSeries], list[Hit]]:
    detector = Detector(model, config)

    def run(series: MinuteSeries) -> list[Hit]:
        [found] = detector.run([Job(WearerState(), series)])
        return [Hit(d.kind, d.detected_at / 60, d.onset / 60) for d in found]

    return run


# -- scoring -----------------------------------------------------------------------------------
@dataclass
class Score:
    events: int = 0
    caught: int = 0
    delays: list[float] = field(default_factory=list)
    detections: int = 0
    true_detections: int = 0
    false_on_untouched: int = 0

    def add(self, other: Score) -> None:
        self.events += other.events
        self.caught += other.caught
        self.delays += other.delays
        self.detections += other.detections
        self.true_detections += other.true_detections
        self.false_on_untouched += other.false_on_untouched

    def row(self, untouched_days: float, per: float) -> dict[str, float | None]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            recall = self.caught / self.events if self.events else None
            precision = self.true_detections / self.detections if self.detections else None
            f1 = (
                2 * precision * recall / (precision + recall)
                if precision and recall
                else (0.0 if self.events else None)
            )
            return {
                "events": self.events,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "delay_p50": float(np.median(self.delays)) if self.delays else None,
                "delay_p90": float(np.percentile(self.delays, 90)) if self.delays else None,
                "false_alarms": self.false_on_untouched / (untouched_days / per) if untouched_days else None,
            }


def _wearer_scores(w: TestWearer, hits: list[Hit]) -> dict[str, Score]:
    """One wearer's counts per kind (and "all acute")."""
    scores = {k: Score() for k in (*KINDS, "all acute")}
    for e in w.events:
        family = FAMILY.get(e.kind, {e.kind})
        late = DRIFT_WINDOW_DAYS * DAY if e.kind == DRIFT else e.end - e.onset + LATE_TOLERANCE
        match = [h for h in hits if h.kind in family and e.onset <= h.minute <= e.onset + late]
        for key in (e.kind, "all acute") if e.kind != DRIFT else (e.kind,):
            scores[key].events += 1
            if match:
                scores[key].caught += 1
                scores[key].delays.append(min(h.minute for h in match) - e.onset)
    for h in hits:
        true = _matches(w, h)
        false_alarm = not true and int(h.minute // DAY) in w.untouched_days
        for key in (h.kind, "all acute") if h.kind != DRIFT else (h.kind,):
            scores[key].detections += 1
            scores[key].true_detections += int(true)
            scores[key].false_on_untouched += int(false_alarm)
    return scores


def _pooled(bed: list[TestWearer], per_wearer: list[dict[str, Score]]) -> dict[str, dict[str, float | None]]:
    untouched = sum(len(w.untouched_days) for w in bed)
    out = {}
    for key in (*KINDS, "all acute"):
        s = Score()
        for scores in per_wearer:
            s.add(scores[key])
        row = s.row(untouched, 30.0 if key == DRIFT else 1.0)
        if key == DRIFT:
            row = {**row, "delay_p50": _days(row["delay_p50"]), "delay_p90": _days(row["delay_p90"])}
        out[key] = row
    out["_untouched_wearer_days"] = {"value": float(untouched)}
    return out


def person_of(w: TestWearer) -> str:
    """The person a wearer of the bed is: the real bed's draws of one person are "NAME#k"."""
    return w.name.split("#")[0]


def people_interval(
    people: list[str], num: list[float], den: list[float], *, per: float = 1.0, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """The middle 95 % of sum(num) / sum(den) * per over `resamples` beds of as many people drawn again
    with replacement (each wearer's num and den belong to its person; a person's draws share one real
    trace, so people, not draws, are the units). How far a figure could move with other people like
    these: an interval that spans a target means the bed cannot tell whether it is met. None without
    any denominator."""
    names = sorted(set(people))
    at = {p: i for i, p in enumerate(names)}
    n, d = np.zeros(len(names)), np.zeros(len(names))
    for p, a, b in zip(people, num, den, strict=True):
        n[at[p]] += a
        d[at[p]] += b
    if not d.sum():
        return None
    pick = np.random.default_rng(seed).integers(0, len(names), size=(resamples, len(names)))
    sums_n, sums_d = n[pick].sum(axis=1), d[pick].sum(axis=1)
    rates = sums_n[sums_d > 0] / sums_d[sums_d > 0] * per
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return float(lo), float(hi)


def _matches(w: TestWearer, h: Hit) -> bool:
    """Whether a detection matches an injected event of its kind (or one that pages as one with it)."""
    if h.kind == DRIFT:
        return any(e.kind == DRIFT and e.onset <= h.minute <= e.end + 3 * DAY for e in w.events)
    family = FAMILY.get(h.kind, {h.kind})
    return any(e.kind in family and e.onset <= h.minute <= e.end + LATE_TOLERANCE for e in w.events)


def acute_false_alarm_days(w: TestWearer, hits: list[Hit]) -> list[int]:
    """The day of each acute false alarm on the wearer's untouched days (two alarms on a day: twice)."""
    days = (int(h.minute // DAY) for h in hits if h.kind != DRIFT and not _matches(w, h))
    return [d for d in days if d in w.untouched_days]


def _days(minutes: float | None) -> float | None:
    return None if minutes is None else minutes / DAY


def _person(bed: list[TestWearer], per_wearer: list[dict[str, Score]], idx: list[int]) -> dict[str, float | None]:
    """One person's draws pooled: acute false alarms per wearer-day, and drifts caught and drift false
    alarms per wearer-month."""
    pooled = _pooled([bed[i] for i in idx], [per_wearer[i] for i in idx])
    drifts = Score()
    for i in idx:
        drifts.add(per_wearer[i][DRIFT])
    return {
        "untouched_days": float(sum(len(bed[i].untouched_days) for i in idx)),
        "false_alarms": pooled["all acute"]["false_alarms"],
        "drifts": float(drifts.events),
        "drifts_caught": float(drifts.caught),
        "drift_false_alarms": pooled[DRIFT]["false_alarms"],
    }


def evaluate(bed: list[TestWearer], detectors: dict[str, Callable[[MinuteSeries], list[Hit]]], log=print):  # type: ignore[no-untyped-def]
    """Each detector's scores per kind, under "_per_person" its acute false alarms and drifts per
    person (a person's draws pooled): where they come from, one person or many; under "_false_days"
    the day of each acute false alarm, per wearer (to compare detectors day by day); and under
    "_per_wearer" each wearer's counts per kind (to resample people: people_interval)."""
    results = {}
    for name, run in detectors.items():
        log(f"  {name}...")
        hits = [run(w.series) for w in bed]
        per_wearer = [_wearer_scores(w, h) for w, h in zip(bed, hits, strict=True)]
        results[name] = _pooled(bed, per_wearer)
        people: dict[str, list[int]] = {}
        for i, w in enumerate(bed):
            people.setdefault(person_of(w), []).append(i)
        results[name]["_per_person"] = {person: _person(bed, per_wearer, idx) for person, idx in people.items()}
        results[name]["_false_days"] = [acute_false_alarm_days(w, h) for w, h in zip(bed, hits, strict=True)]
        results[name]["_per_wearer"] = per_wearer
    return results


def markdown_table(
    results: dict[str, dict[str, dict[str, float | None]]], kinds: tuple[str, ...] = (*ACUTE_KINDS, "all acute", DRIFT)
) -> str:
    def fmt(v: float | None, digits: int = 2) -> str:
        return "n/a" if v is None else f"{v:.{digits}f}"

    lines = [
        "| kind | detector | events | precision | recall | F1 | delay p50 | delay p90 | false alarms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in kinds:
        for name, res in results.items():
            r = res.get(kind)
            if not r or not r["events"]:
                continue
            unit = " d" if kind == DRIFT else " min"
            fa_unit = "/wearer-month" if kind == DRIFT else "/wearer-day"
            lines.append(
                f"| {kind} | {name} | {r['events']} | {fmt(r['precision'])} | {fmt(r['recall'])} | {fmt(r['f1'])} "
                f"| {fmt(r['delay_p50'], 1)}{unit if r['delay_p50'] is not None else ''} "
                f"| {fmt(r['delay_p90'], 1)}{unit if r['delay_p90'] is not None else ''} "
                f"| {fmt(r['false_alarms'], 3)}{fa_unit if r['false_alarms'] is not None else ''} |"
            )
    return "\n".join(lines)
