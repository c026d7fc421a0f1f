"""The stale-data alarm: a silent watch opens a gentle "no data" episode on its own chain, only while
it should be worn, and the episode clears itself (with an all-clear) when data returns."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from alerts.models import Alert
from alerts.no_data import wearers_check_silent
from episodes.models import Episode
from inference.models import DetectionSettings
from vitals.models import Device


@pytest.fixture
def silent(device):
    Device.objects.filter(id=device.id).update(last_seen_at=timezone.now() - timedelta(minutes=90))
    return device


def check(django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        return wearers_check_silent(**kw)


def test_a_silent_watch_opens_a_gentle_no_data_episode_that_pages_without_a_check_in(
    silent, caregiver, django_capture_on_commit_callbacks
):
    assert check(django_capture_on_commit_callbacks) == 1
    episode = Episode.objects.get()
    assert (episode.kind, episode.severity, episode.source, episode.state) == ("no_data", "low", "system", "escalating")
    assert "No data from the watch for 90 minutes" in episode.explanation
    assert episode.escalation.policy_snapshot["purpose"] == "no_data"
    assert Alert.objects.get(episode=episode).level == "info"
    assert check(django_capture_on_commit_callbacks) == 0  # one episode, not one per check


def test_data_coming_back_clears_it_and_tells_whoever_was_paged(silent, caregiver, django_capture_on_commit_callbacks):
    check(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    Device.objects.filter(id=silent.id).update(last_seen_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(seconds=1)):
        assert check(django_capture_on_commit_callbacks) == 1
    episode = Episode.objects.get()
    assert (episode.state, episode.resolution) == ("resolved", "recovered")
    assert "flowing again" in episode.resolution_note
    assert [m.to for m in mail.outbox] == [[caregiver.email]] and "All clear" in mail.outbox[0].body


def test_per_wearer_settings_and_wear_hours(silent, caregiver, django_capture_on_commit_callbacks):
    row = DetectionSettings.objects.create(wearer=silent.wearer, no_data_after_minutes=120)
    assert check(django_capture_on_commit_callbacks) == 0  # 90 minutes < 120
    row.no_data_after_minutes = 30
    now = timezone.now()
    row.worn_from, row.worn_until = time((now.hour + 2) % 24), time((now.hour + 3) % 24)  # off the wrist now
    row.save()
    assert check(django_capture_on_commit_callbacks) == 0
    row.worn_from, row.worn_until = None, None
    row.save()
    assert check(django_capture_on_commit_callbacks) == 1


def test_a_watch_that_never_sent_anything_is_not_silent(device, caregiver, django_capture_on_commit_callbacks):
    assert check(django_capture_on_commit_callbacks) == 0
