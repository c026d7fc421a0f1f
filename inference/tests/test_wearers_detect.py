"""Detection after ingest: the rule floor opens (or updates) an episode through the episodes service."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from episodes.models import Episode
from inference.services import wearers_detect
from inference.tasks import wearers_detect as wearers_detect_task
from vitals.services import samples_ingest
from vitals.validation import ParsedBatch, SampleInput


def ingest(device, *, spo2: float, minutes: int = 4, start_seq: int = 0):
    now = timezone.now()
    samples = [
        SampleInput(
            sequence=start_seq + i,
            recorded_at=now - timedelta(seconds=30 * (minutes * 2 - i)),
            spo2=spo2,
            heart_rate=75.0,
        )
        for i in range(minutes * 2)
    ]
    samples_ingest(device=device, batch=ParsedBatch(samples=samples, rejected=[], battery_pct=None))


def test_sustained_desaturation_opens_one_episode(device):
    ingest(device, spo2=84)
    assert wearers_detect(wearer_ids=[device.wearer_id]) == 1
    assert wearers_detect(wearer_ids=[device.wearer_id]) == 1  # evidence, not a second episode
    episode = Episode.objects.get(wearer=device.wearer)
    assert (episode.kind, episode.source, episode.severity) == ("desaturation", "rule", "critical")
    assert "84%" in episode.explanation
    assert episode.events.filter(kind="evidence").count() == 1


def test_normal_vitals_open_nothing(device):
    ingest(device, spo2=97)
    assert wearers_detect(wearer_ids=[device.wearer_id]) == 0
    assert not Episode.objects.exists()


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
    assert device.samples.count() == 8
