"""PulseNet: a small PyTorch model over baseline-normalised windows, and its checkpoint.

Two heads share one checkpoint: the acute head scores each minute's 15-minute window for every
acute kind (multi-label sigmoid); the drift head scores a day's resting heart rate, HRV and activity
against the wearer's reference weeks. Both are small MLPs: they run thousands of windows per second
on one CPU core, and the checkpoint is a few hundred kilobytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .features import N_DRIFT_INPUTS, N_INPUTS
from .schema import ACUTE_KINDS

FORMAT = "pulsenet/1"
BATCH = 8192


class CheckpointError(Exception):
    """The checkpoint is missing, unreadable or not a PulseNet checkpoint."""


class PulseNet(nn.Module):
    def __init__(self, hidden: int = 96) -> None:
        super().__init__()
        self.acute = nn.Sequential(
            nn.Linear(N_INPUTS, hidden), nn.ReLU(), nn.Linear(hidden, 64), nn.ReLU(), nn.Linear(64, len(ACUTE_KINDS))
        )
        self.drift = nn.Sequential(
            nn.Linear(N_DRIFT_INPUTS, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # logits of the acute head
        return self.acute(x)


@dataclass
class LoadedModel:
    net: PulseNet
    meta: dict[str, Any]
    thresholds: dict[str, float] = field(default_factory=dict)  # kind -> score that fires

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def score_acute(self, inputs: np.ndarray) -> np.ndarray:
        """(k, N_INPUTS) -> (k, len(ACUTE_KINDS)) probabilities, in batches, one forward pass each."""
        if len(inputs) == 0:
            return np.zeros((0, len(ACUTE_KINDS)), dtype=np.float32)
        out = []
        with torch.inference_mode():
            for lo in range(0, len(inputs), BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(inputs[lo : lo + BATCH], dtype=np.float32))
                out.append(torch.sigmoid(self.net.acute(batch)).numpy())
        return np.concatenate(out)

    def score_drift(self, inputs: np.ndarray) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros(0, dtype=np.float32)
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
            return torch.sigmoid(self.net.drift(batch)).numpy()[:, 0]


def save_checkpoint(path: Path, net: PulseNet, meta: dict[str, Any], thresholds: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float32).clone() for k, v in net.state_dict().items()}
    torch.save({"format": FORMAT, "state_dict": state, "meta": meta, "thresholds": thresholds}, path)


def load_checkpoint(path: Path) -> LoadedModel:
    """Load and sanity-check a checkpoint (weights only: no pickled code is ever executed)."""
    if not Path(path).is_file():
        raise CheckpointError(f"PulseNet checkpoint not found at {path}. Train one: manage.py pulsenet_train")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"PulseNet checkpoint at {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint.")
    net = PulseNet()
    try:
        net.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(f"PulseNet checkpoint at {path} does not fit this code's model: {exc}") from exc
    net.eval()
    thresholds = {str(k): float(v) for k, v in data.get("thresholds", {}).items()}
    return LoadedModel(net=net, meta=dict(data.get("meta", {})), thresholds=thresholds)
