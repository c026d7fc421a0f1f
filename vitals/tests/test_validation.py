"""The pure sample validation shared by REST and socket ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vitals.validation import BatchError, Reason, SampleInput, SampleRejection, batch_parse, sample_parse

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
LIMITS = {"now": NOW, "max_future": timedelta(minutes=5), "max_age": timedelta(days=7)}


def parse(raw):
    return sample_parse(raw, index=0, **LIMITS)


def good(**extra):
    return {"sequence": 7, "timestamp": "2026-11-23T17:59:00Z", "heart_rate": 72, **extra}


def test_it_accepts_a_plausible_sample():
    sample = parse(good(spo2=97.5, steps=12))
    assert isinstance(sample, SampleInput)
    assert sample.metrics() == {"heart_rate": 72.0, "spo2": 97.5, "steps": 12}
    assert sample.recorded_at == datetime(2026, 11, 23, 17, 59, tzinfo=UTC)


def test_it_accepts_offsets_other_than_utc():
    sample = parse(good(timestamp="2026-11-23T18:59:00+01:00"))
    assert isinstance(sample, SampleInput)
    assert sample.recorded_at == datetime(2026, 11, 23, 17, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        ("not an object", Reason.MALFORMED, "sample"),
        (good(sequence=None), Reason.MALFORMED, "sequence"),
        (good(sequence=-1), Reason.MALFORMED, "sequence"),
        (good(sequence=True), Reason.MALFORMED, "sequence"),
        (good(sequence="7"), Reason.MALFORMED, "sequence"),
        (good(timestamp="yesterday"), Reason.MALFORMED, "timestamp"),
        (good(timestamp="2026-11-23T17:59:00"), Reason.MALFORMED, "timestamp"),
        (good(timestamp=1700000000), Reason.MALFORMED, "timestamp"),
        (good(heart_rate="72"), Reason.MALFORMED, "heart_rate"),
        (good(heart_rate=True), Reason.MALFORMED, "heart_rate"),
        (good(steps=1.5), Reason.MALFORMED, "steps"),
        ({"sequence": 1, "timestamp": "2026-11-23T17:59:00Z"}, Reason.MALFORMED, "sample"),
        (good(heart_rate=400), Reason.OUT_OF_RANGE, "heart_rate"),
        (good(spo2=30), Reason.OUT_OF_RANGE, "spo2"),
        (good(skin_temp_c=60), Reason.OUT_OF_RANGE, "skin_temp_c"),
        (good(motion_g=-1), Reason.OUT_OF_RANGE, "motion_g"),
        (good(timestamp="2026-11-23T18:30:00Z"), Reason.IN_THE_FUTURE, "timestamp"),
        (good(timestamp="2026-11-01T18:00:00Z"), Reason.TOO_OLD, "timestamp"),
    ],
)
def test_it_rejects_with_a_reason(raw, reason, field):
    rejection = parse(raw)
    assert isinstance(rejection, SampleRejection)
    assert rejection.reason == reason
    assert field in rejection.errors


def test_a_malformed_field_wins_over_a_range_problem():
    rejection = parse(good(heart_rate=400, hrv_ms="x"))
    assert rejection.reason == Reason.MALFORMED
    assert set(rejection.errors) == {"hrv_ms"}


def test_unknown_fields_are_ignored_for_newer_firmware():
    assert isinstance(parse(good(ecg_lead="I")), SampleInput)


def test_a_batch_keeps_good_samples_and_rejects_bad_ones():
    batch = batch_parse(
        {"samples": [good(), good(sequence=8, spo2=20), "junk"], "battery_pct": 50}, max_samples=10, **LIMITS
    )
    assert [s.sequence for s in batch.samples] == [7]
    assert [(r.index, r.sequence, r.reason) for r in batch.rejected] == [
        (1, 8, Reason.OUT_OF_RANGE),
        (2, None, Reason.MALFORMED),
    ]
    assert batch.battery_pct == 50


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ([], "malformed_batch"),
        ({"samples": "x"}, "malformed_batch"),
        ({}, "malformed_batch"),
        ({"samples": []}, "empty_batch"),
        ({"samples": [good()] * 11}, "batch_too_large"),
        ({"samples": [good()], "battery_pct": 140}, "malformed_batch"),
    ],
)
def test_a_bad_envelope_rejects_the_batch(payload, code):
    with pytest.raises(BatchError) as excinfo:
        batch_parse(payload, max_samples=10, **LIMITS)
    assert excinfo.value.code == code
