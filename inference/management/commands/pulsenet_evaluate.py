"""Evaluate PulseNet against simple detectors on synthetic and real test beds; write docs/pulsenet.md."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.detectors import evaluation as ev
from inference.detectors import synthetic as syn
from inference.detectors.pipeline import DetectorConfig
from inference.detectors.pulsenet import CheckpointError, load_checkpoint
from inference.detectors.report import report_markdown


class Command(BaseCommand):
    help = "Event-level precision/recall/F1, detection delay and false alarms per wearer-day, per kind and detector."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoint", default=None, help="default: PULSENET_CHECKPOINT_PATH")
        parser.add_argument("--data-dir", default=str(settings.PULSERA_SHARED_DATA_DIR))
        parser.add_argument("--output", default=str(settings.BASE_DIR / "docs" / "pulsenet.md"), help="'' to skip")
        parser.add_argument("--seed", type=int, default=1001, help="test-bed seed (training uses others)")
        parser.add_argument(
            "--real-draws",
            type=int,
            default=5,
            help="independent injections into the real traces, pooled (one drift per person per draw)",
        )
        parser.add_argument("--synthetic-wearers", type=int, default=40)
        parser.add_argument("--days", type=int, default=35)

    def handle(self, *args: object, **o: object) -> None:
        started = time.monotonic()
        draws = int(o["real_draws"])  # type: ignore[call-overload]
        if draws < 1:
            raise CommandError(f"--real-draws must be at least 1 (got {draws}).")
        path = Path(str(o["checkpoint"] or settings.PULSENET_CHECKPOINT_PATH))
        try:
            model = load_checkpoint(path)
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        data_dir = Path(str(o["data_dir"]))
        cal = syn.calibrate(data_dir)
        if model.meta.get("calibration") not in (None, cal.as_dict()):
            self.stderr.write(
                f"The synthetic test bed is calibrated from {cal.source} (in {data_dir}), the checkpoint from "
                f"{model.meta['calibration'].get('source')}: its figures will differ from docs/pulsenet.md. "
                "Pass --data-dir with ../shared/data to reproduce them."
            )
        detectors = {
            "Apple-style rule": ev.apple_rule,
            "Rolling per-hour z-score": ev.rolling_zscore,
            "CuSum on resting HR": ev.resting_hr_cusum,
            "Rule floor alone": ev.pipeline_detector(None, DetectorConfig(use_rules=True, use_baselines=False, use_model=False, use_resting_rise=False)),
            "Rules + personal baselines (no model)": ev.pipeline_detector(None, DetectorConfig(use_baselines=True, use_model=False)),
            "Rules + PulseNet (shipped)": ev.pipeline_detector(model, DetectorConfig()),
        }  # fmt: skip
        beds = {}
        seed = int(o["seed"])  # type: ignore[call-overload]
        self.stdout.write(
            f"Synthetic test bed: {o['synthetic_wearers']} held-out wearers x {o['days']} days (seed {seed})"
        )
        beds["synthetic"] = ev.synthetic_bed(cal, seed=seed, wearers=int(o["synthetic_wearers"]), days=int(o["days"]))  # type: ignore[call-overload]
        if (data_dir / "stanford_covid_fitbit").is_dir():
            self.stdout.write(
                f"Real test bed: Stanford/Mishra 2020 Fitbit wearers with injected anomalies ({draws} draws)"
            )
            beds["stanford"] = ev.stanford_bed(data_dir, seed=seed + 1, draws=draws)
        else:
            self.stderr.write(
                f"Skipping the real test bed: no {data_dir / 'stanford_covid_fitbit'} (see ../shared/data/README.md)"
            )
        results = {}
        for name, bed in beds.items():
            self.stdout.write(f"Evaluating on {name} ({len(bed)} wearers, {sum(len(w.events) for w in bed)} events):")
            results[name] = ev.evaluate(bed, detectors, log=self.stdout.write)
            self.stdout.write(ev.markdown_table(results[name]))
        text = report_markdown(results, beds, model, seconds=time.monotonic() - started, seed=seed)
        if o["output"]:
            Path(str(o["output"])).write_text(text)
            self.stdout.write(f"Wrote {o['output']} ({time.monotonic() - started:.0f} s).")
