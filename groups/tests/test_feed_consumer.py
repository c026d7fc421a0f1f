"""The caregiver live feed in-process: who may follow, what they receive, consent, origins."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from accounts.services import api_token_issue
from episodes.models import Episode
from episodes.services import episode_open
from groups.models import Consent
from groups.services import consent_update
from tests.ws import collect, feed, receive, receive_kind, watch, ws_cleanup  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_cleanup")]


@database_sync_to_async
def token_of(user) -> str:
    return api_token_issue(user=user).key


async def follow(group_id: int, user, **kw):
    comm = feed(group_id, token=await token_of(user), **kw)
    ok, _ = await comm.connect()
    return comm, ok


async def stream(device, *sequences: int, heart_rate: float = 72) -> None:
    comm = watch(device.token)
    await comm.connect()
    await receive(comm)  # hello
    now = timezone.now().isoformat()
    frame = {
        "type": "samples",
        "id": 1,
        "samples": [{"sequence": s, "timestamp": now, "heart_rate": heart_rate} for s in sequences],
    }
    await comm.send_to(text_data=json.dumps(frame))
    assert (await receive(comm))["type"] == "ack"
    await comm.disconnect()


async def test_responders_follow_and_start_from_a_snapshot(care_group, wearer, caregiver, clinician, device):
    for person in (caregiver, clinician):
        comm, ok = await follow(care_group.id, person)
        assert ok
        snapshot = await receive(comm)
        assert snapshot["kind"] == "snapshot"
        assert [d["device_id"] for d in snapshot["devices"]] == [device.id]
        await comm.disconnect()


@pytest.mark.parametrize("persona", ["outsider", "wearer"])
async def test_outsiders_and_wearers_are_refused_at_the_handshake(care_group, caregiver, outsider, wearer, persona):
    comm, ok = await follow(care_group.id, {"outsider": outsider, "wearer": wearer}[persona])
    assert not ok
    await comm.disconnect()


async def test_anonymous_and_unknown_token_are_refused(care_group, caregiver):
    comm = feed(care_group.id)
    assert not (await comm.connect())[0]
    comm = feed(care_group.id, token="not-a-token")
    assert not (await comm.connect())[0]


async def test_a_browser_on_another_site_is_refused(care_group, caregiver, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.pulsera.example"]
    _, ok = await follow(care_group.id, caregiver, origin="https://evil.example")
    assert not ok
    comm, ok = await follow(care_group.id, caregiver, origin="https://app.pulsera.example")
    assert ok
    await comm.disconnect()
    comm, ok = await follow(care_group.id, caregiver, origin="http://localhost:8000")  # our own site
    assert ok
    await comm.disconnect()


async def test_a_watch_without_origin_is_allowed_but_a_foreign_browser_page_is_not(device):
    comm = watch(device.token, headers=[(b"origin", b"https://evil.example")])
    assert not (await comm.connect())[0]


async def test_consented_vitals_presence_and_episodes_arrive_live(care_group, wearer, caregiver, device, settings):
    settings.PULSERA_FEED_VITALS_INTERVAL_MS = 100
    comm, _ = await follow(care_group.id, caregiver)
    await receive_kind(comm, "snapshot")
    await stream(device, 1, 2, heart_rate=81)
    messages = {m["kind"]: m for m in await collect(comm, 1.0)}
    presence, vitals = messages["presence"], messages["vitals"]
    # The feed carries the freshest state of each tick (the watch connects, then leaves).
    assert [d["device_id"] for d in presence["devices"]] == [device.id]
    assert presence["devices"][0]["presence"] in ("online", "offline")
    [entry] = vitals["wearers"]
    assert entry["wearer_id"] == wearer.id
    assert entry["values"]["heart_rate"]["value"] == 81
    await database_sync_to_async(episode_open)(wearer=wearer, kind=Episode.Kind.FALL, source=Episode.Source.RULE)
    opened = await receive_kind(comm, "episode.opened")
    assert opened["episode"]["kind"] == "fall"
    await comm.disconnect()


async def test_vitals_stop_when_the_wearer_withdraws_consent(care_group, wearer, caregiver, device, settings):
    settings.PULSERA_FEED_VITALS_INTERVAL_MS = 100
    comm, _ = await follow(care_group.id, caregiver)
    await receive_kind(comm, "snapshot")
    consent = await database_sync_to_async(Consent.objects.get)(wearer=wearer, viewer=caregiver)
    await database_sync_to_async(consent_update)(consent=consent, data={"live_vitals": False})
    await stream(device, 1, heart_rate=90)
    kinds = [m["kind"] for m in await collect(comm, 1.0)]
    assert "presence" in kinds  # presence is still shared
    assert "vitals" not in kinds
    await comm.disconnect()


async def test_the_feed_bursts_at_most_once_per_interval_per_wearer(care_group, wearer, caregiver, device, settings):
    settings.PULSERA_FEED_VITALS_INTERVAL_MS = 1000
    comm, _ = await follow(care_group.id, caregiver)
    await receive_kind(comm, "snapshot")
    watch_comm = watch(device.token)
    await watch_comm.connect()
    await receive(watch_comm)
    now = timezone.now()
    for i in range(5):  # five frames in quick succession
        stamp = (now + timezone.timedelta(milliseconds=i)).isoformat()
        frame = {"type": "samples", "id": i, "samples": [{"sequence": i, "timestamp": stamp, "heart_rate": 70 + i}]}
        await watch_comm.send_to(text_data=json.dumps(frame))
        await receive(watch_comm)
    messages = await collect(comm, 1.5)
    updates = [w["values"]["heart_rate"]["value"] for m in messages if m["kind"] == "vitals" for w in m["wearers"]]
    assert updates and updates[-1] == 74  # the freshest value
    assert len(updates) <= 2  # not one per frame
    await watch_comm.disconnect()
    await comm.disconnect()
