"""Run the detector over a CSV: the same code path as live inference, with a fresh state per wearer."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.detectors.csvio import ContractError, read_input, write_output
from inference.detectors.pipeline import Detector, Job, WearerState
from inference.detectors.pulsenet import CheckpointError, load_checkpoint


class Command(BaseCommand):
    help = (
        "Detect anomalies in a CSV of vitals. Input: wearer_id,timestamp,heart_rate,hrv_ms,spo2,skin_temp_c,"
        "steps,motion_g. Output: wearer_id,detected_at,onset,kind,severity,score,explanation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, help="CSV to read ('-' for stdin)")
        parser.add_argument("--output", required=True, help="CSV to write ('-' for stdout)")
        parser.add_argument(
            "--checkpoint", default=None, help="PulseNet checkpoint (default: PULSENET_CHECKPOINT_PATH)"
        )
        parser.add_argument("--no-model", action="store_true", help="rule floor + personal baselines only")

    def handle(self, *args: object, **o: object) -> None:
        model = None
        if not o["no_model"]:
            path = Path(str(o["checkpoint"] or settings.PULSENET_CHECKPOINT_PATH))
            try:
                model = load_checkpoint(path)
            except CheckpointError as exc:
                self.stderr.write(f"{exc}\nFalling back to the rule floor and personal baselines.")
        try:
            if o["input"] == "-":
                wearers, problems = read_input(sys.stdin)
            else:
                with Path(str(o["input"])).open(newline="") as fh:
                    wearers, problems = read_input(fh)
        except OSError as exc:
            raise CommandError(f"Cannot read {o['input']}: {exc.strerror}") from exc
        except (ContractError, UnicodeDecodeError) as exc:
            raise CommandError(f"{o['input']}: {exc}") from exc
        for problem in problems[:20]:
            self.stderr.write(f"skipped {problem}")
        if len(problems) > 20:
            self.stderr.write(f"... and {len(problems) - 20} more rows skipped")
        detector = Detector(model)
        rows = []
        for wearer, entry in sorted(wearers.items()):
            [found] = detector.run([Job(WearerState(), entry.series())])
            rows.extend((wearer, entry, d) for d in sorted(found, key=lambda d: (d.detected_at, d.kind)))
        if o["output"] == "-":
            count = write_output(sys.stdout, rows)
        else:
            try:
                with Path(str(o["output"])).open("w", newline="") as out:
                    count = write_output(out, rows)
            except OSError as exc:
                raise CommandError(f"Cannot write {o['output']}: {exc.strerror}") from exc
        using = f"PulseNet {model.version}" if model else "rule floor + baselines"
        self.stderr.write(
            f"{count} detection(s) for {len(wearers)} wearer(s) ({using}); {len(problems)} row(s) skipped."
        )
