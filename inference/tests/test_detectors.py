"""The detection pipeline, without a database: causality, streaming, the rule floor, bad data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from inference.detectors import pipeline
from inference.detectors import synthetic as syn
from inference.detectors.alarms import AlarmState, carry_from_rest, model_triggers
from inference.detectors.baseline import RHR_BINS, Baseline, activity_context
from inference.detectors.features import (
    CHANNELS,
    N_CHANNELS,
    N_INPUTS,
    STILL_CAP_MINUTES,
    explain,
    gate_scores,
    held_tachycardia,
    minute_rows,
    resting_rate_rise,
    rose_from_rest,
    still_minutes,
    windows,
)
from inference.detectors.pipeline import Detector, DetectorConfig, Job, WearerState
from inference.detectors.pulsenet import CheckpointError, LoadedModel, load_checkpoint
from inference.detectors.rules import RuleThresholds, rule_explanation
from inference.detectors.schema import ACUTE_KINDS, DAY_STARTS_AT_MINUTE, WINDOW_MINUTES
from inference.detectors.series import MinuteSeries, resample

CAL = syn.Calibration()


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(Path(settings.PULSENET_CHECKPOINT_PATH))


def wearer(seed: int, days: int = 3, **kwargs) -> syn.SyntheticWearer:
    return syn.generate(np.random.default_rng(seed), days=days, cal=CAL, full_sensors=True, **kwargs)


def detect(detector: Detector, series: MinuteSeries, state: WearerState | None = None):
    [found] = detector.run([Job(state or WearerState(), series)])
    return found


def keyed(found) -> list[tuple]:
    return [(d.kind, d.detected_at, d.onset, d.source, d.score) for d in found]


def by_minute(found) -> list[tuple]:
    return [(d.kind, d.detected_at // 60, d.onset, d.source, d.score) for d in found]


def test_the_shipped_checkpoint_is_small_and_described(model):
    assert Path(settings.PULSENET_CHECKPOINT_PATH).stat().st_size < 5 * 1024 * 1024
    assert {"version", "seed", "data", "metrics", "calibration"} <= set(model.meta)
    assert "Stanford" in model.meta["data"]  # says it was *not* trained on it
    assert set(model.thresholds) == {
        "tachycardia", "bradycardia", "hr_spike", "hrv_collapse", "desaturation", "drift", "tachycardia_without_motion",
    }  # fmt: skip
    assert model.thresholds["tachycardia_without_motion"] >= model.thresholds["tachycardia"]


def test_truncating_the_input_never_changes_earlier_detections(model):
    w = wearer(11, days=4, acute_per_day=1.0)
    detector = Detector(model)
    full = detect(detector, w.series)
    assert full, "the injected anomalies should produce detections"
    for cut in (w.series.start + 1440 + 700, w.series.start + 2 * 1440 + 3, w.series.start + 3 * 1440 + 901):
        truncated = detect(detector, w.series.window(w.series.start, cut))
        before = [d for d in full if d.detected_at < cut * 60]
        assert keyed(truncated) == keyed(before)


def test_minute_by_minute_streaming_equals_one_pass(model):
    w = wearer(12, days=2, acute_per_day=1.0)
    detector = Detector(model)
    one_pass = detect(detector, w.series)
    state = WearerState()
    streamed = []
    stops = [*range(w.series.start + 97, w.series.end, 211), w.series.end]
    for stop in stops:
        # each call sees only recent samples, like the live task; the state is persisted as JSON
        state = WearerState.from_dict(json.loads(json.dumps(state.to_dict())))
        streamed += detect(detector, w.series.window(stop - 240, stop), state)
    assert keyed(streamed) == keyed(one_pass)


def test_detections_carry_kind_severity_score_confidence_and_a_plain_explanation(model):
    w = wearer(13, days=3, acute_per_day=1.0, kinds=("tachycardia",))
    found = [d for d in detect(Detector(model), w.series) if d.kind == "tachycardia"]
    assert found
    d = found[0]
    assert d.severity in {"medium", "high", "critical"} and 0 < d.score <= 1 and 0 < d.confidence <= 1
    assert d.onset <= d.detected_at
    assert "at rest" in d.explanation and "your usual" in d.explanation


def test_a_broken_checkpoint_is_reported_and_the_rule_floor_still_fires(tmp_path):
    broken = tmp_path / "pulsenet.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(broken)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    w = wearer(14, days=1, acute_per_day=0, drift_probability=0)
    spo2 = w.series.values["spo2"]
    spo2[600:606] = 84.0
    found = detect(Detector(None), w.series)
    assert [(d.kind, d.source) for d in found] == [("desaturation", "rule")]
    assert "84%" in found[0].explanation


def test_bad_data_never_raises_an_alarm_by_itself(model):
    w = wearer(15, days=2, acute_per_day=0, drift_probability=0)
    detector = Detector(model)
    clean = by_minute(detect(detector, w.series))
    rng = np.random.default_rng(0)
    n = len(w.series)
    minutes = w.series.start + np.arange(n)
    ts, cols = [], {m: [] for m in w.series.values}
    for i in range(n):  # rebuild raw samples, then add junk samples to 10% of the minutes
        ts.append(minutes[i] * 60.0)
        for m in cols:
            cols[m].append(w.series.values[m][i])
    junk_minutes = rng.choice(n, n // 10, replace=False)
    for i in junk_minutes:
        ts.append(minutes[i] * 60.0 + 30)
        junk = {"heart_rate": rng.choice([0, 300, 999, -5]), "spo2": rng.choice([0, 20, 140]),
                "hrv_ms": 9999.0, "skin_temp_c": 80.0, "steps": -3.0, "motion_g": 99.0}  # fmt: skip
        for m in cols:
            cols[m].append(junk[m])
    dirty = resample(np.array(ts), {m: np.array(v) for m, v in cols.items()})
    assert dirty.invalid.sum() == 6 * len(junk_minutes)
    # the junk is dropped and counted; detections are the clean data's (a junk sample may only be
    # the "last sample seen" of a minute that fired anyway)
    assert by_minute(detect(detector, dirty)) == clean
    # an off-wrist day (no data at all) is silence, not an alarm
    gap = w.series.window(w.series.start, w.series.end)
    for m in gap.values:
        gap.values[m][300:1300] = np.nan
    assert all(
        d.detected_at < (gap.start + 300) * 60 or d.detected_at >= (gap.start + 1300) * 60
        for d in detect(detector, gap)
    )


def test_the_model_beats_nothing_without_its_metric(model):
    """No HRV readings: HRV collapse can't be claimed, whatever the model's score."""
    w = wearer(16, days=3, acute_per_day=1.0)
    w.series.values["hrv_ms"][:] = np.nan
    assert all(d.kind != "hrv_collapse" for d in detect(Detector(model), w.series))


def test_drift_is_caught_from_daily_resting_heart_rate(model):
    rng = np.random.default_rng(21)
    w = syn.generate(rng, days=40, cal=CAL, acute_per_day=0, drift_probability=1.0, full_sensors=True)
    [event] = w.events
    found = [d for d in detect(Detector(model), w.series) if d.kind == "drift"]
    assert any(event.onset * 60 <= d.detected_at <= (event.onset + 3 * 1440) * 60 for d in found)
    assert "resting heart rate" in found[0].explanation


def drift_reports(model, scores: dict[int, float]) -> list[float]:
    """Days (from the series' start) on which drift is reported when the drift head scores the n-th
    judged night `scores[n]` (else 0) against a threshold of 0.5."""

    class Scripted(LoadedModel):
        def score_drift(self, inputs: np.ndarray) -> np.ndarray:
            self.nights = getattr(self, "nights", 0) + 1
            return np.array([scores.get(self.nights, 0.0)], dtype=np.float32)

    scripted = Scripted(net=model.net, meta=model.meta, thresholds={**model.thresholds, "drift": 0.5})
    w = wearer(22, days=20, acute_per_day=0, drift_probability=0)
    found = detect(Detector(scripted), w.series)
    return [(d.detected_at / 60 - w.series.start) / 1440 for d in found if d.kind == "drift"]


def test_a_night_far_over_the_drift_line_is_reported_alone_and_one_just_over_it_waits_for_the_next(model):
    [strong] = drift_reports(model, {3: 0.8})  # 0.75 and over: far over the line
    assert drift_reports(model, {3: 0.6}) == []  # one restless night
    [two_nights] = drift_reports(model, {3: 0.6, 4: 0.6})
    assert two_nights - strong == pytest.approx(1.0, abs=0.01)


def test_a_drift_in_the_resting_rate_alone_is_caught_where_the_drift_head_scores_it_low(model):
    """No HRV, steps as usual: only the nights' heart rate rises. A drift head that sees nothing in
    it (scripted here to score 0) leaves it to the rise in nightly resting heart rate."""

    class Blind(LoadedModel):
        def score_drift(self, inputs: np.ndarray) -> np.ndarray:
            return np.zeros(len(inputs), dtype=np.float32)

    blind = Blind(net=model.net, meta=model.meta, thresholds=model.thresholds)
    w = syn.generate(np.random.default_rng(32), days=40, cal=CAL, acute_per_day=0, drift_probability=0)
    series = w.series
    onset = (series.start // 1440 + 30) * 1440  # midnight: 30 days of a normal, then 10 bpm up
    series.values["heart_rate"][onset - series.start :] += 10

    def drifts(config: DetectorConfig) -> list[float]:
        found = detect(Detector(blind, config), series)
        return [(d.detected_at / 60 - onset) / 1440 for d in found if d.kind == "drift"]

    [caught] = drifts(DetectorConfig())  # once: ten days of raised nights are one drift, not several
    assert 0 <= caught <= 3
    [detection] = [d for d in detect(Detector(blind), series) if d.kind == "drift"]
    assert detection.source == "baseline"
    assert "resting heart rate" in detection.explanation and "your usual" in detection.explanation
    assert drifts(DetectorConfig(use_resting_rise=False)) == []


def usual_nights(day: int, count: int = 10) -> list[list[object]]:
    """History rows for `count` ordinary nights (59-61 bpm) ending at `day`."""
    return [[day - k, 60.0 + (k % 3) - 1, None, 8000.0, 1400] for k in range(count)]


def test_a_resting_rate_rising_over_three_nights_is_a_rise_the_same_nights_flat_are_not():
    day = 20_000
    normal = usual_nights(day - 3, 20)
    rising = [*normal, *([d, rate, None, 8000.0, 1400] for d, rate in ((day - 2, 62.0), (day - 1, 64.0), (day, 66.0)))]
    flat = [*normal, *([d, 60.0, None, 8000.0, 1400] for d in (day - 2, day - 1, day))]
    assert resting_rate_rise(rising, day) >= pipeline.RISE_LINE
    assert abs(resting_rate_rise(flat, day)) < 1
    # one night at 66 alone is less evidence than three nights climbing to it
    alone = [*normal, [day, 66.0, None, 8000.0, 1400]]
    assert resting_rate_rise(alone, day) < resting_rate_rise(rising, day)
    assert resting_rate_rise(rising, day + 1) is None  # no night to judge
    assert resting_rate_rise(usual_nights(day, 5), day) is None  # too few nights for a normal


def test_a_rise_counts_the_last_three_nights_only():
    """Two raised nights, then a slightly raised one: reported when the three are in a row, not when
    ten days without the watch lie between them (a night then is not evidence of a rise now)."""
    day = 20_000
    series = MinuteSeries.empty((day + 1) * 1440 + DAY_STARTS_AT_MINUTE, 5)  # minutes of the next day
    series.values["heart_rate"][:] = 62.0
    series.values["steps"][:] = 0.0

    def reported(raised_nights: tuple[int, int]) -> bool:
        state = WearerState(next_minute=series.start)
        raised = [[d, 66.0, None, 8000.0, 1400] for d in raised_nights]
        state.baseline.history = sorted(usual_nights(day - 13) + raised)
        state.baseline.day = day  # the night being judged: resting rate 64, two bpm over the usual
        state.baseline.rest_hr_hist[64 - 30] = 300
        return any(d.kind == "drift" for d in detect(Detector(None), series, state))

    assert reported(raised_nights=(day - 2, day - 1)) is True
    assert reported(raised_nights=(day - 12, day - 11)) is False


def test_rules_only_configuration_uses_no_baseline_thresholds():
    w = wearer(17, days=2, acute_per_day=1.0, kinds=("hr_spike",))
    found = detect(
        Detector(None, DetectorConfig(use_rules=True, use_baselines=False, use_model=False, use_resting_rise=False)),
        w.series,
    )
    assert all(d.source == "rule" for d in found)


def model_inputs(*windows: tuple[list[float], list[float], float]) -> np.ndarray:
    """Model inputs for windows given as (heart rate per minute, its z per minute, context); a NaN
    heart rate is a minute without a reading."""
    inputs = np.zeros((len(windows), N_INPUTS), dtype=np.float32)
    for k, (hr, hr_z, context) in enumerate(windows):
        win = inputs[k, : WINDOW_MINUTES * N_CHANNELS].reshape(WINDOW_MINUTES, N_CHANNELS)
        hr_a = np.asarray(hr, dtype=np.float64)
        win[:, CHANNELS.index("hr_mask")] = np.isfinite(hr_a)
        win[:, CHANNELS.index("hr_z")] = np.nan_to_num(hr_z)
        win[:, CHANNELS.index("hr_level")] = np.nan_to_num((hr_a - 70) / 30)
        win[:, CHANNELS.index("context")] = context
    return inputs


def gated(*windows: tuple[list[float], list[float], float]) -> np.ndarray:
    """Gate scores of 1 for windows (as model_inputs takes them)."""
    return gate_scores(model_inputs(*windows), np.ones((len(windows), len(ACUTE_KINDS)), dtype=np.float32))


def steady(hr: float, hr_z: float, context: float = 0.0) -> tuple[list[float], list[float], float]:
    return [hr] * WINDOW_MINUTES, [hr_z] * WINDOW_MINUTES, context


def jump(before: tuple[float, float], last: tuple[float, float]) -> tuple[list[float], list[float], float]:
    """The window's earlier minutes at `before` (heart rate, z), its last minute at `last`."""
    n = WINDOW_MINUTES - 1
    return [before[0]] * n + [last[0]], [before[1]] * n + [last[1]], 0.0


def test_a_spike_must_jump_from_the_minutes_before_it():
    nan = float("nan")
    scores = gated(jump((70, 0.0), (130, 6.0)), jump((115, 4.5), (130, 6.0)), jump((nan, nan), (130, 6.0)), jump((70, 0.0), (80, 1.0)))  # fmt: skip
    # from rest to 130: a spike; already at 115 for minutes: not a new one (tachycardia's to judge);
    # nothing seen before: cannot tell, so it counts; 80 bpm is no spike at all
    assert scores[:, ACUTE_KINDS.index("hr_spike")].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert scores[1, ACUTE_KINDS.index("tachycardia")] == 1.0


def test_a_spike_must_jump_from_a_steady_rate():
    n = WINDOW_MINUTES - 1
    calm = [80.0, 82.0] * (n // 2) + [80.0] * (n % 2)  # spread 1 bpm
    restless = [72.0, 102.0] * (n // 2) + [72.0] * (n % 2)  # moving about without a step: spread 15 bpm
    sparse = [*restless[:2], *[float("nan")] * (n - 2)]
    z = [*[1.0] * n, 6.0]
    scores = gated(([*calm, 130.0], z, 0.0), ([*restless, 130.0], z, 0.0), ([*sparse, 130.0], z, 0.0))
    # 48 bpm over a calm rate is a spike; 43 over one jumping about by 30 is not (under 6 x its spread
    # of 15); two earlier readings are too few to tell a spread from, so the jump alone decides
    assert scores[:, ACUTE_KINDS.index("hr_spike")].tolist() == [1.0, 0.0, 1.0]
    assert scores[1, ACUTE_KINDS.index("tachycardia")] == 1.0  # a high rate all the same: tachycardia's to judge


def test_tachycardia_is_over_100_or_far_over_the_wearers_usual_from_85():
    scores = gated(steady(128, 3.0), steady(92, 6.0), steady(92, 3.0), steady(80, 8.0), steady(128, 6.0, context=1.0))
    # 128 at rest; 92 asleep for someone whose usual is 48 (z 6); not 92 when that is near the usual,
    # not 80 however far over, and never while exercising
    assert scores[:, ACUTE_KINDS.index("tachycardia")].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_tachycardia_needs_a_higher_score_from_a_watch_without_motion_while_the_wearer_could_be_cycling(model):
    """Without motion, cycling (no steps) looks like tachycardia at rest: its own, stricter threshold
    for the minutes with no motion reading, unless the wearer has not taken a step for hours; the
    other kinds are unchanged."""
    detector = Detector(model)
    motion = np.array([1.02, np.nan, 1.3, np.nan, np.nan, 1.1])
    steps = np.array([0, 0, 0, 0, np.nan, np.nan])
    still = np.array([20, 20, 20, 240, 240, 240])
    assert detector.thresholds("tachycardia", motion, steps, still).tolist() == [
        model.thresholds["tachycardia"],
        model.thresholds["tachycardia_without_motion"],
        model.thresholds["tachycardia"],
        model.thresholds["tachycardia"],  # 4 hours without a step: not on a bike
        model.thresholds["tachycardia_without_motion"],  # no step count at all: not known to be still
        model.thresholds["tachycardia"],  # the motion reading tells
    ]
    assert detector.thresholds("hr_spike", motion, steps, still) == model.thresholds["hr_spike"]
    assert Detector(None).thresholds("tachycardia", motion, steps, still) == 0.5  # no model: the baselines decide


def test_a_racing_heart_rose_from_rest_when_it_jumps_all_at_once_from_the_wearers_steady_usual_rate():
    n = WINDOW_MINUTES - 1
    nan = float("nan")
    calm = [62.0, 64.0] * (n // 2) + [62.0] * (n % 2)  # spread 1 bpm
    restless = [80.0, 104.0] * (n // 2) + [80.0] * (n % 2)  # moving about without a step: spread 12 bpm
    sparse = [*calm[:4], *[nan] * (n - 4)]
    inputs = model_inputs(
        ([*calm, 125.0], [0.0] * n + [6.0], 0.0),  # 62 -> 125 at the usual rate: from rest
        ([*calm, 90.0], [0.0] * n + [3.0], 0.0),  # 62 -> 90: under 30 bpm
        ([*restless, 125.0], [2.0] * n + [6.0], 0.0),  # from a rate already jumping about
        ([*[95.0] * n, 127.0], [3.0] * n + [6.0], 0.0),  # steady, but at 95 where 62 is usual (z 3)
        ([*sparse, 125.0], [0.0] * n + [6.0], 0.0),  # four earlier readings: too few to tell
        ([*calm, nan], [0.0] * (n + 1), 0.0),  # no reading now
    )
    assert rose_from_rest(inputs).tolist() == [True, False, False, False, False, False]
    assert rose_from_rest(np.zeros((0, N_INPUTS), dtype=np.float32)).tolist() == []


def test_a_racing_heart_from_rest_is_judged_at_the_usual_line_on_a_watch_without_motion(model, monkeypatch):
    """A steps-only watch, 20 minutes after the wearer's last step: a bike ride cannot be ruled out,
    so tachycardia needs the stricter no-motion line, unless the rate jumped all at once from the
    wearer's steady usual one. Scored 0.9 (over the usual line, under the no-motion one), the jump
    from rest pages and the climb from a restless, raised rate does not."""
    usual, strict = model.thresholds["tachycardia"], model.thresholds["tachycardia_without_motion"]
    assert usual < 0.9 < strict

    def fake_scores(x: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(x), len(ACUTE_KINDS)), dtype=np.float32)
        scores[:, ACUTE_KINDS.index("tachycardia")] = 0.9
        return scores

    monkeypatch.setattr(model, "score_acute", fake_scores)
    detector = Detector(model, DetectorConfig(use_rules=False, use_baselines=False, use_resting_rise=False))

    def tachycardia(before: np.ndarray) -> list[int]:
        steps = np.zeros(90)
        steps[40] = 12  # a few steps 20 minutes before
        series = still_series(steps, heart_rate=np.concatenate([before, np.full(30, 125.0)]))
        return [int(d.detected_at // 60) - 1000 for d in detect(detector, series) if d.kind == "tachycardia"]

    assert tachycardia(np.tile([62.0, 63.0], 30)) == [61]  # two minutes in a row: 60 and 61
    assert tachycardia(np.tile([82.0, 104.0], 30)) == []


def test_a_racing_heart_that_rose_from_rest_is_judged_so_while_it_lasts(model, monkeypatch):
    """The rise from rest is seen only in a racing heart's first minutes, before the raised ones
    enter the window's earlier minutes. A model that scores it from its fourth minute (as the gate
    does in life, where the first minutes are under 100 bpm or too near the usual) must still judge
    it at the usual line: the run it starts carries it, in one pass and across 5-minute live steps."""

    def fake_scores(x: np.ndarray) -> np.ndarray:
        bpm = 70 + 30 * x[:, : WINDOW_MINUTES * N_CHANNELS].reshape(len(x), WINDOW_MINUTES, N_CHANNELS)[:, :, 1]
        scores = np.zeros((len(x), len(ACUTE_KINDS)), dtype=np.float32)
        scores[:, ACUTE_KINDS.index("tachycardia")] = np.where((bpm[:, -4:] >= 125).all(axis=1), 0.9, 0.0)
        return scores

    monkeypatch.setattr(model, "score_acute", fake_scores)
    assert model.thresholds["tachycardia"] < 0.9 < model.thresholds["tachycardia_without_motion"]
    config = DetectorConfig(use_rules=False, use_baselines=False, use_resting_rise=False)
    steps = np.zeros(100)
    steps[40] = 12  # a steps-only watch, 20 minutes after a few steps: the no-motion line applies
    series = still_series(steps, heart_rate=np.concatenate([np.tile([62.0, 63.0], 30), np.full(40, 125.0)]))
    found = detect(Detector(model, config), series)
    # scored from minute 63, its last minute judged from rest; 64 is carried by the run it began
    assert [int(d.detected_at // 60) - series.start for d in found] == [64]
    state, live = WearerState(), []
    detector = Detector(model, config)
    for stop in [*range(series.start + 24, series.end, 5), series.end]:  # minute 64 begins a step
        live += detect(detector, series.window(series.start, stop), state)
    assert by_minute(live) == by_minute(found)


def test_the_gate_holds_back_85_to_100_bpm_near_the_usual_at_rest_for_a_rise_from_rest_to_claim():
    windows = (steady(92, 3.0), steady(128, 3.0), steady(92, 6.0), steady(80, 2.0), steady(92, 3.0, context=1.0))
    raw = np.full((len(windows), len(ACUTE_KINDS)), 0.7, dtype=np.float32)
    held = held_tachycardia(model_inputs(*windows), raw)
    # 92 near the usual (z 3) is held back with its score; 128 and 92 far over the usual pass the gate
    # themselves; 80 is no racing heart; exercise is not rest
    assert held.tolist() == pytest.approx([0.7, 0.0, 0.0, 0.0, 0.0])
    assert gated(*windows)[:, ACUTE_KINDS.index("tachycardia")].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert held_tachycardia(np.zeros((0, N_INPUTS), dtype=np.float32), raw[:0]).tolist() == []


def test_a_racing_heart_of_85_to_100_pages_when_it_rose_from_rest(model, monkeypatch):
    """On a steps-only watch, 55 at rest jumping to 92 (under 100, and in an hour whose usual spreads
    wide, under 4 standard deviations over it) is a racing heart: the model's score, which the gate
    held back, counts for a run that rose from rest, in one pass and across live steps. The same 92
    reached by a climb is not paged, and without the held score given back nothing is."""
    monkeypatch.setattr(model, "score_acute", lambda x: np.full((len(x), len(ACUTE_KINDS)), 0.9, dtype=np.float32))
    config = DetectorConfig(use_rules=False, use_baselines=False, use_resting_rise=False)
    steps = np.zeros(100)
    steps[40] = 12  # 20 minutes after a few steps: the no-motion line applies unless it rose from rest

    def paged(
        heart_rate: np.ndarray, state: WearerState | None = None, stop: int | None = None, motion: float | None = None
    ) -> list[int]:
        series = still_series(steps, None if motion is None else np.full(len(steps), motion), heart_rate)
        window = series if stop is None else series.window(series.start, series.start + stop)
        found = detect(Detector(model, config), window, state)
        return [int(d.detected_at // 60) - series.start for d in found if d.kind == "tachycardia"]

    jump = np.concatenate([np.tile([55.0, 56.0], 30), np.full(40, 92.0)])
    climb = np.concatenate([np.tile([55.0, 56.0], 20), np.linspace(56, 92, 40), np.full(20, 92.0)])
    [minute] = paged(jump)
    assert 60 < minute < 66  # within minutes of the jump at minute 60
    state, live = WearerState(), []
    for stop in [*range(24, 100, 5), 100]:
        live += paged(jump, state, stop)
    assert live == [minute]
    assert paged(climb) == []
    # with a motion reading the usual line applies throughout: only the rise from rest gives it back
    assert paged(jump, motion=1.0) == [minute]
    assert paged(climb, motion=1.0) == []
    monkeypatch.setattr(pipeline, "held_tachycardia", lambda x, raw: np.zeros(len(x)))
    assert paged(jump) == []  # it is the held score that pages: the gate alone keeps 92 from paging


def test_a_run_over_the_line_that_rose_from_rest_carries_it_until_it_breaks():
    state = AlarmState()
    minutes = np.arange(100, 108)
    over = np.array([True, True, True, False, True, True, True, True])
    from_rest = np.array([False, True, False, False, False, False, True, False])
    # the first run from its minute from rest on; the second from its own, on to the call's end
    carried = carry_from_rest(minutes, over, from_rest, state)
    assert carried.tolist() == [False, True, True, False, False, False, True, True]
    assert state.from_rest == 107
    state.above = 107  # as model_triggers leaves it
    # the next call goes on with the run that rose from rest, until it breaks
    carried = carry_from_rest(np.arange(108, 112), np.array([True, True, False, True]), np.zeros(4, bool), state)
    assert carried.tolist() == [True, True, False, False]
    # a run that does not follow on is not carried
    state.above = 111
    carried = carry_from_rest(np.array([113, 114]), np.array([True, True]), np.zeros(2, bool), state)
    assert carried.tolist() == [False, False]
    assert AlarmState.from_list(AlarmState().to_list()[:4]).from_rest == AlarmState().from_rest  # older states


def test_a_score_over_half_the_line_keeps_the_alarm_quiet_across_live_steps(model, monkeypatch):
    """A racing heart that eases but stays over half the line is the same event: no second page
    when it climbs again. Live steps of 5 minutes each, where most steps have nothing over the line
    itself, judge it as one pass does. Once the rate settles for over 30 minutes, a new climb pages."""

    def fake_scores(x: np.ndarray) -> np.ndarray:
        bpm = 70 + 30 * x[:, : WINDOW_MINUTES * N_CHANNELS].reshape(len(x), WINDOW_MINUTES, N_CHANNELS)[:, -1, 1]
        scores = np.zeros((len(x), len(ACUTE_KINDS)), dtype=np.float32)
        scores[:, ACUTE_KINDS.index("tachycardia")] = np.where(bpm >= 125, 0.9, np.where(bpm >= 100, 0.3, 0.0))
        return scores

    monkeypatch.setattr(model, "score_acute", fake_scores)
    assert model.thresholds["tachycardia"] / 2 <= 0.3 < model.thresholds["tachycardia"]
    config = DetectorConfig(use_rules=False, use_baselines=False, use_resting_rise=False)

    def pages(between: float) -> list[int]:
        heart_rate = np.concatenate([np.full(60, 62.0), np.full(20, 130.0), np.full(60, between), np.full(20, 130.0)])
        series = still_series(np.zeros(len(heart_rate)), motion=np.full(len(heart_rate), 1.0), heart_rate=heart_rate)
        detector, state, found = Detector(model, config), WearerState(), []
        for stop in range(series.start + 20, series.end + 1, 5):  # a live step every 5 minutes
            found += detect(detector, series.window(series.start, stop), state)
        assert by_minute(found) == by_minute(detect(Detector(model, config), series))  # as one pass
        return [int(d.detected_at // 60) - series.start for d in found]

    assert pages(between=105.0) == [61]  # eased to 105 (scored 0.3, over half the line): one event
    assert pages(between=62.0) == [61, 141]  # settled for an hour: the climb is a new event


def test_a_model_trigger_needs_two_minutes_in_a_row_however_high_the_score():
    minutes = np.arange(100, 106)
    scores = np.array([0.2, 1.0, 0.2, 0.9, 0.95, 0.1])
    trigger, hot = model_triggers(minutes, scores, 0.5, AlarmState())
    # one minute at 1.0 then back is not enough; 0.9 then 0.95 is
    assert trigger.tolist() == [False, False, False, False, True, False]
    assert hot.tolist() == [False, True, False, True, True, False]
    # a run goes on across calls: the state remembers the last minute over the line
    state = AlarmState()
    model_triggers(minutes[:4], scores[:4], 0.5, state)
    assert model_triggers(minutes[4:], scores[4:], 0.5, state)[0].tolist() == [True, False]
    # and two minutes with one missing between them are not in a row
    assert not model_triggers(np.array([100, 102]), np.array([0.9, 0.9]), 0.5, AlarmState())[0].any()


def test_a_stricter_line_is_for_the_minute_that_fires_the_run_counts_at_the_usual_one():
    """Tachycardia while the wearer could be cycling: the minute that fires must pass the stricter
    line, the minute before it the usual one."""
    minutes = np.arange(10, 14)
    strict = np.array([0.995, 0.995, 0.995, 0.995])
    trigger, _ = model_triggers(minutes, np.array([0.9, 0.999, 0.3, 0.999]), strict, AlarmState(), 0.5)
    assert trigger.tolist() == [False, True, False, False]
    assert not model_triggers(minutes, np.array([0.9, 0.99, 0.9, 0.99]), strict, AlarmState(), 0.5)[0].any()


def test_only_cycling_on_a_watch_without_motion_is_ambiguous():
    rng = np.random.default_rng(3)
    wearers = [syn.generate(rng, days=3, cal=syn.Calibration()) for _ in range(12)]
    for w in wearers:
        if w.has["motion_g"]:
            assert not w.ambiguous.any()
        elif w.ambiguous.any():
            steps = np.nan_to_num(w.series.values["steps"], nan=0.0)
            # cycling and its recovery (a few fidgeting steps at most), not walking
            assert (steps[w.ambiguous] == 0).mean() > 0.75 and (steps[w.ambiguous] > 60).mean() < 0.05
    assert any(w.ambiguous.any() for w in wearers)


def test_nothing_but_the_vitals_gives_an_anomaly_away():
    """A watch reads SpO2 as often during an injected anomaly as outside one (a generator that read it
    more often then taught the model to alarm on a watch that reads SpO2 every minute)."""
    rng = np.random.default_rng(8)
    inside, outside = [], []
    for w in (syn.generate(rng, days=4, cal=CAL, acute_per_day=1.0, full_sensors=True) for _ in range(8)):
        during = np.zeros(len(w.series), dtype=bool)
        for e in w.events:
            during[e.onset - w.series.start : e.end - w.series.start] = True
        worn = np.isfinite(w.series.values["heart_rate"])
        read = np.isfinite(w.series.values["spo2"])
        inside.append(read[during & worn].mean())
        outside.append(read[~during & worn].mean())
    assert abs(np.mean(inside) - np.mean(outside)) < 0.05


def test_a_drift_is_reported_after_two_nights_then_again_only_after_quiet_days_or_ten_days():
    from inference.detectors.alarms import DriftAlarm, drift_fire

    def nights(alarm: DriftAlarm, over_by_day: dict[int, bool]) -> list[int]:
        return [day for day, over in sorted(over_by_day.items()) if drift_fire(alarm, day, over=over)]

    # one restless night is not a drift; two in a row are
    assert nights(DriftAlarm(), {1: True, 2: False, 3: True, 4: True, 5: True}) == [4]
    # a night without data (watch on its charger) neither breaks a run nor counts; a long gap does break it
    assert nights(DriftAlarm(), {1: True, 3: True, 4: True}) == [3]
    assert nights(DriftAlarm(), {1: True, 2: False, 4: True}) == []
    assert nights(DriftAlarm(), {1: True, 5: True, 6: True}) == [6]
    # quiet for two days after a report: a new rise is a new drift
    assert nights(DriftAlarm(), {1: True, 2: True, 3: False, 4: False, 5: True, 6: True}) == [2, 6]
    # one quiet day is not enough: the same drift wobbling
    assert nights(DriftAlarm(), {1: True, 2: True, 3: False, 4: True, 5: True}) == [2]
    # a drift that never settles is reported again after ten days
    assert nights(DriftAlarm(), dict.fromkeys(range(1, 25), True)) == [2, 12, 22]
    # evidence that already spans nights (the resting-rate rise): one is enough
    alarm = DriftAlarm()
    assert drift_fire(alarm, 1, over=True, sustained=True)
    # saved before judged nights were kept: a quiet night may have followed its last hot one, so a
    # run in progress starts again rather than report on one more night
    alarm = DriftAlarm.from_list([1, -(10**6), 10, 1])
    assert (alarm.nights, alarm.last_judged) == (0, 10)
    assert not drift_fire(alarm, 12, over=True)
    assert drift_fire(alarm, 13, over=True)


def test_a_resting_rate_rise_is_reported_again_once_it_settled_or_when_it_climbs_further():
    from inference.detectors.alarms import DriftAlarm, drift_fire, rise_may_report

    line = 2.5

    def reports(alarm: DriftAlarm, rise_by_day: dict[int, float]) -> list[int]:
        out = []
        for day, rise in sorted(rise_by_day.items()):  # as the detector judges each night
            may = rise_may_report(alarm, day, rise, line)
            if drift_fire(alarm, day, over=may, sustained=may, rise=rise):
                out.append(day)
        return out

    # held after a report while the rate stays raised, even under the line...
    assert reports(DriftAlarm(), {1: 3.0, 2: 1.8, 3: 2.7, 4: 1.5, 5: 2.9}) == [1]
    # ... but settled back near the usual for two nights, a new rise is a new drift
    assert reports(DriftAlarm(), {1: 3.0, 2: 0.5, 3: 0.9, 4: 2.7}) == [1, 4]
    assert reports(DriftAlarm(), {1: 3.0, 2: 0.5, 3: 1.2, 4: 0.9, 5: 2.7}) == [1]  # one settled night
    # a night without a rise to judge (no data) leaves the settled nights as they were
    assert reports(DriftAlarm(), {1: 3.0, 2: 0.5, 5: 0.9, 6: 2.7}) == [1, 6]
    # the same drift climbing three standard deviations over the one reported: reported again, once
    assert reports(DriftAlarm(), {1: 2.6, 2: 5.5, 3: 5.6, 4: 6.0, 5: 7.0}) == [1, 3]
    # a rise that never settles nor climbs: again after ten days
    assert reports(DriftAlarm(), dict.fromkeys(range(1, 25), 3.0)) == [1, 11, 21]
    # the alarm's state round-trips through JSON, and one saved before keeps the ten days
    alarm = DriftAlarm()
    reports(alarm, {1: 2.6, 2: 0.5})
    assert DriftAlarm.from_list(json.loads(json.dumps(alarm.to_list()))) == alarm
    older = DriftAlarm.from_list(alarm.to_list()[:5])
    assert (older.settled, older.resettled, older.reported_rise) == (0, False, None)
    assert reports(older, {3: 0.5, 4: 9.0, 12: 2.6}) == [12]


def test_detector_state_round_trips_and_reads_states_saved_before_the_drift_alarm_or_stillness(model):
    state = WearerState()
    detect(Detector(model), wearer(18, days=2).series, state)
    assert WearerState.from_dict(state.to_dict()).to_dict() == state.to_dict()
    old = {**state.to_dict(), "last_drift_day": 19_000}
    del old["drift"]
    del old["last_step"]
    restored = WearerState.from_dict(old)
    assert (restored.drift.armed, restored.drift.last_fired, restored.drift.last_hot) == (False, 19_000, 19_000)
    assert restored.last_step is None  # saved before minutes still were counted: counts from now
    assert WearerState.from_dict({**old, "last_moved": 123}).last_step == 123  # the field's first name
    # saved while a CuSum judged the resting rate: its sum is no longer needed (the rise reads the nights)
    with_cusum = WearerState.from_dict({**state.to_dict(), "cusum": 3.5})
    assert with_cusum.to_dict() == state.to_dict()


def still_series(steps: np.ndarray, motion: np.ndarray | None = None, heart_rate: float | np.ndarray = 60.0):
    series = MinuteSeries.empty(1000, len(steps))
    series.values["heart_rate"][:] = heart_rate
    series.values["steps"][:] = steps
    if motion is not None:
        series.values["motion_g"][:] = motion
    return series


def test_a_nights_resting_rate_is_the_mean_of_the_lowest_fifth_of_its_rest_minutes():
    baseline = Baseline()
    rest = np.array([50] * 30 + [52] * 40 + [60] * 100 + [70] * 130, dtype=np.int64)  # 300 minutes
    baseline.rest_hr_hist += np.bincount(rest - RHR_BINS[0], minlength=len(RHR_BINS))
    rhr, _, _ = baseline.day_summary()
    assert rhr == pytest.approx((30 * 50 + 30 * 52) / 60)  # the lowest 60: all the 50s, 30 of the 52s
    short = Baseline()
    short.rest_hr_hist[60 - RHR_BINS[0]] = 119  # under two hours at rest: no resting rate
    assert short.day_summary()[0] is None


def test_a_minutes_context_remembers_effort_for_10_minutes_and_light_activity_for_5():
    levels = np.zeros(30, dtype=np.int8)
    levels[2] = 2  # a burst of running
    levels[20] = 1  # a short walk
    ctx = activity_context(levels)
    assert ctx[:2].tolist() == [0, 0]
    assert ctx[2:12].tolist() == [2] * 10 and ctx[12] == 0
    assert ctx[20:25].tolist() == [1] * 5 and ctx[25] == 0
    # a stretch shorter than the memory (a few minutes into a new series)
    assert activity_context(np.array([2, 0, 0], dtype=np.int8)).tolist() == [2, 2, 2]
    assert activity_context(np.zeros(0, dtype=np.int8)).tolist() == []


def test_still_minutes_count_from_the_last_step():
    steps = np.zeros(30)
    steps[5] = 3  # a few steps at minute 1005
    steps[12] = 1
    steps[20:] = np.nan  # off the wrist from 1020: no step seen
    motion = np.full(30, 1.01)
    motion[8] = 1.3  # the wrist turns over in bed at 1008: not a step
    still, last = still_minutes(still_series(steps, motion), 1000, last_step=None)
    # a wearer not seen before counts as moving when first judged
    assert still[[0, 4, 5, 8, 10, 12, 15, 29]].tolist() == [0, 4, 0, 3, 5, 0, 3, 17]
    assert last == 1012
    # the state carries the last step from one call to the next
    still, _ = still_minutes(still_series(np.zeros(10)), 1000, last_step=990)
    assert still[[0, 9]].tolist() == [10, 19]
    # hours still (asleep) are capped: 12 hours and a day are the same evidence
    still, last = still_minutes(still_series(np.zeros(10)), 1000, last_step=-5000)
    assert still.max() == STILL_CAP_MINUTES and last == -5000


def test_a_racing_heart_after_hours_still_scores_higher_than_minutes_after_moving(model):
    """On a watch without motion, the same rise minutes after the last step may be a bike ride; after
    hours without a step (asleep, lying down) it cannot be."""
    heart_rate = np.where(np.arange(30) < 15, 60.0, 125.0)
    series = still_series(np.zeros(30), heart_rate=heart_rate)
    scores = {}
    for still_for in (20, 600):
        rows = minute_rows(series, Baseline(), still=np.arange(30, dtype=np.float64) + still_for - 29)
        _, x, _ = windows(rows, 1029, maturity=1.0)
        scores[still_for] = float(model.score_acute(x)[-1, ACUTE_KINDS.index("tachycardia")])
    assert scores[600] > scores[20]
    assert scores[600] >= model.thresholds["tachycardia_without_motion"]


def test_days_run_noon_to_noon_and_a_state_saved_with_midnight_days_carries_on(model):
    """Each detector day holds one whole night and is folded (and judged for drift) the noon after
    it. A state saved when days ran midnight to midnight just has one longer day."""
    w = wearer(21, days=4)
    start = w.series.start  # midnight
    state = WearerState()
    detect(Detector(model), w.series.window(start, start + 1440 + 600), state)  # to 10:00 on day 2
    assert state.baseline.day == (start + 1440 - 720) // 1440  # the day that began at noon on day 1
    assert len(state.baseline.history) == 1  # the half day from midnight to noon on day 1, folded

    old = WearerState.from_dict(state.to_dict())
    old.baseline.day = (start + 1440) // 1440  # saved by a midnight-to-midnight detector on day 2
    detect(Detector(model), w.series.window(start + 1440 + 600 - 15, start + 2 * 1440 + 900), old)
    assert old.baseline.day == (start + 2 * 1440) // 1440  # folded at noon on day 3, not at noon on day 2
    assert [row[0] for row in old.baseline.history] == [(start - 720) // 1440, (start + 1440) // 1440]


def test_a_racing_heart_that_starts_with_a_jump_pages_once(model, monkeypatch):
    """Tachycardia and a sudden spike page as one high heart rate: a jump that stays up is one
    detection (the kind that fired first), and one after 30 quiet minutes is a new detection."""
    w = wearer(21, days=2, acute_per_day=0, drift_probability=0)
    hr, steps = w.series.values["heart_rate"], w.series.values["steps"]
    night = 1440 + 2 * 60  # 02:00 on the second day, asleep
    steps[night - 240 : night + 240] = 0
    hr[night - 240 : night + 240] = 58.0
    hr[night : night + 40] = 140.0  # a jump that stays up for 40 minutes
    hr[night + 120 : night + 160] = 140.0  # and another, after 80 quiet minutes

    def high_heart_rate() -> list[tuple[str, int]]:
        found = detect(Detector(model), w.series)
        return [
            (d.kind, int(d.onset // 60) - w.series.start)
            for d in found
            if d.detected_at // 60 >= w.series.start + night
        ]

    assert high_heart_rate() == [("hr_spike", night), ("hr_spike", night + 120)]
    # each with its own alarm, both kinds would have paged for each
    monkeypatch.setattr(pipeline, "PAGES_AS_ONE", {})
    alone = high_heart_rate()
    assert [k for k, _ in alone] == ["hr_spike", "tachycardia", "hr_spike", "tachycardia"]
    assert all(night <= onset < night + 40 for _, onset in alone[:2])


def test_a_state_saved_before_kinds_paged_as_one_stays_quiet_while_either_kind_is():
    state = WearerState.from_dict(
        {**WearerState().to_dict(), "alarms": {"hr_spike": [0, 500, 490, 500], "tachycardia": [1, 100, 90, 100]}}
    )
    shared = state.shared_alarm("high_heart_rate")
    assert (shared.armed, shared.last_hot, shared.run_start) == (False, 500, 490)
    fresh = WearerState().shared_alarm("high_heart_rate")
    assert fresh.armed and fresh.to_list() == AlarmState().to_list()


def test_a_heart_rate_without_steps_or_motion_is_not_explained_as_at_rest():
    series = still_series(np.full(30, np.nan), heart_rate=110.0)
    rows = minute_rows(series, Baseline(), still=np.full(30, 600.0))
    text = explain("tachycardia", rows, 29)
    assert "at rest" not in text and "activity unknown (the watch sent no steps or motion)" in text
    series.values["steps"][:] = 0
    assert "at rest" in explain("tachycardia", minute_rows(series, Baseline(), still=np.full(30, 600.0)), 29)


def test_the_rule_floor_does_not_call_minutes_without_any_activity_reading_rest():
    hr = np.full(12, 160.0)
    values = {"heart_rate": hr, "steps": np.full(12, np.nan), "motion_g": np.full(12, np.nan)}
    _, text = rule_explanation("tachycardia", values, 11, RuleThresholds())
    assert "at rest" not in text and "no activity recorded" in text and "up to 160" in text
    values["steps"][5] = 0.0  # a step count of 0 in the window: the wearer was still
    _, text = rule_explanation("tachycardia", values, 11, RuleThresholds())
    assert "Heart rate above 150 at rest for 10 minutes" in text


def test_a_gap_in_a_watchs_activity_data_does_not_teach_the_resting_normal():
    """Three days with steps at 60 bpm, then a day with heart rate (100) but no step count and no
    motion: for this watch, that is missing data, not a day at rest. A watch that never sends
    activity still learns from every minute."""
    hours = np.arange(1440) // 60
    rest = np.zeros(1440, dtype=np.int8)

    def day(baseline: Baseline, hr: float, activity: bool) -> None:
        values = {
            m: np.full(1440, np.nan) for m in ("heart_rate", "hrv_ms", "spo2", "skin_temp_c", "steps", "motion_g")
        }
        values["heart_rate"][:] = hr
        if activity:
            values["steps"][:] = 0.0
        baseline.day = len(baseline.history)
        baseline.accumulate(values, hours, rest)
        baseline.fold()

    with_steps, never = Baseline(), Baseline()
    for _ in range(3):
        day(with_steps, 60.0, activity=True)
        day(never, 60.0, activity=False)
    learned = with_steps.mean["heart_rate"][:, 0].copy()
    day(with_steps, 100.0, activity=False)
    day(never, 100.0, activity=False)
    assert np.allclose(with_steps.mean["heart_rate"][:, 0], learned)  # the gap taught nothing
    assert (never.mean["heart_rate"][:, 0] > learned + 5).all()  # no activity sensor: it learns
    assert with_steps.history[-1][1] == 100.0  # the night's resting heart rate still counts
    # and it survives a save
    assert Baseline.from_dict(with_steps.to_dict()).activity_days == with_steps.activity_days == 3
