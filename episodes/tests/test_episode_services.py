"""Opening, acknowledging, escalating and resolving episodes, with the timeline they leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_acknowledge, episode_escalate, episode_open, episode_resolve
from episodes.state_machine import IllegalTransition
from pulsera.realtime import group_feed_name


def open_one(wearer, **kw):
    kw.setdefault("kind", Episode.Kind.TACHYCARDIA)
    kw.setdefault("source", Episode.Source.RULE)
    return episode_open(wearer=wearer, **kw)


def test_it_opens_an_episode_with_a_timeline_and_a_broadcast(wearer, care_group, django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("pulsera.realtime.broadcast") as broadcast, django_capture_on_commit_callbacks(execute=True):
        episode, created = open_one(wearer, severity=Episode.Severity.HIGH, score=0.8, explanation="HR 130 at rest")
    assert created
    assert episode.state == Episode.State.OPEN
    # opened, and the wearer is asked "are you OK?" before anyone is paged
    assert list(episode.events.values_list("kind", flat=True)) == ["opened", "checkin_sent"]
    broadcast.assert_called_once()
    group, payload = broadcast.call_args.args
    assert group == group_feed_name(care_group.id)
    assert payload["kind"] == "episode.opened"
    assert payload["episode"]["id"] == episode.id


def test_new_evidence_updates_the_active_episode_and_never_lowers_severity(wearer):
    first, _ = open_one(wearer, severity=Episode.Severity.HIGH, score=0.7)
    again, created = open_one(wearer, severity=Episode.Severity.LOW, score=0.9, explanation="still high")
    assert not created
    assert again.id == first.id
    first.refresh_from_db()
    assert first.severity == Episode.Severity.HIGH
    assert first.score == 0.9
    assert first.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() == 1
    raised, _ = open_one(wearer, severity=Episode.Severity.CRITICAL)
    raised.refresh_from_db()
    assert raised.severity == Episode.Severity.CRITICAL


def test_repeated_evidence_is_recorded_when_it_matters_or_every_five_minutes(wearer):
    import time_machine
    from django.utils import timezone

    episode, _ = open_one(wearer, severity=Episode.Severity.HIGH, score=0.8)
    for _ in range(10):  # detection re-confirming every few seconds
        open_one(wearer, severity=Episode.Severity.HIGH, score=0.8)
    assert episode.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() == 1
    open_one(wearer, severity=Episode.Severity.HIGH, score=0.95)  # a higher score is news
    assert episode.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() == 2
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        open_one(wearer, severity=Episode.Severity.HIGH, score=0.8)  # still going, five minutes on
    assert episode.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() == 3


def test_another_kind_opens_another_episode(wearer):
    open_one(wearer)
    _, created = open_one(wearer, kind=Episode.Kind.DESATURATION)
    assert created
    assert Episode.objects.filter(wearer=wearer).count() == 2


def test_a_high_heart_rate_sudden_or_not_is_one_episode(wearer, caregiver):
    spike, _ = open_one(wearer, kind=Episode.Kind.HR_SPIKE, severity=Episode.Severity.MEDIUM)
    again, created = open_one(wearer, kind=Episode.Kind.TACHYCARDIA, severity=Episode.Severity.HIGH, score=0.9)
    assert not created and again.id == spike.id
    spike.refresh_from_db()
    assert (spike.kind, spike.severity, spike.score) == (Episode.Kind.HR_SPIKE, Episode.Severity.HIGH, 0.9)
    assert spike.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).count() == 1
    episode_resolve(episode=spike, by=caregiver, resolution=Episode.Resolution.RECOVERED)
    _, created = open_one(wearer, kind=Episode.Kind.TACHYCARDIA)
    assert created


def test_after_resolution_the_same_kind_opens_a_new_episode(wearer, caregiver):
    first, _ = open_one(wearer)
    episode_resolve(episode=first, by=caregiver, resolution=Episode.Resolution.RECOVERED)
    second, created = open_one(wearer)
    assert created
    assert second.id != first.id


def test_the_database_refuses_two_active_episodes_of_one_kind(wearer):
    open_one(wearer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Episode.objects.create(wearer=wearer, kind=Episode.Kind.TACHYCARDIA, source=Episode.Source.RULE)


def test_it_acknowledges_once(wearer, caregiver, clinician):
    episode, _ = open_one(wearer)
    assert episode_acknowledge(episode=episode, by=caregiver) is True
    assert episode_acknowledge(episode=episode, by=clinician) is False
    episode.refresh_from_db()
    assert episode.state == Episode.State.ACKNOWLEDGED
    assert episode.acknowledged_by == caregiver
    assert episode.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED).count() == 1


def test_it_records_who_did_what_in_the_timeline(wearer, caregiver):
    episode, _ = open_one(wearer)
    episode_escalate(episode=episode, reason="No answer to the check-in")
    episode_acknowledge(episode=episode, by=caregiver, message="On my way")
    episode_resolve(episode=episode, by=caregiver, resolution=Episode.Resolution.HANDLED_BY_CAREGIVER, note="Fine now")
    timeline = list(
        episode.events.exclude(kind="checkin_sent").values_list("kind", "from_state", "to_state", "actor_id", "message")
    )
    assert timeline == [
        ("opened", "", "open", None, ""),
        ("escalated", "open", "escalating", None, "No answer to the check-in"),
        ("acknowledged", "escalating", "acknowledged", caregiver.id, "On my way"),
        ("resolved", "acknowledged", "resolved", caregiver.id, "Fine now"),
    ]
    episode.refresh_from_db()
    assert episode.resolution == Episode.Resolution.HANDLED_BY_CAREGIVER
    assert episode.resolved_at is not None


def test_it_refuses_illegal_transitions(wearer, caregiver):
    episode, _ = open_one(wearer)
    episode_resolve(episode=episode, by=caregiver, resolution=Episode.Resolution.FALSE_ALARM)
    with pytest.raises(IllegalTransition):
        episode_acknowledge(episode=episode, by=caregiver)
    with pytest.raises(IllegalTransition):
        episode_escalate(episode=episode, reason="late")
    assert episode_resolve(episode=episode, by=caregiver, resolution=Episode.Resolution.RECOVERED) is False
    episode.refresh_from_db()
    assert episode.resolution == Episode.Resolution.FALSE_ALARM


def test_it_rejects_an_unknown_resolution_and_a_bad_location(wearer, caregiver):
    episode, _ = open_one(wearer)
    with pytest.raises(ValidationError):
        episode_resolve(episode=episode, by=caregiver, resolution="vanished")
    with pytest.raises(ValidationError):
        open_one(wearer, kind=Episode.Kind.FALL, location={"type": "Point", "coordinates": [500, 500]})
