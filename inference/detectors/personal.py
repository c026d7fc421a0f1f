"""Personal-baseline thresholds: the detector without the model (and its fallback). Pure numpy.

Each kind fires when a reading sits far outside this wearer's own normal for the hour and activity,
for a few minutes in a row. This is what PulseNet has to beat in the ablation, and what runs when
the checkpoint is missing or broken.
"""

from __future__ import annotations

import warnings

import numpy as np

from .features import Rows
from .rules import _sustained
from .schema import ACTIVE, REST, WINDOW_MINUTES


def _rolling(a: np.ndarray, width: int, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """fn over the trailing `width` minutes (NaN-aware), NaN before enough history."""
    out = np.full(len(a), np.nan)
    if len(a) >= width:
        view = np.lib.stride_tricks.sliding_window_view(a, width)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[width - 1 :] = fn(view, axis=1)
    return out


def baseline_triggers(rows: Rows) -> dict[str, np.ndarray]:
    v = rows.values
    hr, hrv, spo2 = v["heart_rate"], v["hrv_ms"], v["spo2"]
    hr_mean, hr_std = rows.expected["heart_rate"]
    rest = rows.ctx == REST
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (hr - hr_mean) / hr_std
        before = np.concatenate([np.full(4, np.nan), _rolling(hr, 9, np.nanmedian)[:-4]])[: len(hr)]
        hrv_ratio = _rolling(hrv, WINDOW_MINUTES, np.nanmedian) / rows.expected["hrv_ms"][0]
        hrv_count = _rolling(np.isfinite(hrv).astype(float), WINDOW_MINUTES, np.sum)
        return {
            "tachycardia": _sustained((z >= 4) & (hr >= 100) & rest, 3),
            "bradycardia": _sustained((z <= -3.5) & (hr < 45), 3),
            "hr_spike": _sustained((hr - before >= 30) & (z >= 3) & rest, 2),
            "hrv_collapse": (hrv_ratio < 0.4) & (hrv_count >= 3) & (rows.ctx != ACTIVE),
            "desaturation": _sustained((spo2 <= rows.expected["spo2"][0] - 5) & (spo2 < 92), 2),
        }
