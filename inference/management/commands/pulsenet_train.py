"""Train PulseNet reproducibly and write the checkpoint (committed at PULSENET_CHECKPOINT_PATH's default)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from inference.detectors.pulsenet import load_checkpoint
from inference.detectors.training import TrainingPlan, train


class Command(BaseCommand):
    help = "Train PulseNet on labelled synthetic physiology calibrated from the CC BY sets in --data-dir."

    def add_arguments(self, parser: CommandParser) -> None:
        plan = TrainingPlan()
        parser.add_argument("--output", default=None, help="checkpoint path (default: PULSENET_CHECKPOINT_PATH)")
        parser.add_argument("--data-dir", default=str(settings.PULSERA_SHARED_DATA_DIR), help="../shared/data")
        parser.add_argument("--seed", type=int, default=plan.seed)
        parser.add_argument("--wearers", type=int, default=plan.wearers, help="synthetic training wearers")
        parser.add_argument("--days", type=int, default=plan.days)
        parser.add_argument("--epochs", type=int, default=plan.epochs)

    def handle(self, *args: object, **o: object) -> None:
        import torch

        torch.set_num_threads(2)
        out = Path(str(o["output"] or settings.PULSENET_CHECKPOINT_PATH))
        plan = TrainingPlan(
            seed=int(o["seed"]), wearers=int(o["wearers"]), days=int(o["days"]), epochs=int(o["epochs"])
        )  # type: ignore[call-overload]
        data_dir = Path(str(o["data_dir"]))
        if not data_dir.is_dir():
            self.stderr.write(f"No data at {data_dir}: calibrating from defaults, drift head on synthetic data only.")
        train(plan, data_dir, out, log=self.stdout.write)
        try:
            from inference.services import model_version_register

            version = model_version_register(path=out, model=load_checkpoint(out))
            self.stdout.write(f"Registered {version} for the admin.")
        except DatabaseError as exc:
            self.stderr.write(f"Checkpoint written; not registered in the database ({exc}). Run migrate first.")
