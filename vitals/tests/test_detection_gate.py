"""The detection gate: a wearer's routine run is enqueued when a store may complete a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from django.utils import timezone

from tests.factories import DeviceFactory
from vitals.detection_gate import DetectionGate
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput

T0 = datetime(2026, 11, 24, 8, 0, 5, tzinfo=UTC)


def test_a_wearer_passes_first_then_once_per_new_minute():
    gate = DetectionGate()
    assert gate.due({1: T0}, now=0, requeue_seconds=20) == [1]
    gate.enqueued({1: T0}, [1], now=0)
    assert gate.due({1: T0 + timedelta(seconds=45)}, now=5, requeue_seconds=20) == []  # same minute
    assert gate.due({1: T0 + timedelta(seconds=50)}, now=5, requeue_seconds=20) == []
    assert gate.due({1: T0 + timedelta(seconds=50), 2: T0}, now=5, requeue_seconds=20) == [2]  # 2 is new
    assert gate.due({1: T0 + timedelta(seconds=55)}, now=6, requeue_seconds=20) == [1]  # 08:01:00


def test_a_wearer_is_enqueued_again_after_the_requeue_time_even_in_the_same_minute():
    gate = DetectionGate()
    gate.enqueued({1: T0}, [1], now=100)
    assert gate.due({1: T0 + timedelta(seconds=30)}, now=119, requeue_seconds=20) == []
    assert gate.due({1: T0 + timedelta(seconds=30)}, now=120, requeue_seconds=20) == [1]


def test_a_backfill_of_older_minutes_does_not_move_the_gate_back():
    gate = DetectionGate()
    gate.enqueued({1: T0}, [1], now=0)
    gate.enqueued({1: T0 - timedelta(minutes=30)}, [1], now=1)  # an older backlog, enqueued by requeue
    assert gate.due({1: T0 + timedelta(seconds=5)}, now=2, requeue_seconds=20) == []
    assert gate.due({1: T0 + timedelta(minutes=1)}, now=2, requeue_seconds=20) == [1]


def test_forget():
    gate = DetectionGate()
    gate.enqueued({1: T0}, [1], now=0)
    gate.forget()
    assert gate.due({1: T0}, now=1, requeue_seconds=20) == [1]


def store(device, sequence, recorded_at, **vitals):
    sample = SampleInput(sequence=sequence, recorded_at=recorded_at, **(vitals or {"heart_rate": 70.0}))
    samples_ingest(device=device, batch=ParsedBatch(samples=[sample], rejected=[], battery_pct=None))


def test_stores_within_a_minute_enqueue_one_run_and_the_next_minute_another(
    db, settings, django_capture_on_commit_callbacks
):
    settings.PULSERA_DETECTION_ON_INGEST = True
    device = DeviceFactory()
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    with mock.patch("inference.tasks.wearers_detect.apply_async") as enqueue:
        for sequence, second in enumerate((1, 10, 20, 30), start=1):
            with django_capture_on_commit_callbacks(execute=True):
                store(device, sequence, minute + timedelta(seconds=second))
        assert enqueue.call_count == 1
        with django_capture_on_commit_callbacks(execute=True):
            store(device, 5, minute + timedelta(minutes=1, seconds=1))  # completes the first minute
        with django_capture_on_commit_callbacks(execute=True):
            store(device, 6, minute + timedelta(minutes=1, seconds=2), spo2=80.0)  # a red flag: always
    calls = [(c.kwargs["queue"], c.kwargs["args"]) for c in enqueue.call_args_list]
    assert calls == [("detection", [[device.wearer_id]])] * 2 + [("urgent", [[device.wearer_id]])]


def test_a_run_the_broker_refused_is_enqueued_on_the_next_store(db, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DETECTION_ON_INGEST = True
    device = DeviceFactory()
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=3)
    with mock.patch("inference.tasks.wearers_detect.apply_async", side_effect=[ConnectionError, None]) as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            store(device, 1, minute + timedelta(seconds=1))  # stored; the enqueue failed and is logged
        with django_capture_on_commit_callbacks(execute=True):
            store(device, 2, minute + timedelta(seconds=2))
    assert enqueue.call_count == 2
