"""Training PulseNet, reproducibly, on labelled synthetic physiology and the CC BY sets.

The acute head learns from 15-minute windows cut by the live pipeline itself (same baselines, same
features), so what it learns is what it will see. The drift head learns from daily histories:
synthetic people and PMData's real resting heart rate (CC BY 4.0), both with injected drifts.
Thresholds are set on held-out validation wearers so that a normal minute is over the line about
once every two days; the alarm logic's persistence turns that into far fewer detections. Cycling
(no steps) on a watch without motion is taught as normal but is not allowed to set the tachycardia
threshold of watches that do report motion (where it cannot happen unseen); watches without motion
get their own, stricter tachycardia threshold that does count it, for the minutes when the wearer
could be on a bike (a step within the last CYCLING_STILL_MINUTES).
The Stanford set is never read here: it is for evaluation only.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import synthetic as syn
from .features import Rows, drift_features, gate_scores
from .pipeline import Detector, DetectorConfig, Job, WearerState
from .pulsenet import LoadedModel, PulseNet, save_checkpoint
from .schema import ACUTE_KINDS, CYCLING_STILL_MINUTES, DRIFT, TACHYCARDIA_WITHOUT_MOTION

VERSION = "1.3"
NORMAL_MINUTE_RATE = 1e-4  # share of normal minutes allowed over an acute threshold (~0.15 a day)
NORMAL_DAY_RATE = 0.01  # share of normal days over the drift threshold


@dataclass(frozen=True)
class TrainingPlan:
    seed: int = 7
    wearers: int = 240
    days: int = 21
    val_wearers: int = 60  # the thresholds are rare quantiles of their normal minutes: many of them
    epochs: int = 12
    drift_people: int = 600
    drift_days: int = 90


def _windows(wearers: list[syn.SyntheticWearer], rng: np.random.Generator, keep_normal: float):
    """Inputs, labels (multi-hot), a 'normal' flag, an 'ambiguous' flag and a 'maybe cycling' flag
    (no motion reading, a step within CYCLING_STILL_MINUTES) for windows of these wearers.
    Ambiguous windows (cycling on a watch without motion) carry no anomaly label and are all kept:
    the model learns them as normal, but they are not 'normal' for the thresholds of watches that
    report motion."""
    xs, ys, normal, ambiguous, maybe_cycling = [], [], [], [], []

    def collect(j: int, rows: Rows, idx: np.ndarray, inputs: np.ndarray) -> None:
        w = wearers[j]
        minutes = rows.start + idx
        label = np.zeros((len(idx), len(ACUTE_KINDS)), dtype=np.float32)
        ignore = np.zeros(len(idx), dtype=bool)
        for e in w.events:
            if e.kind == DRIFT:
                continue
            k = ACUTE_KINDS.index(e.kind)
            first = e.onset if e.kind == "hr_spike" else e.onset + 1
            label[(minutes >= first) & (minutes < e.end), k] = 1
            ignore |= (minutes >= e.onset) & (minutes < e.end + 15) & (label.sum(axis=1) == 0)
        unsure = np.zeros(len(idx), dtype=bool)
        if w.ambiguous is not None:
            unsure = w.ambiguous[minutes - w.series.start] & (label.sum(axis=1) == 0) & ~ignore
        is_normal = (label.sum(axis=1) == 0) & ~ignore & ~unsure
        benign = w.benign[minutes - w.series.start] if w.benign is not None else np.zeros(len(idx), dtype=bool)
        keep = (label.sum(axis=1) > 0) | (is_normal & ((rng.random(len(idx)) < keep_normal) | benign)) | unsure
        xs.append(inputs[keep])
        ys.append(label[keep])
        normal.append(is_normal[keep])
        ambiguous.append(unsure[keep])
        cycling = ~np.isfinite(rows.values["motion_g"][idx]) & (rows.still[idx] < CYCLING_STILL_MINUTES)
        maybe_cycling.append(cycling[keep])

    detector = Detector(
        None,
        DetectorConfig(use_rules=False, use_baselines=False, use_model=False, use_resting_rise=False),
        collect=collect,
    )
    detector.run([Job(WearerState(), w.series) for w in wearers])
    return (
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(normal),
        np.concatenate(ambiguous),
        np.concatenate(maybe_cycling),
    )


def _threshold(scores: np.ndarray, normal: np.ndarray, positive: np.ndarray) -> float:
    """Over what normal minutes reach about NORMAL_MINUTE_RATE of the time; where the kind is
    separable, midway between that and the 5th percentile of anomalous minutes."""
    q = float(np.quantile(scores[normal], 1 - NORMAL_MINUTE_RATE))
    p05 = float(np.quantile(scores[positive], 0.05)) if positive.any() else q
    return float(np.clip(max(q, (q + p05) / 2), 0.5, 0.995))


def _fit(net: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, seed: int, log: Callable[[str], None]) -> None:
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    pos = yt.mean(dim=0).clamp(min=1e-4)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=((1 - pos) / pos).pow(0.25))
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for lo in range(0, len(xt), 1024):
            batch = order[lo : lo + 1024]
            opt.zero_grad()
            loss = loss_fn(net(xt[batch]), yt[batch])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        sched.step()
        log(f"  epoch {epoch + 1}/{epochs}: loss {total / len(xt):.4f}")


def _reinitialise(module: nn.Module, seed: int) -> None:
    """Draw a head's initial weights from its own seeded stream, so that a change to the other
    head (its inputs, its size) does not reshuffle this one's training."""
    torch.manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            layer.reset_parameters()


def _drift_data(histories, min_day: int = 20) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    xs, ys = [], []
    for history, event in histories:
        for day in range(min_day, len(history)):
            feats = drift_features(history, day)
            if feats is None:
                continue
            if event is not None and event.onset <= day <= event.onset + 3:
                label = 1.0
            elif event is not None and event.onset - 1 <= day <= event.end + 6:
                continue  # late in the drift or just after it: neither a catch nor a false alarm
            else:
                label = 0.0
            xs.append(feats)
            ys.append(label)
    return np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32)[:, None]


def train(plan: TrainingPlan, data_dir: Path, out: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.monotonic()
    torch.manual_seed(plan.seed)
    rng = np.random.default_rng(plan.seed)
    cal = syn.calibrate(data_dir)
    log(f"Calibration: {cal.source}")
    log(f"Generating {plan.wearers} + {plan.val_wearers} synthetic wearers x {plan.days} days...")
    train_w = [
        syn.generate(rng, days=plan.days, cal=cal, acute_per_day=1.0, drift_probability=0) for _ in range(plan.wearers)
    ]
    val_w = [
        syn.generate(rng, days=plan.days, cal=cal, acute_per_day=0.5, drift_probability=0)
        for _ in range(plan.val_wearers)
    ]
    log("Cutting windows through the live pipeline (baselines learned online)...")
    x, y, _, _, _ = _windows(train_w, rng, keep_normal=0.15)
    vx, vy, vnormal, vambiguous, vcycling = _windows(val_w, rng, keep_normal=1.0)
    log(f"  {len(x):,} training windows ({int(y.sum()):,} anomalous minutes), {len(vx):,} validation windows")

    net = PulseNet()
    log("Training the acute head...")
    _fit(net.acute, x, y, plan.epochs, plan.seed, log)
    net.eval()
    model = LoadedModel(net=net, meta={})
    vs = gate_scores(vx, model.score_acute(vx))
    thresholds: dict[str, float] = {}
    metrics: dict[str, Any] = {}
    for k, kind in enumerate(ACUTE_KINDS):
        positive = vy[:, k] > 0
        thr = _threshold(vs[:, k], vnormal, positive)
        thresholds[kind] = round(thr, 4)
        metrics[kind] = {
            "threshold": round(thr, 4),
            "minute_recall": round(float((vs[positive, k] >= thr).mean()), 4) if positive.any() else None,
            "normal_minutes_over": round(float((vs[vnormal, k] >= thr).mean()), 6),
        }
        log(f"  {kind}: threshold {thr:.3f}, minute recall {metrics[kind]['minute_recall']}")
    # Watches without motion, while the wearer could be on a bike: cycling without steps counts as
    # normal there (the wearer must not be paged for it), so tachycardia needs a stricter threshold.
    k = ACUTE_KINDS.index("tachycardia")
    positive = (vy[:, k] > 0) & vcycling
    thr = _threshold(vs[:, k], (vnormal | vambiguous) & vcycling, positive)
    thresholds[TACHYCARDIA_WITHOUT_MOTION] = round(thr, 4)
    metrics[TACHYCARDIA_WITHOUT_MOTION] = {
        "threshold": round(thr, 4),
        "minute_recall": round(float((vs[positive, k] >= thr).mean()), 4) if positive.any() else None,
    }
    log(
        f"  tachycardia without motion: threshold {thr:.3f}, minute recall {metrics[TACHYCARDIA_WITHOUT_MOTION]['minute_recall']}"
    )

    log(f"Drift head: {plan.drift_people} daily histories (synthetic and PMData with injected drifts)...")
    histories = syn.daily_histories(rng, people=plan.drift_people, days=plan.drift_days, cal=cal, data_dir=data_dir)
    split = int(len(histories) * 0.8)
    dx, dy = _drift_data(histories[:split])
    dvx, dvy = _drift_data(histories[split:])
    _reinitialise(net.drift, plan.seed)
    _fit(net.drift, dx, dy, 20, plan.seed, lambda m: None)
    net.eval()
    dv = model.score_drift(dvx)
    thr = float(np.clip(np.quantile(dv[dvy[:, 0] == 0], 1 - NORMAL_DAY_RATE), 0.3, 0.995))
    thresholds[DRIFT] = round(thr, 4)
    metrics[DRIFT] = {
        "threshold": round(thr, 4),
        "day_recall": round(float((dv[dvy[:, 0] > 0] >= thr).mean()), 4),
        "normal_days_over": round(float((dv[dvy[:, 0] == 0] >= thr).mean()), 4),
    }
    log(f"  drift: threshold {thr:.3f}, day recall {metrics[DRIFT]['day_recall']}")

    meta = {
        "version": VERSION,
        "seed": plan.seed,
        "plan": plan.__dict__,
        "data": (
            f"Synthetic physiology ({plan.wearers} training + {plan.val_wearers} validation wearers x {plan.days} days, "
            f"labelled injected anomalies), calibrated from {cal.source}; drift head also on PMData daily resting "
            "heart rate (CC BY 4.0) with injected drifts. Not trained on the Stanford set."
        ),
        "calibration": cal.as_dict(),
        "metrics": metrics,
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "training_seconds": round(time.monotonic() - started, 1),
    }
    save_checkpoint(out, net, meta, thresholds)
    log(f"Wrote {out} ({out.stat().st_size / 1024:.0f} KiB) in {meta['training_seconds']} s.")
    return meta
