"""The one detector: causal and streaming, used by live inference and `pulsenet_detect` alike.

    state = WearerState()                     # or WearerState.from_dict(persisted)
    detector = Detector(model)                # model None: rule floor + personal baselines only
    [found] = detector.run([Job(state, series)])

`run` judges every minute from `state.next_minute` up to the end of the series (or `until`), in
order, each against the baseline as it stood at the start of its day, and leaves the state ready
for the next call. Feeding the same samples in one call or in many gives the same detections, and a
detection at minute t never depends on anything after t. Many wearers go through one forward pass.
The detector's days run from noon to noon (wall clock): each holds one whole night, which is judged
for drift the noon after it, not the midnight after the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .alarms import (
    DRIFT_STRONG,
    AlarmState,
    DriftAlarm,
    carry_from_rest,
    drift_fire,
    far_over,
    fire,
    model_triggers,
    rise_may_report,
)
from .baseline import Baseline
from .features import (
    DRIFT_DAYS,
    DRIFT_REFERENCE,
    NIGHT_REFERENCE_DAYS,
    Rows,
    drift_features,
    explain,
    gate_scores,
    held_tachycardia,
    minute_rows,
    resting_rate_rise,
    rose_from_rest,
    still_minutes,
    windows,
)
from .personal import baseline_triggers
from .pulsenet import LoadedModel
from .rules import RuleThresholds, rule_explanation, rule_hits
from .schema import (
    ACUTE_KINDS,
    CYCLING_STILL_MINUTES,
    DAY_STARTS_AT_MINUTE,
    DRIFT,
    LOOKBACK_MINUTES,
    PAGES_AS_ONE,
    TACHYCARDIA_WITHOUT_MOTION,
    Detection,
)
from .series import MinuteSeries

DEFAULT_THRESHOLD = 0.5
# The rise in nightly resting heart rate (features.resting_rate_rise: the last three nights, the
# latest weighted most), reported at once when it reaches RISE_LINE standard deviations. It runs
# beside PulseNet's drift head, not only without it: on real traces, a drift in the resting rate
# alone (no HRV, steps as usual) is one the head, trained where illness also lowers HRV and steps,
# scores low. It replaced a CuSum (slack 0.5, interval 4), which on the development draws caught 0.50
# of the drifts at 0.48 false alarms a wearer-month, against the rise's 0.68 at 0.46 (docs/pulsenet.md):
# a CuSum is built for a lasting step, an infection's rise ramps over two or three nights.
# It reports at most once in DRIFT_REARM_DAYS, unless the rate settles and rises again or climbs
# further (alarms.rise_may_report): a drift that goes on is one report, not one a night.
RISE_LINE = 2.5
DRIFT_RAISED_Z = 1.0  # a night this far over the usual counts as raised in a drift's explanation


@dataclass(frozen=True)
class DetectorConfig:
    use_rules: bool = True
    use_baselines: bool = False  # personal-baseline thresholds (always on when there is no model)
    use_model: bool = True
    use_resting_rise: bool = True  # the three-night rise in resting heart rate, for drift


@dataclass
class WearerState:
    baseline: Baseline = field(default_factory=Baseline)
    next_minute: int | None = None
    alarms: dict[str, AlarmState] = field(default_factory=dict)
    drift: DriftAlarm = field(default_factory=DriftAlarm)
    last_step: int | None = None  # the last minute judged so far in which the wearer took a step

    def alarm(self, kind: str) -> AlarmState:
        return self.alarms.setdefault(kind, AlarmState())

    def shared_alarm(self, name: str) -> AlarmState:
        """The alarm of kinds that page as one. A state saved before they shared one starts from its
        kinds' own: quiet while any of them is."""
        if name not in self.alarms:
            own = [self.alarms[k] for k in PAGES_AS_ONE[name] if k in self.alarms]
            self.alarms[name] = AlarmState(
                armed=all(a.armed for a in own),
                last_hot=max((a.last_hot for a in own), default=AlarmState().last_hot),
                run_start=max((a.run_start for a in own), default=AlarmState().run_start),
            )
        return self.alarms[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.to_dict(),
            "next_minute": self.next_minute,
            "alarms": {k: a.to_list() for k, a in self.alarms.items()},
            "drift": self.drift.to_list(),
            "last_step": self.last_step,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WearerState:
        if not data:
            return cls()
        return cls(
            baseline=Baseline.from_dict(data["baseline"]),
            next_minute=data["next_minute"],
            alarms={k: AlarmState.from_list(v) for k, v in data["alarms"].items()},
            drift=DriftAlarm.from_list(data["drift"]) if "drift" in data else _drift_from_an_older_state(data),
            last_step=data.get("last_step", data.get("last_moved")),  # named last_moved at first
        )


def _drift_story(history: list[list[Any]], day: int) -> tuple[float, float, int, int, int]:
    """For a drift's explanation: last night's resting heart rate, the usual one, on how many of the
    last DRIFT_DAYS nights it was raised (a standard deviation over the usual, at least 2 bpm), the
    first of those nights, and how many nights the usual is from. The usual: the nights from 35 to 5
    days before (the drift head's reference), or, for a wearer too new to have 7 of those, the 4
    weeks before (a night's own normal)."""
    rates = {row[0]: row[1] for row in history if row[1] is not None}
    oldest, newest = DRIFT_REFERENCE
    ref = [rates[d] for d in range(day - oldest, day - newest + 1) if d in rates]
    if len(ref) < 7:
        ref = [rates[d] for d in range(day - NIGHT_REFERENCE_DAYS, day) if d in rates]
    usual, spread = float(np.median(ref)), max(2.0, float(np.std(ref)))
    recent = range(day - DRIFT_DAYS + 1, day + 1)
    raised = [d for d in recent if d in rates and rates[d] >= usual + DRIFT_RAISED_Z * spread]
    return rates[day], usual, len(raised), raised[0] if raised else day, len(ref)


def _drift_from_an_older_state(data: dict[str, Any]) -> DriftAlarm:
    """States saved before the drift alarm had nights and quiet days kept only the day it last fired."""
    last = int(data["last_drift_day"])
    return DriftAlarm(armed=False, last_fired=last, last_hot=last)


@dataclass
class Job:
    state: WearerState
    series: MinuteSeries
    thresholds: RuleThresholds = field(default_factory=RuleThresholds)
    until: int | None = None  # judge minutes before this one only (live: the newest minute may still fill)


@dataclass
class _Segment:
    job: int
    rows: Rows
    first: int  # row index of the first minute judged
    idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scores: np.ndarray | None = None
    from_rest: np.ndarray | None = None  # per scored minute: rose_from_rest
    held: np.ndarray | None = None  # per scored minute: features.held_tachycardia
    drift: list[Detection] = field(default_factory=list)


class Detector:
    def __init__(
        self,
        model: LoadedModel | None,
        config: DetectorConfig | None = None,
        collect: Callable[[int, Rows, np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        """`collect(job, rows, idx, inputs)` sees every window (training uses it to build its data)."""
        self.collect = collect
        config = config or DetectorConfig()
        if model is None and config.use_model:
            config = DetectorConfig(
                use_rules=config.use_rules,
                use_baselines=True,
                use_model=False,
                use_resting_rise=config.use_resting_rise,
            )
        self.model = model if config.use_model else None
        self.config = config

    def threshold(self, kind: str) -> float:
        return self.model.thresholds.get(kind, DEFAULT_THRESHOLD) if self.model else DEFAULT_THRESHOLD

    def thresholds(
        self, kind: str, motion: np.ndarray, steps: np.ndarray, still: np.ndarray, from_rest: np.ndarray | None = None
    ) -> float | np.ndarray:
        """The threshold for each scored minute (`motion`, `steps`: its readings, NaN when the watch
        sends none; `still`: minutes since the wearer's last step). Without motion, cycling looks like
        tachycardia at rest: a stricter threshold, unless the wearer has not taken a step for
        CYCLING_STILL_MINUTES. Without steps either, nothing tells rest from exercise (hours without a
        step count are not hours still): the stricter threshold too. Either way the usual threshold
        applies to a minute whose rate rose all at once from the wearer's steady usual one
        (`from_rest`: features.rose_from_rest, carried through its run by alarms.carry_from_rest): a bike
        ride seldom starts like that."""
        if kind != "tachycardia" or self.model is None or TACHYCARDIA_WITHOUT_MOTION not in self.model.thresholds:
            return self.threshold(kind)
        no_motion = ~np.isfinite(motion)
        maybe_active = no_motion & ((still < CYCLING_STILL_MINUTES) | ~np.isfinite(steps))
        if from_rest is not None:
            maybe_active &= ~from_rest
        return np.where(maybe_active, self.threshold(TACHYCARDIA_WITHOUT_MOTION), self.threshold(kind))

    def run(self, jobs: list[Job]) -> list[list[Detection]]:
        segments: list[_Segment] = []
        inputs: list[np.ndarray] = []
        for j, job in enumerate(jobs):
            for segment, x in self._segments(j, job):
                segments.append(segment)
                inputs.append(x)
        if self.model is not None and segments:
            batch = np.concatenate(inputs)
            raw = self.model.score_acute(batch)  # one forward pass for everyone
            scores = gate_scores(batch, raw)
            held = held_tachycardia(batch, raw)  # given back in _acute to a racing heart that rose from rest
            # only where a tachycardia could fire at the usual line: medians over every window cost
            from_rest = np.zeros(len(batch), dtype=bool)
            line = self.threshold("tachycardia")
            maybe = (scores[:, ACUTE_KINDS.index("tachycardia")] >= line) | (held >= line)
            from_rest[maybe] = rose_from_rest(batch[maybe])
            lo = 0
            for segment, x in zip(segments, inputs, strict=True):
                segment.scores = scores[lo : lo + len(x)]
                segment.held = held[lo : lo + len(x)]
                segment.from_rest = from_rest[lo : lo + len(x)]
                lo += len(x)
        found: list[list[Detection]] = [[] for _ in jobs]
        for segment in segments:
            found[segment.job].extend(segment.drift)
            found[segment.job].extend(self._acute(jobs[segment.job], segment))
        return [sorted(f, key=lambda d: (d.detected_at, d.kind)) for f in found]  # in the order they fired

    # -- stage 1: baseline-normalised rows per day, learning as we go -------------------------
    def _segments(self, j: int, job: Job):  # type: ignore[no-untyped-def]
        state, series = job.state, job.series
        first = series.start if state.next_minute is None else max(state.next_minute, series.start)
        stop = series.end if job.until is None else min(job.until, series.end)
        while first < stop:
            day = (first - DAY_STARTS_AT_MINUTE) // 1440
            seg_stop = min(stop, (day + 1) * 1440 + DAY_STARTS_AT_MINUTE)
            drift: list[Detection] = []
            baseline = state.baseline
            if baseline.day is None:
                baseline.day = day
            elif day > baseline.day:
                drift = self._fold(state, series, first)
                baseline.day = day
            window = series.window(first - LOOKBACK_MINUTES, seg_stop)
            still, state.last_step = still_minutes(window, first, state.last_step)
            rows = minute_rows(window, baseline, still)
            segment = _Segment(job=j, rows=rows, first=LOOKBACK_MINUTES, drift=drift)
            x = np.zeros((0, 0), dtype=np.float32)
            if self.model is not None or self.collect is not None:
                segment.idx, x, segment.confidence = windows(rows, first, baseline.maturity())
                if self.collect is not None:
                    self.collect(j, rows, segment.idx, x)
            judged = slice(LOOKBACK_MINUTES, None)
            baseline.accumulate({m: a[judged] for m, a in rows.values.items()}, rows.hours[judged], rows.ctx[judged])
            yield segment, x
            state.next_minute = first = seg_stop

    def _fold(self, state: WearerState, series: MinuteSeries, minute: int) -> list[Detection]:
        """A new day began: fold the finished one into the baseline and judge it for drift."""
        baseline = state.baseline
        day = baseline.day
        assert day is not None
        baseline.fold()
        feats = drift_features(baseline.history, day) if self.model is not None else None
        rise = resting_rate_rise(baseline.history, day) if self.config.use_resting_rise else None
        if feats is None and rise is None:
            return []
        ts = series.last_ts[minute - series.start] if series.start <= minute < series.end else np.nan
        detected_at = float(ts) if np.isfinite(ts) else minute * 60.0
        fired = None
        rise_fired = False  # the rise sums nights by itself: no need to see it twice
        if rise is not None and rise_may_report(state.drift, day, rise, RISE_LINE):
            fired, rise_fired = ("baseline", min(1.0, rise / (2 * RISE_LINE))), True
        strong = False  # a night far over the line needs no second one
        if feats is not None:
            assert self.model is not None
            score, threshold = float(self.model.score_drift(feats[None, :])[0]), self.threshold(DRIFT)
            if score >= threshold:
                fired = ("model", score)
                strong = far_over(score, threshold, DRIFT_STRONG)
        reported = drift_fire(state.drift, day, over=fired is not None, sustained=rise_fired or strong, rise=rise)
        if not reported or fired is None:
            return []
        rhr, usual, rising, onset_day, nights = _drift_story(baseline.history, day)
        return [
            Detection(
                kind=DRIFT,
                detected_at=detected_at,
                onset=(onset_day * 1440 + DAY_STARTS_AT_MINUTE) * 60.0,
                severity="medium",
                score=round(fired[1], 3),
                confidence=round(min(1.0, nights / 14), 2),
                explanation=(
                    f"resting heart rate {rhr:.0f} last night, your usual {usual:.0f}; "
                    f"raised for {rising} of the last {DRIFT_DAYS} nights"
                ),
                source=fired[0],
            )
        ]

    # -- stage 2: triggers -> detections, in minute order ------------------------------------
    def _acute(self, job: Job, segment: _Segment) -> list[Detection]:
        rows, first = segment.rows, segment.first
        n = len(rows.x)
        if n <= first:
            return []
        minutes = np.arange(rows.start, rows.start + n)
        rules = rule_hits(rows.values, rows.ctx, job.thresholds) if self.config.use_rules else {}
        personal = baseline_triggers(rows) if self.config.use_baselines else {}
        evidence: dict[str, _Evidence] = {}
        none = np.zeros(n, dtype=bool)
        quiet = _Evidence(none, none, np.full(n, "", dtype=object), np.zeros(n))  # shared, never written
        top = segment.scores.max(axis=0) if segment.scores is not None and len(segment.idx) else None
        if top is not None and segment.held is not None:
            top[ACUTE_KINDS.index("tachycardia")] = max(top[ACUTE_KINDS.index("tachycardia")], segment.held.max())
        for k, kind in enumerate(ACUTE_KINDS):
            state = job.state.alarm(kind)
            if (
                not (kind in rules and rules[kind].any())
                and not (kind in personal and personal[kind].any())
                and (top is None or top[k] < self.threshold(kind) / 2)
            ):
                # nothing over any line (the lowest: half the usual threshold makes a minute hot): the
                # kind's alarm has nothing to see, which is most kinds for most wearers most minutes
                evidence[kind] = quiet
                continue
            trigger = np.zeros(n, dtype=bool)
            hot = np.zeros(n, dtype=bool)
            source = np.full(n, "", dtype=object)
            score = np.zeros(n)
            if kind in rules:
                trigger |= rules[kind]
                source[rules[kind]] = "rule"
                score[rules[kind]] = 1.0
            if kind in personal:
                new = personal[kind] & ~trigger
                trigger |= personal[kind]
                source[new] = "baseline"
                score[new] = 0.9
            if segment.scores is not None and len(segment.idx):
                v, idx = rows.values, segment.idx
                usual = self.threshold(kind)  # a run of minutes counts at it; the last must pass `threshold`
                scored, from_rest, ks = minutes[idx], segment.from_rest, segment.scores[:, k]
                if from_rest is not None and kind == "tachycardia":
                    # 85-100 bpm near the usual counts in a run that rose from rest (held_tachycardia)
                    either = np.maximum(ks, segment.held) if segment.held is not None else ks
                    from_rest = carry_from_rest(scored, either >= usual, from_rest, state)
                    ks = np.where(from_rest, either, ks)
                threshold = self.thresholds(kind, v["motion_g"][idx], v["steps"][idx], rows.still[idx], from_rest)
                m_trig, m_hot = model_triggers(scored, ks, threshold, state, usual)
                new = np.zeros(n, dtype=bool)
                new[segment.idx] = m_trig
                new &= ~trigger
                source[new] = "model"
                score[segment.idx] = np.maximum(score[segment.idx] * trigger[segment.idx], ks)
                trigger[segment.idx] |= m_trig
                hot[segment.idx] |= m_hot
            hot[:first] = trigger[:first] = False
            evidence[kind] = _Evidence(trigger, hot, source, score)
        found = []
        for name, kinds in _alarms():
            state = job.state.shared_alarm(name) if name in PAGES_AS_ONE else job.state.alarm(name)
            if all(evidence[k] is quiet for k in kinds):
                continue
            trigger = np.logical_or.reduce([evidence[k].trigger for k in kinds])
            hot = np.logical_or.reduce([evidence[k].hot for k in kinds])
            for minute, onset in fire(minutes, trigger, hot, state):
                i = minute - rows.start
                kind = _fired_kind(kinds, evidence, i)
                e = evidence[kind]
                found.append(self._detection(kind, rows, i, onset, str(e.source[i]), float(e.score[i]), job, segment))
        return found

    def _detection(
        self, kind: str, rows: Rows, i: int, onset: int, source: str, score: float, job: Job, segment: _Segment
    ) -> Detection:
        if source == "rule":
            severity, text = rule_explanation(kind, rows.values, i, job.thresholds)
        else:
            text = explain(kind, rows, i)
            severity = _severity(kind, rows, i)
            text = text[0].upper() + text[1:] + "."
        pos = np.searchsorted(segment.idx, i)
        confidence = float(segment.confidence[pos]) if pos < len(segment.idx) and segment.idx[pos] == i else 0.8
        ts = rows.last_ts[i]
        return Detection(
            kind=kind,
            detected_at=float(ts) if np.isfinite(ts) else (rows.start + i) * 60.0 + 59,
            onset=float(onset * 60),
            severity=severity,
            score=round(min(1.0, score), 3),
            confidence=round(confidence, 2),
            explanation=text,
            source=source,
        )


class _Evidence(NamedTuple):
    """One kind's minutes: what triggers it, what keeps it 'hot', and the source and score of each."""

    trigger: np.ndarray
    hot: np.ndarray
    source: np.ndarray
    score: np.ndarray


def _alarms() -> list[tuple[str, tuple[str, ...]]]:
    """Each alarm and the kinds it pages for: a group that pages as one, or a kind on its own."""
    grouped = {k for kinds in PAGES_AS_ONE.values() for k in kinds}
    return [*PAGES_AS_ONE.items(), *((k, (k,)) for k in ACUTE_KINDS if k not in grouped)]


def _fired_kind(kinds: tuple[str, ...], evidence: dict[str, _Evidence], i: int) -> str:
    """Which kind of an alarm fired at row i: a rule's first (its severity is the clinician's), else
    the first, in the alarm's order, whose trigger holds."""
    triggered = [k for k in kinds if evidence[k].trigger[i]]
    return next((k for k in triggered if evidence[k].source[i] == "rule"), triggered[0])


def _severity(kind: str, rows: Rows, i: int) -> str:
    hr, spo2 = rows.values["heart_rate"][i], rows.values["spo2"][i]
    if kind == "bradycardia":
        return "critical" if hr < 35 else "high" if hr < 40 else "medium"
    if kind == "desaturation":
        return "critical" if spo2 < 85 else "high" if spo2 < 88 else "medium"
    if kind in ("tachycardia", "hr_spike"):
        return "high" if hr >= 130 else "medium"
    return "medium"
