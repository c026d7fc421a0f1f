"""Presence: a silent device goes stale after the configured time and comes back with data."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import time_machine
from django.utils import timezone

from vitals.models import Device
from vitals.services import devices_mark_stale, samples_ingest
from vitals.validation import ParsedBatch, SampleInput


def test_a_silent_device_goes_stale_once_and_recovers_with_data(device, settings, django_capture_on_commit_callbacks):
    settings.PULSERA_DEVICE_STALE_AFTER_SECONDS = 120
    device.last_seen_at = timezone.now()
    device.presence = Device.Presence.ONLINE
    device.save()
    assert devices_mark_stale() == 0
    later = timezone.now() + timedelta(seconds=121)
    with time_machine.travel(later), mock.patch("pulsera.realtime.broadcast") as broadcast:
        with django_capture_on_commit_callbacks(execute=True):
            assert devices_mark_stale() == 1
            assert devices_mark_stale() == 0  # once
        device.refresh_from_db()
        assert device.presence == Device.Presence.STALE
        assert broadcast.call_args.args[1]["devices"][0]["presence"] == "stale"
        with django_capture_on_commit_callbacks(execute=True):
            sample = SampleInput(sequence=1, recorded_at=later, heart_rate=70.0)
            samples_ingest(device=device, batch=ParsedBatch(samples=[sample], rejected=[], battery_pct=None))
    device.refresh_from_db()
    assert device.presence == Device.Presence.ONLINE
    assert broadcast.call_args.args[1]["devices"][0]["presence"] == "online"


def test_revoked_devices_are_not_swept(device, settings):
    settings.PULSERA_DEVICE_STALE_AFTER_SECONDS = 60
    Device.objects.filter(id=device.id).update(
        last_seen_at=timezone.now() - timedelta(hours=1), revoked_at=timezone.now()
    )
    assert devices_mark_stale() == 0
