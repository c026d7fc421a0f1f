"""PulseNet inference throughput (docs/benchmarks.md): wearer-windows scored per second.

    make bench-inference        # or: .venv/bin/python scripts/bench_inference.py [--wearers 2000]

1. Model only: one forward pass per batch of 8,192 windows, 1 and 2 threads.
2. The whole live step, batched across wearers as the detection task runs it: resampling is done,
   then baselines, features, one forward pass for everyone, gating and alarm logic. Each wearer has
   an hour of history and the step judges its newest 5 minutes (5 windows each) or a full hour.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulsera.settings")

import torch

from inference.detectors import synthetic as syn
from inference.detectors.features import N_INPUTS
from inference.detectors.pipeline import Detector, Job, WearerState
from inference.detectors.pulsenet import load_checkpoint

CHECKPOINT = Path(__file__).resolve().parent.parent / "inference" / "checkpoints" / "pulsenet.pt"


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wearers", type=int, default=2000)
    args = parser.parse_args()
    model = load_checkpoint(CHECKPOINT)
    print(f"PulseNet {model.version}, torch {torch.__version__}, {os.cpu_count()} CPUs")

    x = np.random.default_rng(0).normal(0, 1, (100_000, N_INPUTS)).astype(np.float32)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model.score_acute(x[:8192])  # warm up
        s = best_of(lambda: model.score_acute(x))
        print(f"model only, {threads} thread(s): {len(x) / s:,.0f} windows/s")

    torch.set_num_threads(1)  # as in a Celery worker process
    rng = np.random.default_rng(1)
    base = [syn.generate(rng, days=1, cal=syn.Calibration(), acute_per_day=1.0, drift_probability=0) for _ in range(50)]
    detector = Detector(model)
    for judged in (5, 60):
        jobs_series = []
        for i in range(args.wearers):
            series = base[i % len(base)].series
            stop = series.start + 600 + (i * 7) % 700
            jobs_series.append((series.window(stop - 60 - 15, stop), stop - judged))

        def step(jobs_series: list = jobs_series) -> None:
            jobs = []
            for series, first in jobs_series:
                state = WearerState()
                state.baseline.day = first // 1440
                state.next_minute = first
                jobs.append(Job(state, series))
            detector.run(jobs)

        s = best_of(step)
        windows = args.wearers * judged
        print(
            f"live step, {args.wearers:,} wearers x {judged} new minutes, one forward pass: "
            f"{s * 1000:,.0f} ms = {windows / s:,.0f} wearer-windows/s (1 thread)"
        )


if __name__ == "__main__":
    main()
