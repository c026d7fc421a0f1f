"""Live detection after ingest: the pipeline judges complete minutes and opens (or updates) episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from episodes.models import Episode
from inference.detectors.features import resting_rate_rise
from inference.detectors.pipeline import RISE_LINE, WearerState
from inference.detectors.schema import DAY_STARTS_AT_MINUTE, PAGES_AS_ONE
from inference.models import DetectionSettings, ModelVersion, WearerDetectorState
from inference.services import pulsenet, wearers_detect_run
from inference.tasks import wearers_detect as wearers_detect_task
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput


def ingest(device, *, spo2: float, minutes: int = 4, start_seq: int = 0, heart_rate: float = 75.0):
    """Two samples a minute for `minutes` minutes, then one in the next minute (which completes them)."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes)
    samples = [
        SampleInput(
            sequence=start_seq + i,
            recorded_at=start + timedelta(seconds=30 * i),
            spo2=spo2,
            heart_rate=heart_rate,
            steps=0,
        )
        for i in range(minutes * 2 + 1)
    ]
    samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))


@pytest.fixture(autouse=True)
def fresh_model():
    pulsenet(reload=True)
    yield
    pulsenet(reload=True)


def test_sustained_desaturation_opens_one_episode(device):
    ingest(device, spo2=84)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 0  # those minutes are judged already
    episode = Episode.objects.get(wearer=device.wearer)
    assert (episode.kind, episode.source, episode.severity) == ("desaturation", "rule", "critical")
    assert "84%" in episode.explanation
    state = WearerDetectorState.objects.get(wearer=device.wearer)
    assert state.processed_until is not None and state.model_version is not None
    assert ModelVersion.objects.get() == state.model_version


def test_a_run_while_the_newest_minute_is_still_filling_judges_nothing_and_loads_nothing(
    device, django_assert_max_num_queries
):
    ingest(device, spo2=97)
    wearers_detect_run(wearer_ids=[device.wearer_id])
    state = WearerDetectorState.objects.get(wearer=device.wearer)
    # More samples inside the minute being filled: no complete minute to judge, so the run stops
    # after locking the state row and one index query (it does not load the look-back window).
    minute = state.processed_until
    more = [
        SampleInput(sequence=100 + i, recorded_at=minute + timedelta(seconds=40 + 5 * i), spo2=84.0) for i in range(3)
    ]
    samples_ingest(device=device, batch=ParsedBatch(samples=more, rejected=[], battery_pct=None))
    with django_assert_max_num_queries(5):
        assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 0
    assert WearerDetectorState.objects.get(wearer=device.wearer).processed_until == minute
    # A sample in the next minute completes it: now it is judged.
    later = SampleInput(sequence=200, recorded_at=minute + timedelta(seconds=61), spo2=84.0)
    samples_ingest(device=device, batch=ParsedBatch(samples=[later], rejected=[], battery_pct=None))
    wearers_detect_run(wearer_ids=[device.wearer_id])
    assert WearerDetectorState.objects.get(wearer=device.wearer).processed_until == minute + timedelta(minutes=1)


def test_new_evidence_on_an_active_episode_does_not_open_another(device):
    ingest(device, spo2=84)
    wearers_detect_run(wearer_ids=[device.wearer_id])
    WearerDetectorState.objects.filter(wearer=device.wearer).update(state={}, processed_until=None)  # re-judge
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1
    assert Episode.objects.filter(wearer=device.wearer).count() == 1


def test_normal_vitals_open_nothing(device):
    ingest(device, spo2=97)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 0
    assert not Episode.objects.exists()


def test_a_clinicians_thresholds_apply_to_that_wearer(device):
    DetectionSettings.objects.create(wearer=device.wearer, spo2_low=80.0)
    ingest(device, spo2=84)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 0


def test_a_broken_checkpoint_falls_back_to_the_rule_floor(device, settings, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x00garbage")
    settings.PULSENET_CHECKPOINT_PATH = broken
    assert pulsenet(reload=True).model is None
    ingest(device, spo2=84)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1
    assert Episode.objects.get().source == "rule"
    assert WearerDetectorState.objects.get().model_version is None


def test_check_reports_a_missing_checkpoint(db, settings, tmp_path, capsys):
    settings.PULSENET_CHECKPOINT_PATH = tmp_path / "missing.pt"
    call_command("check")
    err = capsys.readouterr().err
    assert "inference.W001" in err and "missing.pt" in err


def test_health_says_which_detector_runs(db, client, settings, tmp_path):
    body = client.get("/api/v1/health/").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["pulsenet"]["version"] and "checkpoint" not in body["pulsenet"]
    settings.PULSENET_CHECKPOINT_PATH = tmp_path / "missing.pt"
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["pulsenet"]["detecting_with"] == "rule floor + personal baselines"


def test_ingest_enqueues_one_detection_task_per_store(device, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DETECTION_ON_INGEST = True
    with (
        mock.patch.object(wearers_detect_task, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ingest(device, spo2=97)
    apply_async.assert_called_once_with(args=[[device.wearer_id]], queue="detection")


def test_a_broker_outage_does_not_fail_ingest(device, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DETECTION_ON_INGEST = True
    with (
        mock.patch.object(wearers_detect_task, "apply_async", side_effect=ConnectionError("redis down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ingest(device, spo2=97)
    assert device.samples.count() == 9


def test_a_new_wearers_first_partial_minute_is_remembered_so_later_runs_are_cheap(
    device, django_assert_max_num_queries
):
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)

    def send(first_seq: int, seconds: list[int]) -> None:
        samples = [
            SampleInput(sequence=first_seq + i, recorded_at=minute + timedelta(seconds=s), heart_rate=70.0)
            for i, s in enumerate(seconds)
        ]
        samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))

    send(0, [5, 10])
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 0
    state = WearerDetectorState.objects.get(wearer=device.wearer)
    assert state.processed_until == minute  # nothing judged yet: the first minute to judge
    send(10, [20, 30])
    with django_assert_max_num_queries(5):
        wearers_detect_run(wearer_ids=[device.wearer_id])
    send(20, [65])  # the next minute begins: the first one is complete and judged
    wearers_detect_run(wearer_ids=[device.wearer_id])
    assert WearerDetectorState.objects.get(wearer=device.wearer).processed_until == minute + timedelta(minutes=1)


def test_the_minute_of_the_wearers_last_step_is_kept_between_runs(device):
    """PulseNet sees how long the wearer has been still, and each run reads only its look-back of
    recent samples: the minute of their last step lives in the detector state."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=30)

    def send(minutes: range, steps_at: int | None = None) -> None:
        samples = [
            SampleInput(
                sequence=m,
                recorded_at=start + timedelta(minutes=m, seconds=10),
                heart_rate=70.0,
                steps=12 if m == steps_at else 0,
            )
            for m in minutes
        ]
        samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))

    def last_step() -> datetime:
        state = WearerDetectorState.objects.get(wearer=device.wearer).state
        return datetime.fromtimestamp(state["last_step"] * 60, tz=UTC)  # this wearer's clock is UTC

    send(range(21), steps_at=1)  # judged up to minute 19 (20 is the newest, maybe still filling)
    wearers_detect_run(wearer_ids=[device.wearer_id])
    assert last_step() == start + timedelta(minutes=1)
    send(range(21, 24))  # this run re-reads from minute 5: the step is no longer in its samples
    wearers_detect_run(wearer_ids=[device.wearer_id])
    assert WearerDetectorState.objects.get(wearer=device.wearer).processed_until == start + timedelta(minutes=23)
    assert last_step() == start + timedelta(minutes=1)
    send(range(24, 27), steps_at=25)
    wearers_detect_run(wearer_ids=[device.wearer_id])
    assert last_step() == start + timedelta(minutes=25)


def test_the_task_judges_busy_wearers_again_a_second_later_on_the_same_queue_a_few_times_at_most():
    from inference.services import DetectRun

    with (
        mock.patch("inference.services.wearers_detect_run", return_value=DetectRun(found=2, busy=[7])),
        mock.patch.object(wearers_detect_task, "apply_async") as again,
    ):
        result = wearers_detect_task.apply(args=[[7, 8]], routing_key="urgent")
        assert result.get() == 2
        assert again.call_args.kwargs == {"args": [[7]], "kwargs": {"attempt": 1}, "queue": "urgent", "countdown": 1}
        again.reset_mock()
        wearers_detect_task.apply(args=[[7]], kwargs={"attempt": 3}).get()
        assert not again.called


def test_the_task_does_not_run_again_when_nobody_was_busy():
    from inference.services import DetectRun

    with (
        mock.patch("inference.services.wearers_detect_run", return_value=DetectRun(found=0, busy=[])),
        mock.patch.object(wearers_detect_task, "apply_async") as again,
    ):
        wearers_detect_task.apply(args=[[7]]).get()
    assert not again.called


def test_the_task_keeps_its_result_when_the_broker_refuses_the_second_run():
    from inference.services import DetectRun

    with (
        mock.patch("inference.services.wearers_detect_run", return_value=DetectRun(found=1, busy=[7])),
        mock.patch.object(wearers_detect_task, "apply_async", side_effect=ConnectionError("redis down")) as again,
    ):
        assert wearers_detect_task.apply(args=[[7]]).get() == 1
    assert again.called


def test_wall_clock_follows_the_wearers_utc_offset_across_a_dst_change():
    import zoneinfo

    import numpy as np

    from inference.services import _wall_clock

    tz = zoneinfo.ZoneInfo("Europe/Berlin")  # clocks went back 03:00 -> 02:00 local at 01:00 UTC, 2026-10-25
    change = datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp()
    epoch = np.array([change - 90, change - 30.5, change, change + 59.9, change + 3600])
    expected = [t + datetime.fromtimestamp(t, tz).utcoffset().total_seconds() for t in epoch]
    assert _wall_clock(epoch, tz).tolist() == expected
    assert expected[1] - expected[2] == 3600 - 30.5  # the hour repeats on the wall clock
    assert _wall_clock(np.zeros(0), tz).size == 0


def test_a_racing_heart_that_starts_with_a_jump_opens_one_episode(device):
    """Live, end to end: a jump from 62 to 160 at rest that stays up is a sudden spike and, ten minutes
    on, the rule floor's tachycardia. One event: one episode, paged once."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=60)
    samples = [
        SampleInput(
            sequence=i,
            recorded_at=start + timedelta(seconds=30 * i),
            heart_rate=62.0 if i < 60 else 160.0,
            steps=0,
        )
        for i in range(121)
    ]
    samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1  # the detector reports it once
    episode = Episode.objects.get(wearer=device.wearer)  # and an episode of either kind takes the other's
    assert episode.kind in ("hr_spike", "tachycardia")
    assert episode.severity == "high"


def test_episodes_and_the_detector_agree_on_which_kinds_are_one_event():
    for kinds in PAGES_AS_ONE.values():
        for kind in kinds:
            assert set(Episode.SAME_EVENT_KINDS[kind]) == set(kinds)
    assert {k for kinds in PAGES_AS_ONE.values() for k in kinds} == set(Episode.SAME_EVENT_KINDS)


def test_a_raised_night_reported_by_the_resting_rate_rise_opens_a_drift_episode(device):
    """Drift, live: the first minute of a new detector day folds the night before into the wearer's
    history, and the rise in nightly resting heart rate reports it. The wearer is 10 nights old, too
    new for the drift head's reference (35 to 5 days before), so only the rise can."""
    first = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=4)
    minute = int(first.timestamp()) // 60  # the wearer's wall clock: UTC
    day = (minute - DAY_STARTS_AT_MINUTE) // 1440
    state = WearerState(next_minute=minute)
    baseline = state.baseline
    baseline.history = [[day - 1 - k, 60.0 + (k % 3) - 1, None, 8000.0, 1400] for k in range(1, 11)]
    baseline.day = day - 1  # the night being accumulated: 300 resting minutes at 75
    baseline.rest_hr_hist[75 - 30] = 300
    baseline.day_minutes = 1000
    WearerDetectorState.objects.create(wearer=device.wearer, state=state.to_dict(), processed_until=first)
    ingest(device, spo2=97, heart_rate=70)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1
    episode = Episode.objects.get(wearer=device.wearer)
    assert (episode.kind, episode.source, episode.severity) == ("drift", "baseline", "medium")
    assert "resting heart rate 75 last night, your usual 60" in episode.explanation
    saved = WearerState.from_dict(WearerDetectorState.objects.get(wearer=device.wearer).state)
    # (near noon the minutes ingested can reach into the next day too, which folds one more, empty day)
    assert [row[:2] for row in saved.baseline.history if row[0] == day - 1] == [[day - 1, 75.0]]
    assert saved.drift.last_fired == day - 1 and not saved.drift.armed  # one report, not one a night
    # the rise reported is kept through the database, so the same drift climbing further is reported again
    assert saved.drift.reported_rise == pytest.approx(resting_rate_rise(saved.baseline.history, day - 1))
    assert saved.drift.reported_rise >= RISE_LINE


def ingest_trace(device, heart_rates: list[float]):
    """One sample a minute, still (no steps, no motion), ending with the minute just begun (which
    completes the one before it)."""
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=len(heart_rates) - 1)
    samples = [
        SampleInput(sequence=i, recorded_at=start + timedelta(minutes=i), heart_rate=hr, steps=0, motion_g=0.01)
        for i, hr in enumerate(heart_rates)
    ]
    samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))


# 40 still minutes at 60-62 bpm, then 128 for 6 (and the minute just begun, which completes them): far
# under the rule floor's 150 at rest for 10 minutes, so only PulseNet (with the baseline) can see it.
RACING_AT_REST = [60.0 + (i % 3) for i in range(40)] + [128.0] * 7


def test_a_heart_racing_at_rest_opens_an_episode_from_pulsenet_where_no_rule_fires(device):
    ingest_trace(device, RACING_AT_REST)
    assert wearers_detect_run(wearer_ids=[device.wearer_id]).found == 1
    episode = Episode.objects.get(wearer=device.wearer)
    assert episode.kind in PAGES_AS_ONE["high_heart_rate"]
    assert episode.source == Episode.Source.MODEL and 0 < episode.score <= 1
    assert "128" in episode.explanation and "rest" in episode.explanation
    state = WearerDetectorState.objects.get(wearer=device.wearer)
    assert state.model_version is not None
