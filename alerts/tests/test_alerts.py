"""Creating and acknowledging alerts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_create
from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_open, episode_resolve


@pytest.fixture
def episode(wearer):
    return episode_open(wearer=wearer, kind=Episode.Kind.BRADYCARDIA, source=Episode.Source.RULE)[0]


def test_an_alert_is_recorded_in_the_timeline(episode, caregiver):
    alert = alert_create(episode=episode, recipient=caregiver, level="urgent", channel="sms", created_by=None)
    event = episode.events.get(kind=EpisodeEvent.Kind.ALERT_CREATED)
    assert event.data["alert_id"] == alert.id
    assert alert.state == Alert.State.PENDING


def test_only_responders_of_the_wearer_can_be_alerted(episode, outsider, wearer):
    with pytest.raises(ValidationError, match="caregiver or clinician"):
        alert_create(episode=episode, recipient=outsider, level="urgent", channel="sms", created_by=None)
    with pytest.raises(ValidationError):
        alert_create(episode=episode, recipient=wearer, level="urgent", channel="sms", created_by=None)


def test_a_resolved_episode_alerts_nobody(episode, caregiver):
    episode_resolve(episode=episode, by=caregiver, resolution=Episode.Resolution.RECOVERED)
    with pytest.raises(ValidationError, match="resolved"):
        alert_create(episode=episode, recipient=caregiver, level="urgent", channel="sms", created_by=None)


def test_acknowledging_an_alert_acknowledges_the_episode_once(episode, caregiver, clinician):
    first = alert_create(episode=episode, recipient=caregiver, level="urgent", channel="push", created_by=None)
    second = alert_create(episode=episode, recipient=clinician, level="urgent", channel="push", created_by=None)
    assert alert_acknowledge(alert=first, by=caregiver) is True
    assert alert_acknowledge(alert=first, by=caregiver) is False
    assert alert_acknowledge(alert=second, by=clinician) is True
    episode.refresh_from_db()
    assert episode.state == Episode.State.ACKNOWLEDGED
    assert episode.acknowledged_by == caregiver
    assert episode.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED).count() == 1


def test_only_the_recipient_acknowledges(episode, caregiver, clinician):
    alert = alert_create(episode=episode, recipient=caregiver, level="urgent", channel="push", created_by=None)
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, by=clinician)


def test_api_alerts_mine_filter(api, episode, caregiver, clinician):
    alert_create(episode=episode, recipient=caregiver, level="urgent", channel="push", created_by=None)
    alert_create(episode=episode, recipient=clinician, level="info", channel="email", created_by=None)
    everything = api(caregiver).get("/api/v1/alerts/").json()
    mine = api(caregiver).get("/api/v1/alerts/", {"mine": "true"}).json()
    assert everything["count"] == 2
    assert [row["recipient"]["id"] for row in mine["results"]] == [caregiver.id]


def test_api_create_alert_validates_the_recipient(api, episode, caregiver, outsider):
    response = api(caregiver).post("/api/v1/alerts/", {"episode": episode.id, "recipient": outsider.id}, format="json")
    assert response.status_code == 400
    assert "recipient" in response.json()["error"]["fields"]
    unknown = api(caregiver).post("/api/v1/alerts/", {"episode": episode.id, "recipient": 999999}, format="json")
    assert unknown.status_code == 400
