"""The `pulsenet_detect` contract: columns in, columns out, bad rows reported, good rows kept."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from inference.detectors.csvio import INPUT_COLUMNS, OUTPUT_COLUMNS

START = datetime.fromisoformat("2026-03-01T08:00:00")  # naive on purpose: the contract takes wall-clock times


def rows_for(wearer: str, start: datetime, minutes: int, desaturate_at: int | None = None, tz: str = ""):
    rng = random.Random(wearer)
    out = []
    for i in range(minutes):
        spo2 = (
            84.0 if desaturate_at is not None and desaturate_at <= i < desaturate_at + 6 else 97.0 + rng.uniform(-1, 1)
        )
        when = (start + timedelta(minutes=i)).isoformat() + tz
        hrv = "" if i % 3 else f"{45 + rng.uniform(-5, 5):.1f}"  # any vital may be empty
        out.append([wearer, when, f"{66 + rng.uniform(-2, 2):.1f}", hrv, f"{spo2:.1f}", "33.4", "0", "1.0"])
    return out


def run(tmp_path, rows, header=INPUT_COLUMNS, **kwargs):
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    dst = tmp_path / "out.csv"
    err = io.StringIO()
    call_command("pulsenet_detect", input=str(src), output=str(dst), stderr=err, **kwargs)
    with dst.open() as fh:
        return list(csv.DictReader(fh)), fh.name, err.getvalue()


def test_it_writes_one_row_per_detection_with_the_contract_columns(tmp_path):
    start = START
    rows = rows_for("alice", start, 180, desaturate_at=90) + rows_for("bob", start, 180)
    random.Random(1).shuffle(rows)  # unsorted, two wearers interleaved
    rows.append(["bob", "yesterday", "70", "", "", "", "", ""])  # a bad row: reported, the rest kept
    out, name, err = run(tmp_path, rows)
    with open(name) as fh:
        assert next(csv.reader(fh)) == list(OUTPUT_COLUMNS)
    desat = [r for r in out if r["kind"] == "desaturation"]
    assert [r["wearer_id"] for r in desat] == ["alice"]
    assert not [r for r in out if r["wearer_id"] == "bob"]
    detected = datetime.fromisoformat(desat[0]["detected_at"])
    assert start + timedelta(minutes=90) <= detected <= start + timedelta(minutes=93)  # within 3 minutes
    assert datetime.fromisoformat(desat[0]["onset"]) <= detected
    assert 0 < float(desat[0]["score"]) <= 1 and desat[0]["severity"] == "critical"
    assert "84%" in desat[0]["explanation"]
    assert "line" in err and "not ISO-8601" in err and "1 row(s) skipped" in err


def test_timestamps_with_an_offset_come_back_with_it(tmp_path):
    out, _, _ = run(tmp_path, rows_for("carol", START, 120, desaturate_at=60, tz="+02:00"))
    assert out and all(r["detected_at"].endswith("+02:00") for r in out)


def test_the_same_input_gives_the_same_output(tmp_path):
    rows = rows_for("dave", START, 150, desaturate_at=40)
    first, _, _ = run(tmp_path, rows)
    second, _, _ = run(tmp_path, list(reversed(rows)))
    assert first == second


def test_a_file_without_the_required_columns_is_refused(tmp_path):
    with pytest.raises(CommandError, match="Missing column"):
        run(tmp_path, [["x", "1"]], header=("who", "when"))


def test_a_missing_input_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("pulsenet_detect", input=str(tmp_path / "nope.csv"), output=str(tmp_path / "o.csv"))


def test_it_runs_without_a_model_when_asked(tmp_path):
    out, _, err = run(tmp_path, rows_for("erin", START, 120, desaturate_at=60), no_model=True)
    assert [r["kind"] for r in out] == ["desaturation"]
    assert "rule floor + baselines" in err
