"""Training is seeded: the same plan gives the same checkpoint, loadable, with every threshold."""

from __future__ import annotations

import torch

from inference.detectors.pulsenet import load_checkpoint
from inference.detectors.schema import KINDS, TACHYCARDIA_WITHOUT_MOTION
from inference.detectors.training import TrainingPlan, train

TINY = TrainingPlan(seed=3, wearers=6, days=4, val_wearers=4, epochs=1, drift_people=16, drift_days=60)


def test_the_same_plan_trains_the_same_checkpoint(tmp_path):
    missing = tmp_path / "no-data"  # defaults, synthetic drift histories only
    meta = train(TINY, missing, tmp_path / "a.pt", log=lambda m: None)
    train(TINY, missing, tmp_path / "b.pt", log=lambda m: None)
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    for name, weights in a.net.state_dict().items():
        assert torch.equal(weights, b.net.state_dict()[name]), name
    assert a.thresholds == b.thresholds
    assert set(a.thresholds) == {*KINDS, TACHYCARDIA_WITHOUT_MOTION}
    assert (meta["seed"], meta["version"], a.meta["calibration"]["source"]) == (
        3,
        a.version,
        "defaults (no CC BY data found)",
    )
    assert "Not trained on the Stanford set" in a.meta["data"]

    other = train(TrainingPlan(**{**TINY.__dict__, "seed": 4}), missing, tmp_path / "c.pt", log=lambda m: None)
    assert other["seed"] == 4
    c = load_checkpoint(tmp_path / "c.pt")
    assert not torch.equal(a.net.state_dict()["acute.0.weight"], c.net.state_dict()["acute.0.weight"])
