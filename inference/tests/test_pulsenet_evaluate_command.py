"""`pulsenet_evaluate`: the tables and the ablation, written to a report (a small synthetic bed here)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command


def test_it_writes_the_targets_the_ablation_and_every_detector_per_kind(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "pulsenet.md"
    call_command(
        "pulsenet_evaluate",
        data_dir=str(tmp_path / "no-data"),
        output=str(report),
        synthetic_wearers=3,
        days=30,
        seed=5,
        stdout=out,
        stderr=err,
    )
    text = report.read_text()
    assert "## Held-out synthetic wearers" in text and "## Real traces" not in text
    in_short = text.split("## In short")[1].split("##")[0]
    assert "- **Held-out synthetic wearers (3)**: " in in_short and " targets met." in in_short
    assert "| all acute: recall >= 0.95 |" in text and "| drift: <= 1 false alarm / wearer-month |" in text
    for name in ("Rule floor alone", "Rules + personal baselines (no model)", "Rules + PulseNet (shipped)"):
        assert f"| {name} | " in text.split("### Ablation")[1].split("###")[0]
    per_kind = text.split("### Per kind and detector")[1]
    for detector in (
        "Apple-style rule",
        "Rolling per-hour z-score",
        "CuSum on resting HR",
        "Rules + PulseNet (shipped)",
    ):
        assert f"| bradycardia | {detector} |" in per_kind
    # without ../shared/data: no real bed, and a warning that the synthetic bed is not the report's
    assert "Skipping the real test bed" in err.getvalue()
    assert "will differ from docs/pulsenet.md" in err.getvalue()
    assert f"Wrote {report}" in out.getvalue()


def test_it_needs_at_least_one_draw_of_the_real_bed(tmp_path):
    (tmp_path / "stanford_covid_fitbit").mkdir()
    with pytest.raises(CommandError, match="--real-draws must be at least 1"):
        call_command("pulsenet_evaluate", data_dir=str(tmp_path), output="", real_draws=0, synthetic_wearers=1, days=3)
