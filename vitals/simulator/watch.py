"""A simulated watch speaking protocol v1 (docs/protocol.md) like a real one should.

It measures on its own clock whether or not it is connected, keeps every sample in a buffer until
the server's ack names it, sends a frame every `batch_seconds`, resends frames that got no ack (or a
`storage_unavailable` error) and waits as long as a `throttle` says. After a disconnect (network,
server restart, an injected offline gap) it reconnects with backoff and uploads its backlog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from .physiology import Physiology

logger = logging.getLogger(__name__)
ACK_TIMEOUT = 30.0  # resend a frame that got no answer in this long
DRAIN_LIMIT = 60.0  # after the run, keep uploading the backlog for at most this long


@dataclass
class WatchStats:
    generated: int = 0
    acked: int = 0
    rejected: int = 0
    frames_sent: int = 0
    throttled: int = 0
    reconnects: int = 0
    ack_latencies_ms: list[float] = field(default_factory=list)
    ack_log: list[tuple[float, float, int]] = field(default_factory=list)  # (monotonic time, latency ms, samples)
    acked_sequences: set[int] = field(default_factory=set)
    generated_sequences: set[int] = field(default_factory=set)
    checkins: int = 0
    answered_ok: int = 0


@dataclass
class OfflineGap:
    start_s: float  # seconds after the watch starts
    duration_s: float


class SimulatedWatch:
    def __init__(
        self,
        *,
        url: str,
        token: str,
        physiology: Physiology,
        rate_hz: float = 1.0,
        batch_seconds: float = 5.0,
        offline_gaps: list[OfflineGap] | None = None,
        first_sequence: int = 0,
        name: str = "watch",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_samples_per_frame: int = 500,
    ) -> None:
        self.url = url
        self.token = token
        self.physiology = physiology
        self.interval = 1.0 / rate_hz
        self.batch_seconds = batch_seconds
        self.offline_gaps = offline_gaps or []
        self.name = name
        self.now = now
        self.max_samples = max_samples_per_frame
        self.sequence = first_sequence
        self.buffer: dict[int, dict[str, Any]] = {}  # sequence -> sample, until acked
        self.inflight: dict[str, tuple[float, list[int]]] = {}  # frame id -> (sent at, sequences)
        self.resend_after = 0.0  # monotonic time before which nothing is sent (throttle)
        self.stats = WatchStats()
        self._next_sample_at: datetime | None = None
        self._frame = 0
        self._started = time.monotonic()
        self.closed_by_server: int | None = None

    # ---- measuring --------------------------------------------------------------------------------

    def measure(self) -> None:
        """Take every reading due up to now into the buffer (the watch measures while offline too)."""
        now = self.now()
        at = self._next_sample_at or now
        while at <= now:
            reading = self.physiology.sample(at)
            if reading is not None:
                self.buffer[self.sequence] = {"sequence": self.sequence, "timestamp": at.isoformat(), **reading}
                self.stats.generated += 1
                self.stats.generated_sequences.add(self.sequence)
            self.sequence += 1
            at += timedelta(seconds=self.interval)
        self._next_sample_at = at

    def offline_now(self) -> float:
        """Seconds left of an injected offline gap, or 0."""
        elapsed = time.monotonic() - self._started
        for gap in self.offline_gaps:
            if gap.start_s <= elapsed < gap.start_s + gap.duration_s:
                return gap.start_s + gap.duration_s - elapsed
        return 0.0

    # ---- the connection -----------------------------------------------------------------------

    async def run(self, duration: float | None = None, *, drain: bool = True) -> WatchStats:
        """Stream until `duration` seconds pass (None: forever); with `drain`, then keep connecting
        until everything measured has been acknowledged (bounded by 60 s)."""
        deadline = None if duration is None else time.monotonic() + duration
        backoff = 0.5
        while deadline is None or time.monotonic() < deadline or (drain and self.buffer):
            if deadline is not None and time.monotonic() > deadline + DRAIN_LIMIT:
                break
            gap = self.offline_now()
            if gap:
                self.measure()
                await asyncio.sleep(min(gap, 1.0))
                continue
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Device {self.token}"},
                    subprotocols=["pulsera.v1"],  # type: ignore[list-item]
                    open_timeout=10,
                    max_size=2**22,
                ) as ws:
                    backoff = 0.5
                    await self._session(ws, deadline, drain)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                if isinstance(exc, websockets.exceptions.ConnectionClosed) and exc.rcvd is not None:
                    self.closed_by_server = exc.rcvd.code
                    if exc.rcvd.code in (4401, 4403, 4410):
                        logger.error("%s: refused by the server (close code %s)", self.name, exc.rcvd.code)
                        break
                logger.debug("%s: connection lost (%s); reconnecting", self.name, exc)
            if deadline is not None and time.monotonic() >= deadline and not (drain and self.buffer):
                break  # finished, not disconnected
            if deadline is not None and time.monotonic() > deadline + DRAIN_LIMIT:
                break
            self.stats.reconnects += 1
            self.inflight.clear()  # unacked frames are resent from the buffer on the next connection
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 10.0)
        return self.stats

    async def _session(self, ws: ClientConnection, deadline: float | None, drain: bool) -> None:
        hello = json.loads(await ws.recv())
        if hello.get("type") == "hello":
            self.max_samples = min(self.max_samples, hello["limits"]["max_samples_per_frame"])
        receiver = asyncio.create_task(self._receive(ws))
        try:
            next_send = time.monotonic()
            while not receiver.done():
                now = time.monotonic()
                if self.offline_now():
                    return  # an injected gap: drop the connection, keep measuring
                finished = deadline is not None and now >= deadline
                if finished and (not drain or not self.buffer or now > deadline + DRAIN_LIMIT):
                    return
                if now >= next_send or finished:
                    self.measure()
                    await self._send_due(ws)
                    next_send = now + self.batch_seconds
                await asyncio.sleep(min(0.2, max(0.01, next_send - time.monotonic())))
        finally:
            receiver.cancel()

    async def _send_due(self, ws: ClientConnection) -> None:
        """Send what is buffered and not already on its way (or whose ack is overdue)."""
        if time.monotonic() < self.resend_after:
            return
        now = time.monotonic()
        for frame_id, (sent_at, _) in list(self.inflight.items()):
            if now - sent_at > ACK_TIMEOUT:
                del self.inflight[frame_id]
        waiting = {seq for _, seqs in self.inflight.values() for seq in seqs}
        due = [s for seq, s in sorted(self.buffer.items()) if seq not in waiting]
        for start in range(0, len(due), self.max_samples):
            chunk = due[start : start + self.max_samples]
            self._frame += 1
            frame_id = f"{self.name}-{self._frame}"
            self.inflight[frame_id] = (time.monotonic(), [s["sequence"] for s in chunk])
            await ws.send(json.dumps({"type": "samples", "id": frame_id, "samples": chunk}))
            self.stats.frames_sent += 1

    answer_delay_s = 3.0  # a person reads the prompt before tapping

    async def _answer(self, ws: ClientConnection, checkin: dict) -> None:
        """Like a person: fine -> "I'm OK" after a few seconds; unwell (an injected anomaly is
        active) -> no answer, so caregivers get paged."""
        await asyncio.sleep(self.answer_delay_s)
        if any(a.active(self.now()) for a in self.physiology.anomalies):
            return
        try:
            await ws.send(json.dumps({"type": "answer", "episode_id": checkin["episode_id"], "answer": "ok"}))
            self.stats.answered_ok += 1
        except Exception:  # the socket closed meanwhile; the check-in comes again on reconnect
            logger.debug("%s: could not answer the check-in", self.name)

    async def _receive(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            sent = self.inflight.pop(str(message.get("id")), None)
            if kind == "ack":
                if sent is not None:
                    latency = (time.monotonic() - sent[0]) * 1000
                    self.stats.ack_latencies_ms.append(latency)
                    self.stats.ack_log.append((time.monotonic(), latency, len(message["acked"])))
                for seq in message["acked"]:
                    self.stats.acked_sequences.add(seq)
                    if self.buffer.pop(seq, None) is not None:
                        self.stats.acked += 1
                for rejection in message["rejected"]:  # the server will never take these: drop them
                    if self.buffer.pop(rejection.get("sequence"), None) is not None:
                        self.stats.rejected += 1
                        logger.warning("%s: sample rejected: %s", self.name, rejection)
            elif kind == "throttle":
                self.stats.throttled += 1
                self.resend_after = time.monotonic() + message["retry_after_ms"] / 1000
            elif kind == "error":
                logger.warning("%s: %s: %s", self.name, message.get("code"), message.get("message"))
            elif kind == "checkin":
                self.stats.checkins += 1
                logger.info("%s: asked %r (%s)", self.name, message.get("question"), message.get("episode_kind"))
                self._answering = asyncio.create_task(self._answer(ws, message))
            elif kind in ("instruction", "help_coming", "episode_resolved"):
                logger.info("%s: server says %s", self.name, message)
