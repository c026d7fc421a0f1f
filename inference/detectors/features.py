"""What PulseNet sees: baseline-normalised minute channels in windows, and daily drift features.

Every channel is computed from minutes up to the one being judged (causal). A missing value is a 0
with its mask channel at 0, never a copy of a neighbour; a window whose heart-rate coverage is under
MIN_WINDOW_COVERAGE is not scored at all.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .baseline import Baseline, activity_context, activity_levels
from .schema import ACTIVE, ACUTE_KINDS, MIN_WINDOW_COVERAGE, REST, WINDOW_MINUTES
from .series import MinuteSeries, filled

CHANNELS = (
    "hr_z", "hr_level", "hrv_z", "hrv_log_ratio", "spo2_drop", "spo2_level", "temp_z",
    "steps", "motion", "hr_mask", "hrv_mask", "spo2_mask", "temp_mask", "context",
)  # fmt: skip
N_CHANNELS = len(CHANNELS)
# Baseline maturity, and how long since the wearer's last step. Not the clock: a night-shift nurse's
# 3 am is someone else's afternoon; the personal baseline already knows this wearer's hours.
N_EXTRA = 2
N_INPUTS = WINDOW_MINUTES * N_CHANNELS + N_EXTRA
STILL_CAP_MINUTES = 720  # "still for 12 hours" and "still for a day" are the same evidence

DRIFT_DAYS = 5  # days of evidence the drift head sees (today and the 4 before)
DRIFT_REFERENCE = (35, 5)  # reference days: from 35 to 5 days ago
N_DRIFT_INPUTS = DRIFT_DAYS * 6


@dataclass
class Rows:
    """Per-minute channels for a stretch of minutes (lookback included), with what explains them."""

    start: int
    x: np.ndarray  # (n, N_CHANNELS) float32
    hours: np.ndarray
    ctx: np.ndarray
    values: dict[str, np.ndarray]
    expected: dict[str, tuple[np.ndarray, np.ndarray]]
    last_ts: np.ndarray
    invalid: np.ndarray
    still: np.ndarray  # minutes since the wearer's last step (see still_minutes)


def minute_rows(series: MinuteSeries, baseline: Baseline, still: np.ndarray) -> Rows:
    v = series.values
    n = len(series)
    minutes = np.arange(series.start, series.end)
    hours = (minutes // 60) % 24
    ctx = activity_context(activity_levels(v["steps"], v["motion_g"]))
    expected = {m: baseline.expected(m, hours, ctx) for m in ("heart_rate", "hrv_ms", "spo2", "skin_temp_c")}
    x = np.zeros((n, N_CHANNELS), dtype=np.float32)
    hr, hrv, spo2, temp = v["heart_rate"], v["hrv_ms"], v["spo2"], v["skin_temp_c"]
    with np.errstate(invalid="ignore", divide="ignore"):
        x[:, 0] = np.clip((hr - expected["heart_rate"][0]) / expected["heart_rate"][1], -10, 10)
        x[:, 1] = (hr - 70) / 30
        x[:, 2] = np.clip((hrv - expected["hrv_ms"][0]) / expected["hrv_ms"][1], -10, 10)
        x[:, 3] = np.clip(np.log(hrv / expected["hrv_ms"][0]), -4, 4)
        x[:, 4] = np.clip((expected["spo2"][0] - spo2) / 3, -5, 10)
        x[:, 5] = (spo2 - 94) / 4
        x[:, 6] = np.clip((temp - expected["skin_temp_c"][0]) / expected["skin_temp_c"][1], -10, 10)
        x[:, 7] = np.log1p(filled(v["steps"], 0.0)) / 5
        x[:, 8] = np.clip(filled(v["motion_g"], 1.0) - 1, -1, 5)
    x[:, 9] = np.isfinite(hr)
    x[:, 10] = np.isfinite(hrv)
    x[:, 11] = np.isfinite(spo2)
    x[:, 12] = np.isfinite(temp)
    x[:, 13] = ctx / ACTIVE
    x[~np.isfinite(x)] = 0.0
    return Rows(series.start, x, hours, ctx, v, expected, series.last_ts, series.invalid, still)


def windows(rows: Rows, first: int, maturity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model inputs for each minute from absolute index `first` to the end of rows.

    Returns (row indices that can be scored, inputs (k, N_INPUTS), confidence per scored row).
    """
    w = WINDOW_MINUTES
    lo = max(first - rows.start, w - 1)
    idx = np.arange(lo, len(rows.x))
    if len(idx) == 0:
        return idx, np.zeros((0, N_INPUTS), dtype=np.float32), np.zeros(0)
    view = np.lib.stride_tricks.sliding_window_view(rows.x, w, axis=0)  # (n-w+1, C, w)
    win = view[idx - (w - 1)].transpose(0, 2, 1)  # (k, w, C)
    coverage = win[:, :, 9].mean(axis=1)
    scorable = (coverage >= MIN_WINDOW_COVERAGE) & (win[:, -1, 9] > 0)
    idx, win, coverage = idx[scorable], win[scorable], coverage[scorable]
    still = np.log1p(np.minimum(rows.still[idx], STILL_CAP_MINUTES)) / np.log1p(STILL_CAP_MINUTES)
    extra = np.stack([np.full(len(idx), maturity), still], axis=1).astype(np.float32)
    inputs = np.concatenate([win.reshape(len(idx), w * N_CHANNELS), extra], axis=1)
    bad = np.concatenate([[0], np.cumsum(rows.invalid)])
    artefacts = bad[idx + 1] - bad[np.maximum(0, idx - w + 1)]
    motion_noise = rows.values["motion_g"][idx] > 2.0
    confidence = coverage * np.where(artefacts > 0, 0.7, 1.0) * np.where(motion_noise, 0.7, 1.0)
    confidence *= 0.6 + 0.4 * maturity
    return idx, inputs, confidence


def still_minutes(series: MinuteSeries, first: int, last_step: int | None) -> tuple[np.ndarray, int]:
    """Minutes since the wearer's last step for each minute of `series`, and the last minute with a
    step up to its end. `last_step`: that minute as of before `first` (the first minute judged); None
    for a wearer not seen before, who counts as stepping at `first`. Asleep or lying still for hours
    is not the same as a pause on a bike ride. Steps, not motion: every watch counts them, and a
    wrist turning over in sleep is not getting up."""
    never = np.iinfo(np.int64).min
    minutes = np.arange(series.start, series.end)
    steps = filled(series.values["steps"], 0.0)
    last = np.maximum.accumulate(np.where(steps > 0, minutes, never))
    prior = first if last_step is None else last_step
    last = np.where(minutes >= prior, np.maximum(last, prior), last)
    still = (minutes - np.maximum(last, minutes - STILL_CAP_MINUTES)).astype(np.float64)  # never: capped
    return still, int(max(prior, last[-1])) if len(last) else prior


def drift_features(history: list[list[Any]], day: int) -> np.ndarray | None:
    """Daily evidence for slow drift ending at `day`: resting heart rate and HRV against this wearer's
    reference weeks, and activity. None without enough reference days."""
    by_day = {row[0]: row for row in history}
    ref = [by_day[d] for d in range(day - DRIFT_REFERENCE[0], day - DRIFT_REFERENCE[1] + 1) if d in by_day]
    ref_rhr = np.array([r[1] for r in ref if r[1] is not None], dtype=np.float64)
    if len(ref_rhr) < 7 or by_day.get(day, [None, None])[1] is None:
        return None
    ref_hrv = np.array([r[2] for r in ref if r[2] is not None], dtype=np.float64)
    ref_steps = np.array([r[3] for r in ref if r[3] is not None], dtype=np.float64)

    def robust(a: np.ndarray, floor: float) -> tuple[float, float]:
        med = float(np.median(a))
        return med, max(floor, 1.4826 * float(np.median(np.abs(a - med))))

    rhr_m, rhr_s = robust(ref_rhr, 1.5)
    hrv_m, hrv_s = robust(ref_hrv, 3.0) if len(ref_hrv) >= 7 else (None, None)
    steps_m = float(np.median(ref_steps)) if len(ref_steps) >= 7 else None
    out = np.zeros((DRIFT_DAYS, 6), dtype=np.float32)
    for k, d in enumerate(range(day - DRIFT_DAYS + 1, day + 1)):
        row = by_day.get(d)
        if row is None:
            continue
        if row[1] is not None:
            out[k, 0], out[k, 1] = np.clip((row[1] - rhr_m) / rhr_s, -8, 8), 1
        if row[2] is not None and hrv_m is not None:
            out[k, 2], out[k, 3] = np.clip((row[2] - hrv_m) / hrv_s, -8, 8), 1
        if row[3] is not None and steps_m:
            out[k, 4], out[k, 5] = np.clip(np.log((row[3] + 100) / (steps_m + 100)), -3, 3), 1
    return out.reshape(-1)


NIGHT_REFERENCE_DAYS = 28  # a night's normal: the 4 weeks before it
# The last three nights' weights, latest first: a resting rate rising over two or three nights (as
# in an infection) makes the weighted sum largest when the latest night counts most.
RISE_WEIGHTS = (3.0, 2.0, 1.0)


def _night_z(by_day: dict[int, float], day: int) -> float | None:
    """How far `day`'s resting heart rate is over the mean of the previous 4 weeks', in their
    standard deviations (at least 2 bpm). None without the night or 7 nights before it."""
    if day not in by_day:
        return None
    ref = np.array([by_day[d] for d in range(day - NIGHT_REFERENCE_DAYS, day) if d in by_day], dtype=np.float64)
    if len(ref) < 7:
        return None
    return float(np.clip((by_day[day] - ref.mean()) / max(2.0, float(ref.std())), -8, 8))


def resting_rate_rise(history: list[list[Any]], day: int) -> float | None:
    """The evidence of a drift in the resting heart rate alone: the last three nights' z (each
    against its own 4 weeks before), weighted RISE_WEIGHTS toward `day` and scaled so that nights
    with no change give one standard deviation. Nights without data are left out. None without
    `day`'s night (or its 7 nights before)."""
    by_day = {row[0]: row[1] for row in history if row[1] is not None}
    zs = [_night_z(by_day, day - k) for k in range(len(RISE_WEIGHTS))]
    if zs[0] is None:
        return None
    pairs = [(w, z) for w, z in zip(RISE_WEIGHTS, zs, strict=True) if z is not None]
    return float(sum(w * z for w, z in pairs) / np.sqrt(sum(w * w for w, _ in pairs)))


def explain(kind: str, rows: Rows, i: int) -> str:
    """A plain sentence about row i, e.g. 'heart rate 128 at rest, your usual 72 ± 6 at this hour;
    not exercising'."""
    v, ctx = rows.values, int(rows.ctx[i])
    doing = {REST: "at rest", 1: "while lightly active", ACTIVE: "while active"}[ctx]
    exercising = "not exercising" if ctx != ACTIVE else "exercising"
    if not np.isfinite(v["steps"][i]) and not np.isfinite(v["motion_g"][i]):
        doing, exercising = "", "activity unknown (the watch sent no steps or motion)"

    def usual(metric: str, fmt: str = ".0f") -> str:
        mean, std = rows.expected[metric][0][i], rows.expected[metric][1][i]
        return f"your usual {mean:{fmt}} ± {std:{fmt}} at this hour"

    if kind in ("tachycardia", "bradycardia", "hr_spike"):
        hr = v["heart_rate"][i]
        lead = "sudden jump: " if kind == "hr_spike" else ""
        return f"{lead}heart rate {hr:.0f}{' ' + doing if doing else ''}, {usual('heart_rate')}; {exercising}"
    if kind == "hrv_collapse":
        lo = max(0, i - WINDOW_MINUTES + 1)
        recent = v["hrv_ms"][lo : i + 1]
        hrv = float(np.nanmedian(recent)) if np.isfinite(recent).any() else float("nan")
        return f"HRV {hrv:.0f} ms over the last {WINDOW_MINUTES} minutes, {usual('hrv_ms')}; {exercising}"
    if kind == "desaturation":
        lo = max(0, i - WINDOW_MINUTES + 1)
        recent = v["spo2"][lo : i + 1]
        low = float(np.nanmin(recent)) if np.isfinite(recent).any() else float("nan")
        return f"blood oxygen down to {low:.0f}%, {usual('spo2')}"
    return ""


def gate_scores(inputs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """A kind can only be claimed from its own metric, and only when the metric is abnormal by its
    clinical definition: no HRV collapse without 3 HRV readings in the window, no desaturation without
    an SpO2 reading in the last 5 minutes, no bradycardia above 45 bpm, no tachycardia while active or
    below 100 bpm (85 when RELATIVE_TACHYCARDIA_Z standard deviations over this wearer's usual), no
    spike below 85 bpm, or less than 2.5 standard deviations over this wearer's usual, or over the
    minutes before it, or from minutes that were not steady (_jumped). held_tachycardia gives the
    85-100 bpm tachycardia scores back where the rate rose from rest."""
    if len(inputs) == 0:
        return scores
    win = _windows_of(inputs)
    scores = scores.copy()
    hr, hr_z, active = _last_minute(win)
    scores[hr >= 45, ACUTE_KINDS.index("bradycardia")] = 0
    racing = (hr >= 100) | ((hr >= RELATIVE_TACHYCARDIA_BPM) & (hr_z >= RELATIVE_TACHYCARDIA_Z))
    scores[~racing | active, ACUTE_KINDS.index("tachycardia")] = 0
    spike = (hr_z >= 2.5) & (hr >= 85) & ~active
    spike[spike] = _jumped(win[spike])  # medians and spreads only where a spike is still possible
    scores[~spike, ACUTE_KINDS.index("hr_spike")] = 0
    scores[win[:, :, CHANNELS.index("hrv_mask")].sum(axis=1) < 3, ACUTE_KINDS.index("hrv_collapse")] = 0
    scores[win[:, -5:, CHANNELS.index("spo2_mask")].sum(axis=1) < 1, ACUTE_KINDS.index("desaturation")] = 0
    return scores


RELATIVE_TACHYCARDIA_BPM = 85.0
RELATIVE_TACHYCARDIA_Z = 4.0  # 85-100 bpm at rest counts when this far over the wearer's usual (90 asleep, usual 48)
SPIKE_BEFORE_MINUTES = WINDOW_MINUTES - 4  # the window's earlier minutes, before a spike's first few
SPIKE_JUMP_Z = 2.5  # the same margin the spike needs over the usual rate
# ... and from a steady rate: at least this many times the spread (standard deviation, bpm) of the
# minutes before it. A rate already jumping about by 5-15 bpm (moving without steps, or a noisy
# reading) that jumps once more is not a new spike.
SPIKE_STEADY_RATIO = 6.0


# Tachycardia that comes on all at once from the wearer's own steady resting rate: at least
# RISE_FROM_REST_BPM over the median of the window's earlier minutes, which were steady (spread at
# most STEADY_REST_BPM) and at the wearer's usual (median z at most REST_Z). A paroxysmal racing heart
# starts like that; getting on a bike seldom does (it starts from walking to it, and climbs), nor a
# rate already raised and unsettled by an illness or stress. On real traces without a motion reading
# (seeds 2000-2004), 206 of the 210 tachycardias the no-motion line missed rose 30 bpm or more over
# the median of the half hour before, and a quarter of the 305 false alarms lifting that line would
# add; the rule looks at the window's earlier minutes (11), which the model sees too.
RISE_FROM_REST_BPM = 30.0
STEADY_REST_BPM = 5.0
REST_Z = 1.0
MIN_EARLIER_READINGS = 5


def held_tachycardia(inputs: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """The tachycardia score (of `raw`, the model's) that gate_scores holds to 0 only because the rate
    is 85-100 bpm and less than RELATIVE_TACHYCARDIA_Z over the wearer's usual, at rest; 0 for every
    other window. The detector gives it back to a racing heart that rose from rest (the pipeline,
    through alarms.carry_from_rest): 55 to 92 all at once is a racing heart, even in an hour whose
    usual rate spreads wide."""
    out = np.zeros(len(inputs))
    if len(inputs) == 0:
        return out
    hr, hr_z, active = _last_minute(_windows_of(inputs))
    held = (hr >= RELATIVE_TACHYCARDIA_BPM) & (hr < 100) & (hr_z < RELATIVE_TACHYCARDIA_Z) & ~active
    out[held] = raw[held, ACUTE_KINDS.index("tachycardia")]
    return out


def rose_from_rest(inputs: np.ndarray) -> np.ndarray:
    """For each window, whether its last minute's heart rate rose all at once from the wearer's steady
    usual rate: RISE_FROM_REST_BPM over the median of the earlier minutes, with their spread at most
    STEADY_REST_BPM and their median z at most REST_Z. Fewer than MIN_EARLIER_READINGS earlier
    readings, or no reading in the last minute: it cannot be told, so no."""
    win = _windows_of(inputs)
    seen, hr, z = _earlier(win)
    enough = (seen.sum(axis=1) >= MIN_EARLIER_READINGS) & (win[:, -1, CHANNELS.index("hr_mask")] > 0)
    out = np.zeros(len(inputs), dtype=bool)
    if enough.any():
        rise = _bpm(win[enough])[:, -1] - np.nanmedian(hr[enough], axis=1)
        spread = np.nanstd(hr[enough], axis=1)
        usual = np.nanmedian(z[enough], axis=1) <= REST_Z
        out[enough] = (rise >= RISE_FROM_REST_BPM) & (spread <= STEADY_REST_BPM) & usual
    return out


def _windows_of(inputs: np.ndarray) -> np.ndarray:
    """Model inputs as (windows, minutes, channels)."""
    return inputs[:, : WINDOW_MINUTES * N_CHANNELS].reshape(len(inputs), WINDOW_MINUTES, N_CHANNELS)


def _last_minute(win: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each window's last minute: its heart rate (bpm), the rate's z, and whether the wearer is active."""
    last = win[:, -1]
    return _bpm(win[:, -1:])[:, 0], last[:, CHANNELS.index("hr_z")], last[:, CHANNELS.index("context")] >= 1.0


def _earlier(win: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window's earlier minutes (SPIKE_BEFORE_MINUTES): which were read, their heart rate (bpm)
    and its z, NaN where none was read."""
    earlier = slice(0, SPIKE_BEFORE_MINUTES)
    seen = win[:, earlier, CHANNELS.index("hr_mask")] > 0
    hr = np.where(seen, _bpm(win[:, earlier]), np.nan)
    z = np.where(seen, win[:, earlier, CHANNELS.index("hr_z")], np.nan).astype(np.float64)
    return seen, hr, z


def _bpm(win: np.ndarray) -> np.ndarray:
    """Heart rate in bpm per window minute, back from its hr_level channel (0 where none was read)."""
    return 70 + 30 * win[:, :, CHANNELS.index("hr_level")].astype(np.float64)


def _jumped(win: np.ndarray) -> np.ndarray:
    """A spike is a sudden jump from a steady rate: the last minute must be SPIKE_JUMP_Z above the
    median of the window's earlier minutes (in this wearer's standard deviations), not only above the
    usual, and SPIKE_STEADY_RATIO times their own spread above it. A rate that was already high, or
    jumping about, for minutes is not a new spike (the tachycardia kind judges a sustained high rate).
    No earlier reading: the jump cannot be judged, so it counts; fewer than 3: the spread cannot."""
    seen, hr, z = _earlier(win)
    bpm = _bpm(win)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no earlier reading
        jump = win[:, -1, CHANNELS.index("hr_z")] - np.nanmedian(z, axis=1)
        rise = bpm[:, -1] - np.nanmedian(hr, axis=1)
        spread = np.nanstd(hr, axis=1)
    unsteady = (seen.sum(axis=1) >= 3) & (rise < SPIKE_STEADY_RATIO * spread)
    return ~(jump < SPIKE_JUMP_Z) & ~unsteady
