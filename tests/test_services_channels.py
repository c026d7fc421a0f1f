"""channels-redis carries a realtime broadcast from one process to another, through our settings
(the configured channels-redis layer on REDIS_URL) and our one door to the layer (pulsera.realtime)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from channels_redis.core import RedisChannelLayer

from tests.conftest import child_env

BASE_DIR = Path(__file__).resolve().parent.parent
SENDER = """
import json, sys, django
django.setup()
from pulsera.realtime import broadcast
broadcast(sys.argv[1], json.loads(sys.argv[2]))
"""


@pytest.mark.services
async def test_a_broadcast_crosses_processes_through_redis(real_redis_url, tmp_path):
    layer = RedisChannelLayer(hosts=[real_redis_url])
    group = f"care-group-test-{uuid.uuid4().hex[:8]}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    payload = {"kind": "episode.opened", "episode": {"id": 42, "severity": "high"}}
    try:
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER, group, json.dumps(payload),
            cwd=BASE_DIR,
            env=child_env(REDIS_URL=real_redis_url, DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}"),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(sender.communicate(), timeout=60)
        assert sender.returncode == 0, stderr.decode()
        message = await asyncio.wait_for(layer.receive(channel), timeout=10)
    finally:
        await layer.group_discard(group, channel)
        await layer.flush()
    assert message == {"type": "feed.event", "payload": payload}
