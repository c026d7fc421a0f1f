"""After a store, detection is enqueued once per store; red-flag-range readings go on the urgent queue."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from tests.factories import DeviceFactory
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput


def store(device, **vitals):
    now = timezone.now()
    sample = SampleInput(sequence=1, recorded_at=now - timedelta(seconds=5), **vitals)
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
