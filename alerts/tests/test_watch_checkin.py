"""The check-in on the watch socket: the prompt arrives live and again after a reconnect, and the
wearer answers, presses SOS or declares a workout on the same socket."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from alerts.models import Alert
from episodes.models import Episode, ExplainedCause
from episodes.services import episode_open
from tests.ws import receive, receive_kind, watch, ws_cleanup  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_cleanup")]


async def connected(token: str):
    comm = watch(token, subprotocols=["pulsera.v1"])
    ok, _ = await comm.connect()
    assert ok
    assert (await receive(comm))["type"] == "hello"
    return comm


@database_sync_to_async
def open_tachy(wearer):
    return episode_open(wearer=wearer, kind="tachycardia", source="rule", severity="high", explanation="HR 150")[0]


async def test_the_watch_is_asked_live_and_the_answer_is_recorded(device, caregiver):
    comm = await connected(device.token)
    episode = await open_tachy(device.wearer)
    checkin = await receive_kind(comm, "checkin")
    assert (checkin["episode_id"], checkin["question"]) == (episode.id, "Are you OK?")
    await comm.send_json_to({"type": "answer", "id": 7, "episode_id": episode.id, "answer": "help"})
    reply = await receive_kind(comm, "answer_ack")
    assert reply == {"type": "answer_ack", "id": 7, "episode_id": episode.id, "answer": "help", "recorded": True}
    await database_sync_to_async(episode.refresh_from_db)()
    assert (episode.wearer_answer, episode.state) == ("help", "escalating")
    assert await database_sync_to_async(Alert.objects.filter(episode=episode, recipient=caregiver).exists)()
    await comm.disconnect()


async def test_a_check_in_asked_while_the_watch_was_away_arrives_on_reconnect(device):
    episode = await open_tachy(device.wearer)
    comm = await connected(device.token)
    checkin = await receive_kind(comm, "checkin")
    assert checkin["episode_id"] == episode.id and 0 < checkin["countdown_s"] <= 60
    await comm.disconnect()


async def test_bad_answers_get_a_reason_and_the_socket_stays_open(device, outsider):
    comm = await connected(device.token)
    episode = await open_tachy(device.wearer)
    await receive_kind(comm, "checkin")
    await comm.send_json_to({"type": "answer", "episode_id": episode.id, "answer": "maybe"})
    assert (await receive_kind(comm, "error"))["code"] == "invalid_answer"
    other = await database_sync_to_async(lambda: episode_open(wearer=outsider, kind="tachycardia", source="rule")[0])()
    await comm.send_json_to({"type": "answer", "episode_id": other.id, "answer": "ok"})
    assert (await receive_kind(comm, "error"))["code"] == "unknown_episode"
    await comm.send_json_to({"type": "activity", "reason": "exercise", "minutes": "lots"})
    assert (await receive_kind(comm, "error"))["code"] == "invalid_activity"
    await comm.send_json_to({"type": "ping", "id": 1})
    assert (await receive_kind(comm, "pong"))["id"] == 1
    await comm.disconnect()


async def test_sos_and_a_declared_workout_from_the_watch(device, caregiver):
    comm = await connected(device.token)
    await comm.send_json_to({"type": "sos", "id": "s1"})
    ack = await receive_kind(comm, "sos_ack")
    episode = await database_sync_to_async(Episode.objects.get)(id=ack["episode_id"])
    assert (episode.kind, episode.severity, episode.state) == ("sos", "critical", "escalating")
    await comm.send_json_to({"type": "activity", "reason": "exercise", "minutes": 45})
    assert (await receive_kind(comm, "activity_ack"))["reason"] == "exercise"
    assert await database_sync_to_async(ExplainedCause.objects.filter(wearer=device.wearer).count)() == 1
    await comm.disconnect()
