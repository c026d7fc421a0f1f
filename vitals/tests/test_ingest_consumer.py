"""The watch socket in-process: auth and close codes, acks after commit, idempotent resends, bad
frames answered without losing the connection or the good samples, throttling, server messages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tests.ws import receive, receive_kind, watch, ws_cleanup  # noqa: F401
from vitals.models import Device, VitalSample
from vitals.protocol import CloseCode
from vitals.services import device_revoke, watch_message_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_cleanup")]


def samples(*sequences: int, **extra) -> list[dict]:
    now = timezone.now()
    return [
        {"sequence": s, "timestamp": (now - timedelta(seconds=100 - s)).isoformat(), "heart_rate": 70, **extra}
        for s in sequences
    ]


async def connected(token: str):
    comm = watch(token, subprotocols=["pulsera.v1"])
    ok, subprotocol = await comm.connect()
    assert ok
    assert subprotocol == "pulsera.v1"
    hello = await receive(comm)
    assert hello["type"] == "hello"
    return comm, hello


@database_sync_to_async
def stored(device) -> list[int]:
    return sorted(VitalSample.objects.filter(device=device).values_list("sequence", flat=True))


@pytest.mark.parametrize(("token", "code"), [(None, CloseCode.TOKEN_MISSING), ("pd_wrong", CloseCode.TOKEN_INVALID)])
async def test_it_refuses_missing_and_wrong_tokens_with_distinct_codes(token, code):
    comm = watch(token)
    await comm.connect()
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": code}


async def test_it_refuses_a_revoked_token(device):
    await database_sync_to_async(device_revoke)(device=device)
    comm = watch(device.token)
    await comm.connect()
    assert (await comm.receive_output(timeout=5))["code"] == CloseCode.TOKEN_REVOKED


async def test_the_token_may_come_as_a_subprotocol(device):
    comm = watch(None, subprotocols=["pulsera.v1", f"pulsera.device.{device.token}"])
    ok, _ = await comm.connect()
    assert ok
    assert (await receive(comm))["device_id"] == device.id
    await comm.disconnect()


async def test_it_acks_after_storing_and_acks_resends_again(device):
    comm, hello = await connected(device.token)
    assert hello["wearer_id"] == device.wearer_id
    assert hello["limits"]["max_samples_per_frame"] == 500
    await comm.send_to(
        text_data=json.dumps({"type": "samples", "id": "f1", "battery_pct": 77, "samples": samples(1, 2, 3)})
    )
    ack = await receive(comm)
    assert (ack["type"], ack["id"], ack["acked"], ack["accepted"]) == ("ack", "f1", [1, 2, 3], 3)
    assert await stored(device) == [1, 2, 3]  # the ack came after commit
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "f1", "samples": samples(1, 2, 3)}))
    again = await receive(comm)
    assert (again["accepted"], again["duplicates"], again["acked"]) == (0, 3, [1, 2, 3])
    assert await stored(device) == [1, 2, 3]
    await comm.disconnect()


async def test_the_wearer_comes_from_the_token(device, outsider):
    comm, _ = await connected(device.token)
    frame = {"type": "samples", "id": 1, "wearer_id": outsider.id, "samples": samples(1, wearer=outsider.id)}
    await comm.send_to(text_data=json.dumps(frame))
    await receive(comm)
    rows = await database_sync_to_async(lambda: list(VitalSample.objects.values_list("wearer_id", flat=True)))()
    assert rows == [device.wearer_id]
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ('{"type": "samples", "samples": [{"sequence": 1, "heart_rate": NaN}]}', "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "samples", "samples": "lots"}', "malformed_batch"),
        ('{"type": "samples", "samples": []}', "empty_batch"),
        ("x" * 10_000_000, "frame_too_large"),
    ],
    ids=["invalid-json", "nan", "array", "unknown-type", "samples-not-a-list", "empty", "10MB"],
)
async def test_bad_frames_get_an_error_and_the_connection_survives(device, frame, code):
    comm, _ = await connected(device.token)
    await comm.send_to(text_data=frame)
    error = await receive(comm)
    assert (error["type"], error["code"]) == ("error", code)
    assert error["message"]
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "after", "samples": samples(9)}))
    assert (await receive(comm))["acked"] == [9]
    await comm.disconnect()


async def test_ten_thousand_samples_are_refused_as_too_many(device, settings):
    settings.PULSERA_WS_MAX_FRAME_BYTES = 10_000_000
    comm, _ = await connected(device.token)
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "big", "samples": samples(*range(10_000))}))
    error = await receive(comm, timeout=20)
    assert (error["id"], error["code"]) == ("big", "batch_too_large")
    await comm.disconnect()


async def test_bad_samples_are_rejected_and_good_ones_kept(device):
    comm, _ = await connected(device.token)
    frame = {
        "type": "samples",
        "id": "mixed",
        "samples": [
            *samples(1),
            {"sequence": 2, "timestamp": "2099-01-01T00:00:00Z", "heart_rate": 70},
            {"sequence": 3, "timestamp": timezone.now().isoformat(), "heart_rate": "fast"},
            {"sequence": 4, "timestamp": timezone.now().isoformat(), "spo2": 30},
        ],
    }
    await comm.send_to(text_data=json.dumps(frame))
    ack = await receive(comm)
    assert ack["acked"] == [1]
    assert [(r["sequence"], r["reason"]) for r in ack["rejected"]] == [
        (2, "in_the_future"),
        (3, "malformed"),
        (4, "out_of_range"),
    ]
    assert await stored(device) == [1]
    await comm.disconnect()


async def test_a_device_over_its_rate_is_told_to_slow_down(device, settings):
    settings.PULSERA_WS_BURST_SAMPLES = 5
    settings.PULSERA_WS_SAMPLES_PER_SECOND = 1
    comm, _ = await connected(device.token)
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "a", "samples": samples(1, 2, 3, 4)}))
    assert (await receive(comm))["type"] == "ack"
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "b", "samples": samples(5, 6, 7)}))
    throttle = await receive(comm)
    assert (throttle["type"], throttle["id"], throttle["reason"]) == ("throttle", "b", "rate_limited")
    assert throttle["retry_after_ms"] >= 1000
    assert await stored(device) == [1, 2, 3, 4]  # nothing of the throttled frame: the watch keeps it
    await comm.disconnect()


async def test_an_overloaded_server_throttles_instead_of_dropping(device, settings):
    settings.PULSERA_INGEST_HIGH_WATER = 0
    comm, _ = await connected(device.token)
    await comm.send_to(text_data=json.dumps({"type": "samples", "id": "x", "samples": samples(1)}))
    throttle = await receive(comm)
    assert (throttle["type"], throttle["reason"]) == ("throttle", "server_busy")
    assert throttle["retry_after_ms"] >= 250
    await comm.disconnect()


async def test_ping_pong(device):
    comm, _ = await connected(device.token)
    await comm.send_to(text_data='{"type": "ping", "id": 7}')
    assert await receive(comm) == {"type": "pong", "id": 7}
    await comm.disconnect()


async def test_server_messages_reach_the_watch_on_the_same_socket(device):
    comm, _ = await connected(device.token)
    message = {"type": "checkin", "episode_id": 12, "question": "Are you OK?", "countdown_s": 60}
    assert await database_sync_to_async(watch_message_send)(device_id=device.id, message=message)
    assert await receive(comm) == message
    await comm.disconnect()


async def test_a_message_for_a_watch_that_is_not_connected_is_reported_undelivered(device):
    assert not await database_sync_to_async(watch_message_send)(device_id=device.id, message={"type": "checkin"})


async def test_presence_follows_the_socket_and_a_new_socket_replaces_the_old(device):
    first, _ = await connected(device.token)
    presence = await database_sync_to_async(lambda: Device.objects.get(id=device.id).presence)()
    assert presence == Device.Presence.ONLINE
    second, _ = await connected(device.token)
    assert (await first.receive_output(timeout=5))["code"] == CloseCode.REPLACED
    await first.disconnect(code=CloseCode.REPLACED)
    # The old socket's close must not mark the device offline: the new one streams.
    assert await database_sync_to_async(lambda: Device.objects.get(id=device.id).presence)() == Device.Presence.ONLINE
    await second.disconnect()
    assert await database_sync_to_async(lambda: Device.objects.get(id=device.id).presence)() == Device.Presence.OFFLINE
