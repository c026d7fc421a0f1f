"""After a store, detection is enqueued once per store; red-flag-range readings go on the urgent queue."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.factories import DeviceFactory
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput


def store(device, sequence=1, at=None, **vitals):
    at = at or timezone.now() - timedelta(seconds=5)
    sample = SampleInput(sequence=sequence, recorded_at=at, **vitals)
    samples_ingest(device=device, batch=ParsedBatch(samples=[sample], rejected=[], battery_pct=None))


def test_red_flag_readings_are_judged_on_the_urgent_queue(db, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DETECTION_ON_INGEST = True
    low, normal = DeviceFactory(), DeviceFactory()
    with mock.patch("inference.tasks.wearers_detect.apply_async") as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            store(low, spo2=82.0)
        with django_capture_on_commit_callbacks(execute=True):
            store(normal, spo2=97.0, heart_rate=70.0)
    calls = [(c.kwargs["queue"], c.kwargs["args"]) for c in enqueue.call_args_list]
    assert calls == [("urgent", [[low.wearer_id]]), ("detection", [[normal.wearer_id]])]


@pytest.mark.parametrize(
    ("vitals", "queue"),
    [
        ({"spo2": 90.0}, "urgent"),  # below 92 %: worth a prompt look, though no red flag
        ({"heart_rate": 130.0, "steps": 0}, "urgent"),  # high at rest
        ({"heart_rate": 42.0}, "urgent"),
        ({"heart_rate": 130.0, "steps": 25}, "detection"),  # walking briskly
        ({"spo2": 95.0, "heart_rate": 110.0}, "detection"),
    ],
)
def test_readings_worth_a_prompt_look_skip_the_routine_queue(
    db, settings, django_capture_on_commit_callbacks, vitals, queue
):
    settings.PULSERA_DETECTION_ON_INGEST = True
    device = DeviceFactory()
    with (
        mock.patch("inference.tasks.wearers_detect.apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        store(device, **vitals)
    assert [(c.kwargs["queue"], c.kwargs["args"]) for c in enqueue.call_args_list] == [(queue, [[device.wearer_id]])]


def test_triage_can_be_turned_off_and_still_respects_the_gate(db, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DETECTION_ON_INGEST = True
    settings.PULSERA_DETECTION_TRIAGE = False
    device, at = DeviceFactory(), timezone.now().replace(second=10) - timedelta(minutes=1)
    with (
        mock.patch("inference.tasks.wearers_detect.apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        store(device, at=at, spo2=90.0)
    assert [(c.kwargs["queue"], c.kwargs["args"]) for c in enqueue.call_args_list] == [
        ("detection", [[device.wearer_id]])
    ]
    settings.PULSERA_DETECTION_TRIAGE = True
    with (
        mock.patch("inference.tasks.wearers_detect.apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        store(device, sequence=2, at=at + timedelta(seconds=20), spo2=90.0)  # same minute: the gate holds it
    assert enqueue.call_count == 0


@pytest.mark.django_db(transaction=True)
async def test_a_red_flag_frame_is_stored_at_once_without_waiting_for_the_batch(settings):
    import asyncio

    from channels.db import database_sync_to_async

    from vitals.batcher import IngestBatcher
    from vitals.models import VitalSample

    settings.PULSERA_INGEST_FLUSH_MS = 60_000  # the routine batch would wait a minute
    device = await database_sync_to_async(DeviceFactory)()
    now = timezone.now()
    batcher = IngestBatcher()
    try:
        routine = asyncio.create_task(batcher.submit(device, batch(1, now, spo2=97.0), []))
        urgent = await asyncio.wait_for(batcher.submit(device, batch(2, now, spo2=80.0), [], urgent=True), 10)
        assert urgent.accepted == [2]
        assert await database_sync_to_async(lambda: list(VitalSample.objects.values_list("sequence", flat=True)))() == [
            2
        ]
        assert not routine.done()
        routine.cancel()
    finally:
        await batcher.close()


def batch(sequence, now, **vitals):
    sample = SampleInput(sequence=sequence, recorded_at=now - timedelta(seconds=5), **vitals)
    return ParsedBatch(samples=[sample], rejected=[], battery_pct=None)
