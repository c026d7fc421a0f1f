"""The real test bed's injections: a drift only where the wearer's data could show one, and draws
that are independent of each other. Built here from small CSVs in the Stanford set's format."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from inference.detectors import evaluation as ev
from inference.detectors import synthetic as syn
from inference.detectors.report import (
    APPLE,
    SHIPPED,
    drifts_per_person,
    false_alarms_day_by_day,
    figures_with_intervals,
    in_short,
)
from inference.detectors.schema import DRIFT
from inference.detectors.series import MinuteSeries

DAY = ev.DAY
START = datetime(2020, 3, 1, tzinfo=UTC)


def _series(days: int, worn) -> MinuteSeries:  # type: ignore[no-untyped-def]
    """A resting trace (heart rate 60-70, no steps) over `days`, worn on the days `worn(day)` says."""
    rng = np.random.default_rng(0)
    start = int(START.timestamp()) // 60
    series = MinuteSeries.empty(start, days * DAY)
    hr = 65 + rng.normal(0, 3, days * DAY)
    for d in range(days):
        if not worn(d):
            hr[d * DAY : (d + 1) * DAY] = np.nan
    series.values["heart_rate"][:] = hr
    series.values["steps"][:] = np.where(np.isfinite(hr), 0.0, np.nan)
    series.last_ts[:] = np.where(np.isfinite(hr), (start + np.arange(days * DAY)) * 60.0, np.nan)
    return series


def _write_person(folder: Path, name: str, days: int) -> None:
    rng = np.random.default_rng(len(name))
    with gzip.open(folder / f"{name}_minute.csv.gz", "wt", compresslevel=1) as fh:
        fh.write("datetime,hr_mean_bpm,steps\n")
        for m in range(days * DAY):
            t = (START + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S")
            fh.write(f"{t},{65 + rng.normal(0, 3):.1f},0\n")


def test_a_drift_is_injected_only_where_the_watch_was_worn_and_after_weeks_of_normal():
    first = int(START.timestamp()) // 60 // DAY

    # 100 days: worn for 40, off for 20 (on the charger), back for 40
    def worn(d: int) -> bool:
        return d < 40 or d >= 60

    series = _series(100, worn)
    onsets = set()
    for seed in range(60):
        onset = ev._drift_onset(np.random.default_rng(seed), series)
        assert onset is not None
        d = onset - first
        onsets.add(d)
        assert worn(d) and worn(d + 1) and worn(d + 2)  # its first 3 days are worn
        assert sum(worn(k) for k in range(d - 28, d)) >= 14  # with a normal before it
    assert min(onsets) >= 28 and max(onsets) <= 90  # 28 days in, 10 before the end
    assert any(d < 40 for d in onsets) and any(d >= 74 for d in onsets)  # both stretches can hold one
    assert not any(60 <= d < 74 for d in onsets)  # never onto a wearer just back
    # nowhere qualifies: no drift at all, rather than one nothing could see
    assert ev._drift_onset(np.random.default_rng(1), _series(60, lambda d: d % 2 == 0)) is None


def test_moving_the_drift_redraws_no_acute_event(monkeypatch):
    series = _series(70, lambda d: True)
    first = series.start // DAY
    before = ev._inject(series.window(series.start, series.end), seed=7, person=3)
    monkeypatch.setattr(ev, "_drift_onset", lambda rng, s: first + 50)
    after = ev._inject(series.window(series.start, series.end), seed=7, person=3)
    drift_before = next(e for e in before if e.kind == DRIFT).onset // DAY
    assert drift_before != first + 50

    def acute(events, skip):  # type: ignore[no-untyped-def]
        return [(e.kind, e.onset, e.end) for e in events if e.kind != DRIFT and e.onset // DAY not in skip]

    near = {d for onset in (drift_before, first + 50) for d in range(onset - 1, onset + 19)}
    assert acute(before, near) == acute(after, near)
    assert len(acute(before, near)) >= 5


def test_each_draw_injects_its_own_events_into_its_own_copy_of_the_people(tmp_path):
    folder = tmp_path / "stanford_covid_fitbit"
    folder.mkdir()
    for name in ("PERSONA", "PERSONB"):
        _write_person(folder, name, 42)
    [one_a, one_b] = ev.stanford_bed(tmp_path, seed=11)
    pooled = ev.stanford_bed(tmp_path, seed=11, draws=3)
    assert [w.name for w in pooled] == [f"PERSON{p}#{k}" for p in "AB" for k in (1, 2, 3)]
    # the first draw is the one-draw bed, the others are their own
    assert pooled[0].events == one_a.events and pooled[3].events == one_b.events
    assert pooled[0].events != pooled[1].events != pooled[2].events
    assert all(any(e.kind == DRIFT for e in w.events) for w in pooled)
    # an injection never leaks into another draw's copy of the same person
    raised = [np.nanmean(w.series.values["heart_rate"]) for w in pooled[:3]]
    assert len(set(np.round(raised, 6))) == 3


def test_false_alarms_are_also_counted_per_person_with_the_draws_pooled():
    def person(name: str, k: int) -> ev.TestWearer:
        series = _series(5, lambda d: True)
        first = series.start // DAY
        return ev.TestWearer(f"{name}#{k}", series, [], untouched_days={first + d for d in range(5)})

    bed = [person("A", 1), person("A", 2), person("B", 1), person("B", 2)]

    def one_false_alarm_for_a(series: MinuteSeries) -> list[ev.Hit]:
        alarmed = series is bed[0].series
        return [ev.Hit("tachycardia", series.start + DAY + 60.0, series.start + DAY + 50.0)] if alarmed else []

    result = ev.evaluate(bed, {"d": one_false_alarm_for_a}, log=lambda _: None)["d"]
    no_drift = {"drifts": 0.0, "drifts_caught": 0.0, "drift_false_alarms": 0.0}
    assert result["_per_person"] == {
        "A": {"untouched_days": 10.0, "false_alarms": 0.1, **no_drift},
        "B": {"untouched_days": 10.0, "false_alarms": 0.0, **no_drift},
    }
    assert result["all acute"]["false_alarms"] == 1 / 20
    first = bed[0].series.start // DAY
    assert result["_false_days"] == [[first + 1], [], [], []]  # the day of each, per wearer


def test_the_false_alarm_target_read_day_by_day_against_the_apple_style_rule():
    """On the days the Apple-style rule raises false alarms, ours must be no more than its; on the
    other untouched days, at most 0.05 a wearer-day."""
    bed = [ev.TestWearer(f"P#{k}", _series(1, lambda d: True), [], untouched_days=set(range(50))) for k in (1, 2)]
    results = {
        SHIPPED: {"_false_days": [[3, 3, 10], [7]]},  # two on a day the rule fired, two on days it did not
        APPLE: {"_false_days": [[3, 3, 3], [40]]},
    }
    there, elsewhere = false_alarms_day_by_day(results, bed)
    assert there.row() == (
        "| all acute, on the 2 days the Apple-style rule raised a false alarm: no more than its 4 | 2 | yes |"
    )
    assert elsewhere.row() == (
        "| all acute, on the other 98 untouched days: false alarms <= 0.05 / wearer-day | 0.020 | yes |"
    )
    results[SHIPPED]["_false_days"] = [[3, 3, 3, 3, 3], list(range(10))]
    there, elsewhere = false_alarms_day_by_day(results, bed)
    assert (there.measured, there.met) == ("5", False)
    assert (elsewhere.measured, elsewhere.met) == ("0.102", False)


def test_the_interval_resamples_people_not_draws():
    """Two people, ten draws each: one caught every event, the other none. Drawn again as people,
    a bed is all the first (1.0), all the second (0.0) or half and half; drawn as twenty independent
    draws, it would seldom stray far from 0.5."""
    people = ["A"] * 10 + ["B"] * 10
    caught, events = [1.0] * 10 + [0.0] * 10, [1.0] * 20
    assert ev.people_interval(people, caught, events) == (0.0, 1.0)
    # the same rate for everyone: nothing to move
    assert ev.people_interval(["A", "B", "C"], [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == (0.5, 0.5)
    # per wearer-month: one false alarm in 30 days each
    assert ev.people_interval(["A", "B"], [1.0, 1.0], [30.0, 30.0], per=30.0) == (1.0, 1.0)
    assert ev.people_interval(["A"], [0.0], [0.0]) is None
    # seeded: the same figures every run of the report
    rates = ([1.0, 0.0, 3.0, 1.0], [4.0, 5.0, 6.0, 2.0])
    assert ev.people_interval(list("ABCD"), *rates) == ev.people_interval(list("ABCD"), *rates)


def test_the_report_gives_each_real_bed_figure_with_its_interval():
    def person(name: str, k: int) -> ev.TestWearer:
        series = _series(5, lambda d: True)
        first = series.start // DAY
        onset = series.start + 2 * DAY + 600
        return ev.TestWearer(
            f"{name}#{k}",
            series,
            [syn.Event("tachycardia", onset, onset + 20)],
            untouched_days={first + d for d in (0, 1, 3, 4)},
        )

    bed = [person("A", 1), person("A", 2), person("B", 1), person("B", 2)]

    def catches_a(series: MinuteSeries) -> list[ev.Hit]:  # A's events, and a false alarm on A's day 1
        w = next(w for w in bed if w.series is series)
        if not w.name.startswith("A"):
            return []
        onset = w.events[0].onset
        return [
            ev.Hit("tachycardia", onset + 2.0, onset),
            ev.Hit("tachycardia", series.start + DAY + 60.0, series.start + DAY + 50.0),
        ]

    results = ev.evaluate(bed, {SHIPPED: catches_a, APPLE: lambda s: []}, log=lambda _: None)
    rows = {
        line.split(" | ")[0].lstrip("| "): line
        for line in figures_with_intervals(results, bed)
        if line.startswith("| ")
    }
    assert results[SHIPPED]["tachycardia"]["recall"] == 0.5
    assert rows["tachycardia recall"] == "| tachycardia recall | 0.500 | 0.000-1.000 | >= 0.95 |"
    # two false alarms on 16 untouched days, all of them on days the Apple-style rule raised none
    assert rows["all acute false alarms / wearer-day, all untouched days"].startswith(
        "| all acute false alarms / wearer-day, all untouched days | 0.125 | 0.000-0.250 |"
    )
    assert (
        "| 0.125 | 0.000-0.250 |"
        in rows["all acute false alarms / wearer-day, the days the Apple-style rule raised none"]
    )
    assert rows["drift recall"] == "| drift recall | n/a | n/a | >= 0.80 |"


def test_drifts_are_counted_per_person_with_the_draws_pooled():
    def person(name: str, k: int) -> ev.TestWearer:
        series = _series(40, lambda d: True)
        first = series.start // DAY
        onset = (first + 30) * DAY
        return ev.TestWearer(
            f"{name}#{k}",
            series,
            [syn.Event(DRIFT, onset, onset + 5 * DAY)],
            untouched_days={first + d for d in range(29)},
        )

    bed = [person("A", 1), person("A", 2), person("B", 1), person("B", 2)]

    def catches_a_once_and_b_falsely(series: MinuteSeries) -> list[ev.Hit]:
        first = series.start // DAY
        if series is bed[0].series:  # A's first draw: its drift, a day after the onset
            return [ev.Hit(DRIFT, (first + 31) * DAY, (first + 30) * DAY)]
        if bed[2].series is series:  # B's first draw: a drift on an untouched day
            return [ev.Hit(DRIFT, (first + 10) * DAY + 720.0, (first + 9) * DAY)]
        return []

    results = ev.evaluate(bed, {SHIPPED: catches_a_once_and_b_falsely}, log=lambda _: None)
    rows = [line for line in drifts_per_person(results) if line.startswith("| ") and "---" not in line][1:]
    assert rows == [
        "| B | 0 of 2 | 0.52 |",  # one in 58 untouched days: 30 / 58 a wearer-month
        "| A | 1 of 2 | 0.00 |",
    ]


def test_the_report_opens_with_the_targets_met_and_the_ones_missed():
    """A bed where half the tachycardias are caught (in 2 minutes), with a false alarm: the summary counts the
    targets, names each one missed with its figure and puts the Apple-style rule beside ours."""
    bed = [
        ev.TestWearer(
            f"{name}#1",
            (series := _series(5, lambda d: True)),
            [syn.Event("tachycardia", series.start + 2 * DAY + 600, series.start + 2 * DAY + 620)],
            untouched_days={series.start // DAY + d for d in (0, 1, 3, 4)},
        )
        for name in ("A", "B")
    ]

    def catches_a(series: MinuteSeries) -> list[ev.Hit]:
        if series is not bed[0].series:
            return []
        onset = bed[0].events[0].onset
        return [
            ev.Hit("tachycardia", onset + 2.0, onset),
            ev.Hit("tachycardia", series.start + DAY + 60.0, series.start + DAY + 50.0),
        ]

    results = {"stanford": ev.evaluate(bed, {SHIPPED: catches_a, APPLE: lambda s: []}, log=lambda _: None)}
    lines = in_short(results, {"stanford": bed})
    assert (
        lines[0]
        == "- **Real traces (2 Fitbit wearers, events injected into their own heart rate)**: 2 of 6 targets met."
    )
    assert lines[1] == (
        "  Acute events (a racing heart at rest): 50 % caught, 2 min after the onset at the median (the Apple-style "
        "rule: none caught); false alarms 0.125 a wearer-day, one every 8 days (the Apple-style rule: 0.000)."
    )
    missed = lines[2]
    assert missed.startswith("  Not met: tachycardia: recall >= 0.95 (measured 0.500); ")
    assert "median delay" not in missed  # met
    assert missed.endswith("; all acute: false alarms <= 0.05 / wearer-day (measured 0.125).")
    assert len(lines) == 3  # no drifts on this bed: no drift line
