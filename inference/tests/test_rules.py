"""The safety rule floor (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inference.rules import rules_evaluate

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@dataclass
class R:
    recorded_at: datetime
    heart_rate: float | None = 70
    spo2: float | None = 97
    steps: int | None = 0
    motion_g: float | None = 1.0


def series(minutes: int = 5, every_s: int = 30, **values) -> list[R]:
    return [R(recorded_at=T0 + timedelta(seconds=i * every_s), **values) for i in range(minutes * 60 // every_s)]


def kinds(readings) -> list[str]:
    return [hit.kind for hit in rules_evaluate(readings)]


def test_calm_readings_fire_nothing():
    assert kinds(series()) == []


def test_sustained_desaturation_fires_with_its_lowest_value():
    hits = rules_evaluate(series(spo2=84))
    assert [(h.kind, h.severity, h.value) for h in hits] == [("desaturation", "critical", 84)]
    assert "84%" in hits[0].explanation


def test_one_low_reading_is_not_sustained():
    readings = series()
    readings[-1].spo2 = 80
    assert kinds(readings) == []


def test_high_heart_rate_fires_only_at_rest():
    assert kinds(series(heart_rate=165)) == ["tachycardia"]
    assert kinds(series(heart_rate=165, steps=80, motion_g=1.6)) == []  # running


def test_low_heart_rate_fires():
    assert kinds(series(heart_rate=36)) == ["bradycardia"]


def test_too_few_or_bunched_readings_do_not_fire():
    assert kinds(series(minutes=1, every_s=30, spo2=80)) == []  # 2 readings
    bunched = [R(recorded_at=T0 + timedelta(seconds=i), spo2=80) for i in range(10)]
    assert kinds(bunched) == []


def test_missing_values_are_not_alarms():
    assert kinds(series(heart_rate=None, spo2=None)) == []
