"""Live vitals end to end on real services: Daphne processes, a real Redis (channels-redis), the real
PostgreSQL. A watch that disconnects, a Daphne that crashes, a Redis that restarts: the database
ends with every sample exactly once, and nothing that was acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import pytest
import websockets
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer
from websockets.asyncio.client import connect

from accounts.services import api_token_issue
from tests.live_stack import LiveStack
from vitals.models import Device, VitalSample
from vitals.simulator.physiology import Person, Physiology
from vitals.simulator.watch import OfflineGap, SimulatedWatch

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(on_postgres, real_redis_url, tmp_path, request):
    processes = getattr(request, "param", 1)
    live = LiveStack(tmp_path, web_processes=processes, PULSERA_DETECTION_ON_INGEST="false").start()
    yield live
    live.stop()


def simulated(url: str, device, **kw) -> SimulatedWatch:
    rng = random.Random(device.id)
    return SimulatedWatch(
        url=url, token=device.token, physiology=Physiology(Person.random(rng), rng), name=f"w{device.id}", **kw
    )


@database_sync_to_async
def stored_sequences(device) -> list[int]:
    return list(VitalSample.objects.filter(device=device).values_list("sequence", flat=True))


async def assert_exactly_once(device, watch: SimulatedWatch) -> None:
    stored = await stored_sequences(device)
    assert len(stored) == len(set(stored)), "a sample was stored twice"
    assert watch.stats.acked_sequences <= set(stored), "an acknowledged sample is missing"
    assert set(stored) == watch.stats.generated_sequences, "a measured sample never arrived"
    assert not watch.buffer
    assert watch.stats.generated > 20


async def test_a_watch_that_drops_offline_backfills_and_everything_is_stored_once(stack, device):
    watch = simulated(stack.ingest_url(), device, rate_hz=5, batch_seconds=0.5, offline_gaps=[OfflineGap(2, 3)])
    await asyncio.wait_for(watch.run(duration=8), timeout=90)
    assert watch.stats.reconnects >= 1
    await assert_exactly_once(device, watch)


async def test_a_daphne_crash_loses_nothing_that_was_acked(stack, device):
    watch = simulated(stack.ingest_url(), device, rate_hz=10, batch_seconds=0.3)
    run = asyncio.create_task(watch.run(duration=10))
    await asyncio.sleep(3)
    acked_before_crash = set(watch.stats.acked_sequences)
    stack.webs[0].kill()
    await asyncio.sleep(2)  # the watch keeps measuring and buffering
    await asyncio.to_thread(stack.webs[0].start)
    await asyncio.wait_for(run, timeout=120)
    assert acked_before_crash and acked_before_crash <= set(await stored_sequences(device))
    assert watch.stats.reconnects >= 1
    await assert_exactly_once(device, watch)


async def test_a_redis_restart_loses_nothing_and_feeds_recover(stack, device, care_group, caregiver):
    """With the default (classic) channel layer a Redis restart closes sockets; the watch reconnects
    and backfills, and a caregiver's feed reconnects to a snapshot and live vitals again."""
    token = await database_sync_to_async(lambda: api_token_issue(user=caregiver).key)()
    headers = {"Authorization": f"Bearer {token}"}
    watch = simulated(stack.ingest_url(), device, rate_hz=5, batch_seconds=0.3)
    run = asyncio.create_task(watch.run(duration=12))
    await asyncio.sleep(2)
    stack.redis.kill()
    await asyncio.sleep(2)
    await asyncio.to_thread(stack.redis.start)
    restarted_at = datetime.now(UTC)
    fresh = None
    deadline = asyncio.get_running_loop().time() + 30
    while fresh is None and asyncio.get_running_loop().time() < deadline:
        try:
            async with connect(stack.feed_url(care_group.id), additional_headers=headers) as feed:
                assert json.loads(await feed.recv())["kind"] == "snapshot"
                while fresh is None:
                    message = json.loads(await asyncio.wait_for(feed.recv(), timeout=20))
                    if message["kind"] == "vitals":
                        at = datetime.fromisoformat(message["wearers"][0]["values"]["heart_rate"]["at"])
                        fresh = message if at > restarted_at else None
        except (OSError, websockets.exceptions.WebSocketException):
            await asyncio.sleep(0.5)  # the server is still reconnecting to Redis: like an app, retry
    assert fresh is not None, "no live vitals on a feed after Redis came back"
    await asyncio.wait_for(run, timeout=120)
    await assert_exactly_once(device, watch)


@pytest.mark.parametrize("stack", [2], indirect=True)
async def test_two_daphne_processes_behave_as_one_server(stack, device, care_group, caregiver):
    token = await database_sync_to_async(lambda: api_token_issue(user=caregiver).key)()
    async with connect(
        stack.feed_url(care_group.id, i=1), additional_headers={"Authorization": f"Bearer {token}"}
    ) as feed:
        assert json.loads(await feed.recv())["kind"] == "snapshot"
        watch = simulated(stack.ingest_url(i=0), device, rate_hz=5, batch_seconds=0.3)
        run = asyncio.create_task(watch.run(duration=4))
        kinds = set()
        while not {"presence", "vitals"} <= kinds:
            message = json.loads(await asyncio.wait_for(feed.recv(), timeout=20))
            kinds.add(message["kind"])
            if message["kind"] == "vitals":
                assert [w["wearer_id"] for w in message["wearers"]] == [device.wearer_id]
        # A server-to-watch message sent from another process reaches the socket on process A.
        layer = RedisChannelLayer(hosts=[stack.redis_url])
        received = []

        async def listen() -> None:
            async with connect(
                stack.ingest_url(i=0), additional_headers={"Authorization": f"Device {device.token}"}
            ) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                channel = await database_sync_to_async(lambda: Device.objects.get(id=device.id).channel_name)()
                await layer.send(channel, {"type": "watch.message", "message": {"type": "checkin", "episode_id": 1}})
                received.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))

        await asyncio.wait_for(run, timeout=60)
        await listen()
        await layer.flush()
        assert received == [{"type": "checkin", "episode_id": 1}]


async def test_bad_frames_through_real_daphne_keep_the_connection_and_the_good_samples(stack, device):
    headers = {"Authorization": f"Device {device.token}"}
    async with connect(stack.ingest_url(), additional_headers=headers, max_size=2**24) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        now = datetime.now(UTC).isoformat()
        bad = [
            "x" * 10_000_000,  # 10 MB
            '{"type": "samples", "samples": [{"sequence": 1, "timestamp": "' + now + '", "heart_rate": NaN}]}',
            json.dumps(
                {
                    "type": "samples",
                    "samples": [{"sequence": i, "timestamp": now, "heart_rate": 70} for i in range(10_000)],
                }
            ),
            "{oops",
        ]
        codes = []
        for frame in bad:
            await ws.send(frame)
            codes.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=30))["code"])
        assert codes == ["frame_too_large", "invalid_json", "frame_too_large", "invalid_json"]
        mixed = [
            {"sequence": 1, "timestamp": now, "heart_rate": 72},
            {"sequence": 2, "timestamp": "2099-01-01T00:00:00Z", "heart_rate": 72},
            {"sequence": 3, "timestamp": now, "heart_rate": "fast"},
        ]
        await ws.send(json.dumps({"type": "samples", "id": "ok", "samples": mixed}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
    assert ack["acked"] == [1]
    assert [r["reason"] for r in ack["rejected"]] == ["in_the_future", "malformed"]
    assert await stored_sequences(device) == [1]
