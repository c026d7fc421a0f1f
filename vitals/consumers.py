"""The watch socket, /ws/v1/ingest/ (protocol: docs/protocol.md).

Thin: authenticate the device, parse each frame into the same validated batch the REST endpoint
uses, hand it to the ingest batcher (which calls the one ingest service), and answer with an ack, an
error or a throttle. Frames are handled concurrently (up to PULSERA_WS_MAX_INFLIGHT_FRAMES per
socket), so a watch uploading its backlog is not held to one flush per frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.ws_auth import header

from . import protocol
from .batcher import StorageUnavailable, get_batcher
from .models import Device
from .services import (
    IngestResult,
    batch_from_payload,
    device_session_close,
    device_session_open,
    presence_payload,
    red_flag_range,
)
from .validation import BatchError, ParsedBatch

logger = logging.getLogger(__name__)


def device_token(scope: dict[str, Any]) -> str | None:
    """The device token from the Authorization header, the subprotocol, or (last resort) ?token=."""
    auth = header(scope, b"authorization")
    if auth and auth.lower().startswith("device "):
        return auth.split(None, 1)[1].strip()
    for proto in scope.get("subprotocols", []):
        if proto.startswith(protocol.TOKEN_SUBPROTOCOL_PREFIX):
            return proto[len(protocol.TOKEN_SUBPROTOCOL_PREFIX) :]
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    return query.get("token", [None])[0]


# Thousands of watches (re)connect at once after a network blip: their session calls run on a
# thread pool (connections come from the database pool), not on Channels' single sync thread.
_session_open = database_sync_to_async(device_session_open, thread_sensitive=False)
_session_close = database_sync_to_async(device_session_close, thread_sensitive=False)


def limits() -> protocol.Limits:
    return protocol.Limits(
        max_frame_bytes=settings.PULSERA_WS_MAX_FRAME_BYTES,
        max_samples=settings.PULSERA_INGEST_MAX_SAMPLES,
        samples_per_second=settings.PULSERA_WS_SAMPLES_PER_SECOND,
        burst_samples=settings.PULSERA_WS_BURST_SAMPLES,
    )


class WatchIngestConsumer(AsyncWebsocketConsumer):
    device: Device | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its per-message `close_old_connections()` hop to the sync
        thread, which was a tenth of a Daphne process at full ingest load. This consumer never uses
        a database connection on that thread except through `database_sync_to_async`, which closes
        old connections itself; the batcher's thread manages its own."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        subprotocol = protocol.SUBPROTOCOL if protocol.SUBPROTOCOL in self.scope.get("subprotocols", []) else None
        token = device_token(self.scope)
        session = None if token is None else await _session_open(token=token, channel_name=self.channel_name)
        device = session.device if session else None
        # Accept first, then close with a code: a refused handshake can't tell the watch why.
        await self.accept(subprotocol)
        if session is None:
            await self.close(code=protocol.CloseCode.TOKEN_MISSING)
            return
        if device is None:
            await self.close(code=protocol.CloseCode.TOKEN_INVALID)
            return
        if not device.is_active():
            await self.close(code=protocol.CloseCode.TOKEN_REVOKED)
            return
        self.device = device
        self.group_ids = session.group_ids
        self.batcher = get_batcher()  # this process's (one per event loop)
        self.limits = limits()
        self.bucket = protocol.TokenBucket(
            rate=self.limits.samples_per_second, burst=self.limits.burst_samples, now=time.monotonic()
        )
        self.inflight: set[asyncio.Task[None]] = set()
        if session.previous_channel:
            # One stream per device: the older socket of this device (on any process) closes itself.
            # Best effort: after a crash the old channel is gone (and may be full); that is fine.
            try:
                await self.channel_layer.send(session.previous_channel, {"type": "watch.replaced"})
            except Exception:
                logger.debug("could not notify the previous socket of device %s", device.id)
        self._announce_presence()
        await self.send_message(protocol.hello(device_id=device.id, wearer_id=device.wearer_id, limits=self.limits))
        # A check-in asked while the watch was away is still waiting for its answer.
        for message in await _pending_checkins(device.wearer_id):
            await self.send_message(message)

    async def disconnect(self, code: int) -> None:
        if self.device is None:
            return
        if await _session_close(device=self.device, channel_name=self.channel_name):
            self._announce_presence()

    def _announce_presence(self) -> None:
        """Queued on the batcher, which sends each group one presence message per tick."""
        assert self.device is not None
        self.batcher.presence_changed(presence_payload(self.device), self.group_ids)

    async def send_message(self, message: dict[str, Any]) -> None:
        try:
            await self.send(text_data=json.dumps(message, separators=(",", ":")))
        except Exception:  # the socket closed while a frame was being stored: the watch will resend
            logger.debug("could not send %s to device %s", message.get("type"), getattr(self.device, "id", None))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.device is None:
            return
        try:
            message = protocol.frame_parse(text_data, max_bytes=self.limits.max_frame_bytes)
        except protocol.FrameError as exc:
            await self.send_message(protocol.error(None, exc.code, exc.message))
            return
        frame_id = protocol.frame_id(message)
        kind = message.get("type")
        if kind == "ping":
            await self.send_message({"type": "pong", "id": frame_id})
        elif kind == "samples":
            await self._samples(frame_id, message)
        elif kind in ("answer", "sos", "activity"):
            reply = await _wearer_action(self.device.wearer_id, kind, message)
            await self.send_message({"id": frame_id, **reply})
        else:
            await self.send_message(
                protocol.error(frame_id, protocol.ErrorCode.UNKNOWN_TYPE, f"Unknown frame type {kind!r}.")
            )

    async def _samples(self, frame_id: str | int | None, message: dict[str, Any]) -> None:
        try:
            batch = batch_from_payload(message)
        except BatchError as exc:
            await self.send_message(protocol.error(frame_id, exc.code, exc.message))
            return
        if not batch.samples:  # every sample was rejected: answer at once, nothing to store
            await self.send_message(protocol.ack(frame_id, IngestResult(rejected=batch.rejected).to_dict()))
            return
        batcher = self.batcher
        urgent = any(red_flag_range(sample) for sample in batch.samples)  # never throttled, stored at once
        if not urgent and (batcher.overloaded() or len(self.inflight) >= settings.PULSERA_WS_MAX_INFLIGHT_FRAMES):
            await self.send_message(
                protocol.throttle(frame_id, retry_after_ms=batcher.retry_after_ms(), reason="server_busy")
            )
            return
        wait = self.bucket.take(len(batch.samples), now=time.monotonic())
        if wait:
            retry = 60_000 if math.isinf(wait) else math.ceil(wait * 1000)
            await self.send_message(protocol.throttle(frame_id, retry_after_ms=retry, reason="rate_limited"))
            return
        task = asyncio.create_task(self._store(frame_id, batch, urgent=urgent))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _store(self, frame_id: str | int | None, batch: ParsedBatch, *, urgent: bool = False) -> None:
        assert self.device is not None
        try:
            result = await self.batcher.submit(self.device, batch, self.group_ids, urgent=urgent)
        except StorageUnavailable:
            await self.send_message(
                protocol.error(
                    frame_id,
                    protocol.ErrorCode.STORAGE_UNAVAILABLE,
                    "Nothing of this frame was stored (storage is unavailable); keep it and resend.",
                )
            )
            return
        await self.send_message(protocol.ack(frame_id, result.to_dict()))

    # ---- channel-layer events ---------------------------------------------------------------------

    async def watch_message(self, event: dict[str, Any]) -> None:
        """A server-to-watch message (check-in, instruction), same socket and format."""
        await self.send_message(event["message"])

    async def watch_replaced(self, event: dict[str, Any]) -> None:
        await self.close(code=protocol.CloseCode.REPLACED)


def _pending_checkins_sync(wearer_id: int) -> list[dict[str, Any]]:
    from alerts.escalation import checkin_message
    from episodes.selectors import checkins_pending

    return [checkin_message(episode) for episode in checkins_pending(wearer_id)]


# Like the device sessions, on the thread pool rather than Channels' single sync thread: an SOS must
# not queue behind other sockets' database work.
def _wearer_action_sync(wearer_id: int, kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """The wearer's own actions from the watch: answer a check-in, press SOS, declare a workout."""
    from alerts.watch_actions import wearer_action

    return wearer_action(wearer_id=wearer_id, kind=kind, message=message)


_pending_checkins = database_sync_to_async(_pending_checkins_sync)
_wearer_action = database_sync_to_async(_wearer_action_sync, thread_sensitive=False)


class BareEchoConsumer(AsyncWebsocketConsumer):
    """The benchmark's yardstick: the same transport (Daphne + Channels), no auth, no parsing, no
    database; every frame is sent straight back. Routed only when PULSERA_BENCH_ECHO is true."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)
