"""When scores become detections: persistence, one detection per event, re-arming. Pure.

Per kind, a detection fires at the first minute its trigger holds while the kind is armed; it then
stays quiet until REARM_MINUTES pass without anything 'hot' (a trigger, or a model score above half
its threshold). A model trigger needs its score over the threshold in two consecutive minutes,
however high it is (on real traces, one minute far over it and back was most often a false alarm);
rule and baseline triggers carry their own sustained windows. A racing heart that rose from rest is
judged so while its run over the usual line lasts (carry_from_rest).

Drift is judged once a day, at noon, on the night just finished: it is reported when its evidence
has held DRIFT_NIGHTS nights in a row (one restless night is not an illness), or at once when a
night is far over the line (DRIFT_STRONG of the way from the threshold to 1), then stays quiet until
the evidence has been quiet for DRIFT_QUIET_DAYS days (a new rise is a new drift) or
DRIFT_REARM_DAYS have passed (a drift that never settles is reported again). 'In a row' counts the
nights the watch saw: a night without data (the watch on its charger) neither breaks a run nor adds
to it, unless the gap is longer than DRIFT_GAP_DAYS. The rise in nightly resting heart rate, which
spans nights by itself, is reported again sooner in two cases (rise_may_report): once the rate has
settled back near the usual for RISE_SETTLED_NIGHTS nights (a new rise is a new drift), and when the
rise climbs RISE_FURTHER over the one reported (the same drift, worse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

REARM_MINUTES = 30
RUN_GAP_MINUTES = 2  # hot minutes closer than this belong to one run (its start is the onset)
DRIFT_NIGHTS = 2
DRIFT_STRONG = 0.5  # a drift score this far from its threshold to 1 is reported on one night
DRIFT_QUIET_DAYS = 2
DRIFT_REARM_DAYS = 10
DRIFT_GAP_DAYS = 3  # judged nights further apart than this are not 'in a row'
# The rise in nightly resting heart rate (standard deviations, features.resting_rate_rise): under
# RISE_SETTLED it is back near the usual; RISE_FURTHER over the rise last reported, it is worse. On real
# traces with injected drifts (seeds 2000-2004), a report on the person's own raised nights held 5 of
# the 13 drifts missed; these catch 4 of them, at the same false alarms (docs/pulsenet.md).
RISE_SETTLED = 1.0
RISE_SETTLED_NIGHTS = 2
RISE_FURTHER = 3.0
NEVER = -(10**6)


@dataclass
class AlarmState:
    armed: bool = True
    last_hot: int = -(10**9)
    run_start: int = -(10**9)
    above: int = -(10**9)  # last minute the model score was over its threshold
    from_rest: int = -(10**9)  # last minute of a run over the usual line that rose from rest

    def to_list(self) -> list[int]:
        return [int(self.armed), self.last_hot, self.run_start, self.above, self.from_rest]

    @classmethod
    def from_list(cls, data: list[int]) -> AlarmState:
        # saved before runs from rest were carried: no run in progress rose from rest
        return cls(bool(data[0]), int(data[1]), int(data[2]), int(data[3]), *map(int, data[4:5]))


def far_over(score: float | np.ndarray, threshold: float | np.ndarray, share: float) -> bool | np.ndarray:
    """Whether a score (or scores) is at least `share` of the way from its threshold to 1."""
    return score >= threshold + (1 - threshold) * share


def model_triggers(
    minutes: np.ndarray,
    scores: np.ndarray,
    threshold: float | np.ndarray,
    state: AlarmState,
    run_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Trigger and 'hot' flags for scored minutes (sorted), updating state.above. A minute triggers
    when its score is over `threshold` (one, or one per minute) and the minute before was over
    `run_threshold` (default: `threshold`): two minutes in a row, however high the score. A stricter
    line for some minutes (tachycardia while the wearer could be cycling) is for the minute that
    fires; the run it ends is counted at the kind's usual line."""
    above = scores >= (threshold if run_threshold is None else np.minimum(threshold, run_threshold))
    prev_above = np.concatenate([[state.above], np.where(above, minutes, -(10**9))[:-1]])
    # in a row: the previous scored minute was over the line and is the minute before
    trigger = (scores >= threshold) & (prev_above == minutes - 1)
    if above.any():
        state.above = int(minutes[above][-1])
    return trigger, scores >= threshold / 2


def carry_from_rest(minutes: np.ndarray, over: np.ndarray, from_rest: np.ndarray, state: AlarmState) -> np.ndarray:
    """A racing heart that rose from rest stays one while it lasts: each scored minute (sorted) of a run
    over the kind's usual line (`over`: consecutive minutes, across calls through state.from_rest) is
    judged as from rest from the first minute of the run that was. features.rose_from_rest sees it only
    in a run's first few minutes, before the raised ones enter the window's earlier minutes it
    compares with."""
    if not len(minutes):
        return from_rest
    idx = np.arange(len(minutes))
    follows = np.concatenate([[minutes[0] == state.above + 1], (minutes[1:] == minutes[:-1] + 1) & over[:-1]])
    starts = over & ~follows
    seeds = over & (from_rest | ((idx == 0) & (minutes[0] == state.from_rest + 1)))
    last_seed = np.maximum.accumulate(np.where(seeds, idx, -1))
    last_start = np.maximum.accumulate(np.where(starts, idx, -1))
    carried = over & (last_seed >= 0) & (last_seed >= last_start)
    if carried.any():
        state.from_rest = int(minutes[carried][-1])
    return carried


def fire(minutes: np.ndarray, trigger: np.ndarray, hot: np.ndarray, state: AlarmState) -> list[tuple[int, int]]:
    """Walk the hot minutes in order; returns (minute it fired, onset minute) pairs."""
    fired = []
    for i in np.flatnonzero(hot | trigger):
        t = int(minutes[i])
        if not state.armed and t - state.last_hot > REARM_MINUTES:
            state.armed = True
        if t - state.last_hot > RUN_GAP_MINUTES:
            state.run_start = t
        state.last_hot = t
        if trigger[i] and state.armed:
            fired.append((t, state.run_start))
            state.armed = False
    return fired


@dataclass
class DriftAlarm:
    armed: bool = True
    last_fired: int = NEVER  # days
    last_hot: int = NEVER  # last day the evidence was past the threshold
    nights: int = 0  # judged nights in a row it has been, up to last_judged
    last_judged: int = NEVER  # last day with a night to judge
    settled: int = 0  # judged nights in a row the resting-rate rise has been under RISE_SETTLED
    resettled: bool = False  # ... for RISE_SETTLED_NIGHTS of them since the last report
    reported_rise: float | None = None  # the rise at the last report (None: unknown)

    def to_list(self) -> list[Any]:
        return [
            int(self.armed),
            self.last_fired,
            self.last_hot,
            self.nights,
            self.last_judged,
            self.settled,
            int(self.resettled),
            self.reported_rise,
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> DriftAlarm:
        if len(data) < 5:
            # saved before judged nights were kept: whether a quiet night followed its last hot one is
            # unknown, so a run in progress starts again (a report one night later, never a false one)
            return cls(bool(data[0]), int(data[1]), int(data[2]), 0, int(data[2]))
        alarm = cls(bool(data[0]), int(data[1]), int(data[2]), int(data[3]), int(data[4]))
        # saved before the rise re-armed sooner (5 items): the 10 days hold until the next report
        if len(data) >= 8:
            alarm.settled, alarm.resettled = int(data[5]), bool(data[6])
            alarm.reported_rise = None if data[7] is None else float(data[7])
        return alarm


def rise_may_report(alarm: DriftAlarm, day: int, rise: float, line: float) -> bool:
    """Whether the resting-rate rise of `day`'s night is reported (if drift_fire agrees); counts the
    settled nights. Over `line`, it is once DRIFT_REARM_DAYS have passed since the last report, or once
    the rate has settled since (a new drift: the alarm re-arms), or when it is RISE_FURTHER over the rise
    reported (the same drift, worse: likewise)."""
    alarm.settled = alarm.settled + 1 if rise < RISE_SETTLED else 0
    alarm.resettled = alarm.resettled or alarm.settled >= RISE_SETTLED_NIGHTS
    if rise < line:
        return False
    if day - alarm.last_fired >= DRIFT_REARM_DAYS:
        return True
    worse = alarm.reported_rise is not None and rise >= alarm.reported_rise + RISE_FURTHER
    if alarm.resettled or worse:
        alarm.armed = True
        return True
    return False


def drift_fire(alarm: DriftAlarm, day: int, *, over: bool, sustained: bool = False, rise: float | None = None) -> bool:
    """Whether the drift evidence of `day` is reported; updates alarm. `over`: past its threshold;
    `sustained`: evidence that already spans nights (the resting-rate rise), which need not be seen twice;
    `rise`: the night's resting-rate rise, remembered when reported."""
    if not alarm.armed and (day - alarm.last_hot > DRIFT_QUIET_DAYS or day - alarm.last_fired >= DRIFT_REARM_DAYS):
        alarm.armed = True
    in_a_row = day - alarm.last_judged <= DRIFT_GAP_DAYS
    alarm.last_judged = day
    if not over:
        alarm.nights = 0
        return False
    alarm.nights = alarm.nights + 1 if in_a_row else 1
    alarm.last_hot = day
    if alarm.armed and (sustained or alarm.nights >= DRIFT_NIGHTS):
        alarm.armed, alarm.last_fired = False, day
        alarm.resettled, alarm.reported_rise = False, rise
        return True
    return False
