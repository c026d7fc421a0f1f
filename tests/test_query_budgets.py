"""List endpoints cost the same number of queries for 1 row as for many (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.notify import alert_send
from episodes.models import Episode
from episodes.services import episode_open
from groups.models import Membership
from groups.services import member_add
from tests.factories import DeviceFactory, UserFactory, ZoneFactory

LISTS = [
    "/api/v1/episodes/",
    "/api/v1/alerts/",
    "/api/v1/devices/",
    "/api/v1/wearers/",
    "/api/v1/groups/",
    "/api/v1/zones/",
    "/api/v1/groups/{group}/members/",
    "/api/v1/groups/{group}/consents/",
    "/api/v1/episodes/{episode}/events/",
    "/api/v1/wearers/{wearer}/episodes/",
]
KINDS = [Episode.Kind.TACHYCARDIA, Episode.Kind.BRADYCARDIA, Episode.Kind.FALL, Episode.Kind.DESATURATION]


def add_wearer(group, caregiver, kinds):
    person = UserFactory()
    member_add(group=group, user=person, role=Membership.Role.WEARER)
    DeviceFactory(wearer=person)
    ZoneFactory(group=group)
    for kind in kinds:
        episode, _ = episode_open(wearer=person, kind=kind, source=Episode.Source.RULE)
        alert_send(episode=episode, recipient=caregiver, level="urgent", purpose="page", message="Please look")
    return person


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("url", LISTS)
def test_list_queries_do_not_grow_with_rows(api, care_group, wearer, caregiver, url):
    first, _ = episode_open(wearer=wearer, kind=Episode.Kind.SOS, source=Episode.Source.SOS)
    client = api(caregiver)
    target = url.format(group=care_group.id, episode=first.id, wearer=wearer.id)
    add_wearer(care_group, caregiver, KINDS[:1])
    small = count_queries(client, target)
    for _ in range(3):
        add_wearer(care_group, caregiver, KINDS)
    alert_send(episode=first, recipient=caregiver, level="urgent", purpose="page", message="Please look")
    large = count_queries(client, target)
    assert large == small, f"{target}: {small} queries with few rows, {large} with more"
