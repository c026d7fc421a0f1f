"""The ingest batcher: many watch sockets, one database transaction per flush.

Each Daphne process (each event loop) has one batcher. Sockets `submit()` validated frames and await
their result; the batcher flushes on a short timer (PULSERA_INGEST_FLUSH_MS) or as soon as
PULSERA_INGEST_FLUSH_SAMPLES wait, by running `samples_store` for all pending frames in one
transaction on its own database thread. Futures resolve only after commit, so an ack always means
"durably stored". Up to PULSERA_INGEST_FLUSH_CONCURRENCY flushes run at once (each on its own
thread and connection; one on SQLite), so frames keep arriving into the next batch while one is
being committed, and the database load stays bounded; when the backlog passes
PULSERA_INGEST_HIGH_WATER, sockets answer `throttle` instead of queueing more.

A frame with readings in a critical rule's range (a possible red flag) does not wait for the next
flush: it is stored at once in a small transaction of its own, on a second database thread, so
detection can judge it while the routine batch is still being written.

The caregiver feed gets each wearer's latest vitals at most once per PULSERA_FEED_VITALS_INTERVAL_MS,
always the freshest values, from a ticker that runs beside the flush loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection

from pulsera.realtime import abroadcast, group_feed_name

from .models import Device
from .services import IngestResult, StoreOutcome, samples_store
from .validation import ParsedBatch

logger = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """The flush failed (database down?): nothing of the frame was stored; the watch resends."""


@dataclass
class _Job:
    device: Device
    batch: ParsedBatch
    group_ids: list[int]
    future: asyncio.Future[IngestResult] = field(repr=False)


DEADLOCK_RETRIES = 2


def _store(frames: list[tuple[Device, ParsedBatch]]) -> StoreOutcome:
    """Runs on one of the batcher's database threads, which keeps its connection between flushes (a
    new PostgreSQL connection per flush would cost more than the flush).

    Flushes write rows in key order (samples, devices, latest vitals), so concurrent flushes should
    not deadlock; should PostgreSQL still roll one back as a deadlock victim, it is simply run again
    (nothing of it was stored)."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            return samples_store(frames)
        except OperationalError as exc:
            if attempt < DEADLOCK_RETRIES and _is_deadlock(exc):
                logger.info("ingest flush rolled back by a deadlock; running it again")
                continue
            connection.close()  # a broken connection is reopened on the next flush
            raise
        except Exception:
            connection.close()
            raise
    raise AssertionError("unreachable")


def _is_deadlock(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"  # deadlock_detected


def _close_connection() -> None:
    connection.close()  # looked up in the calling thread: Django connections are per thread


class IngestBatcher:
    def __init__(self) -> None:
        self.flush_interval = settings.PULSERA_INGEST_FLUSH_MS / 1000
        self.flush_samples = settings.PULSERA_INGEST_FLUSH_SAMPLES
        self.high_water = settings.PULSERA_INGEST_HIGH_WATER
        self.feed_interval = settings.PULSERA_FEED_VITALS_INTERVAL_MS / 1000
        self._pending: list[_Job] = []
        self._pending_samples = 0
        self._inflight_samples = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        concurrency = 1 if connection.vendor == "sqlite" else max(1, settings.PULSERA_INGEST_FLUSH_CONCURRENCY)
        # One thread per concurrent flush: each keeps its own connection between flushes.
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ingest-db-{i}") for i in range(concurrency)
        ]
        self._idle_executors = list(self._executors)
        self._slot_free = asyncio.Event()
        self._urgent_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db-urgent")
        self._tasks: list[asyncio.Task[None]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._samples_per_second = 5000.0  # refined by measurement after each flush
        self._latest: dict[int, tuple[dict[str, Any], list[int]]] = {}  # wearer -> (values, group ids)
        self._presence: dict[int, tuple[dict[str, Any], list[int]]] = {}  # device -> (payload, group ids)
        self.flushes = 0

    # ---- sockets -------------------------------------------------------------------------------

    def backlog(self) -> int:
        return self._pending_samples + self._inflight_samples

    def overloaded(self) -> bool:
        return self.backlog() >= self.high_water

    def retry_after_ms(self) -> int:
        """How long a throttled watch should wait: the time to drain the current backlog."""
        return int(min(10_000, max(250, 1000 * self.backlog() / max(self._samples_per_second, 1.0))))

    async def submit(
        self, device: Device, batch: ParsedBatch, group_ids: list[int], *, urgent: bool = False
    ) -> IngestResult:
        """Queue a validated frame and wait until it is committed (`urgent`: store it now, in its
        own transaction). Raises StorageUnavailable."""
        self._start()
        job = _Job(device, batch, group_ids, asyncio.get_running_loop().create_future())
        if urgent:
            await self._flush([job], executor=self._urgent_executor)
            return await job.future
        self._pending.append(job)
        self._pending_samples += len(batch.samples)
        self._wakeup.set()
        if self._pending_samples >= self.flush_samples:
            self._full.set()
        return await job.future

    def presence_changed(self, payload: dict[str, Any], group_ids: list[int]) -> None:
        """Queue a device's presence for the feed (the newest per device wins within a tick)."""
        self._start()
        self._presence[payload["device_id"]] = (payload, group_ids)

    # ---- loops ---------------------------------------------------------------------------------

    def _start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._flush_loop()), asyncio.create_task(self._feed_loop())]

    async def _flush_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            if self._pending_samples < self.flush_samples:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), timeout=self.flush_interval)
            while not self._idle_executors:  # every flush thread is busy: frames keep queueing
                self._slot_free.clear()
                await self._slot_free.wait()
            executor = self._idle_executors.pop()
            jobs, self._pending = self._pending, []
            samples, self._pending_samples = self._pending_samples, 0
            self._inflight_samples += samples
            self._wakeup.clear()
            self._full.clear()
            task = asyncio.create_task(self._flush_on(executor, jobs, samples))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush_on(self, executor: ThreadPoolExecutor, jobs: list[_Job], samples: int) -> None:
        try:
            await self._flush(jobs, executor=executor)
        finally:
            self._inflight_samples -= samples
            self._idle_executors.append(executor)
            self._slot_free.set()

    async def _flush(self, jobs: list[_Job], *, executor: ThreadPoolExecutor) -> None:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(executor, _store, [(j.device, j.batch) for j in jobs])
        except Exception as exc:
            logger.exception("ingest flush of %d frames failed", len(jobs))
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(StorageUnavailable(str(exc)))
            return
        self.flushes += 1
        elapsed = time.perf_counter() - started
        samples = sum(len(j.batch.samples) for j in jobs)
        if samples and elapsed > 0:
            self._samples_per_second = 0.8 * self._samples_per_second + 0.2 * (samples / elapsed)
        for job, result in zip(jobs, outcome.results, strict=True):
            if not job.future.done():
                job.future.set_result(result)
        groups_of = {j.device.wearer_id: j.group_ids for j in jobs}
        for wearer_id, values in outcome.latest.items():
            self._latest[wearer_id] = (values, groups_of.get(wearer_id, []))

    async def _feed_loop(self) -> None:
        """At most one vitals update per wearer per interval, with the freshest values, and the
        presence changes of the interval, in one message per group and kind (a care home's 500
        wearers are one publish, not 500; so are 2,000 watches reconnecting after a blip)."""
        while True:
            await asyncio.sleep(self.feed_interval)
            latest, self._latest = self._latest, {}
            presence, self._presence = self._presence, {}
            for kind, key, entries in (
                ("vitals", "wearers", [({"wearer_id": w, "values": v}, g) for w, (v, g) in latest.items()]),
                ("presence", "devices", list(presence.values())),
            ):
                by_group: dict[int, list[dict[str, Any]]] = {}
                for entry, group_ids in entries:
                    for group_id in group_ids:
                        by_group.setdefault(group_id, []).append(entry)
                for group_id, items in by_group.items():
                    await abroadcast(group_feed_name(group_id), {"kind": kind, key: items})

    async def close(self) -> None:
        """Stop the loops and release the database thread (and its connection)."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self._flushing:  # let started flushes finish: their frames are being committed
            await asyncio.gather(*self._flushing, return_exceptions=True)
        for executor in (*self._executors, self._urgent_executor):
            await asyncio.get_running_loop().run_in_executor(executor, _close_connection)
            executor.shutdown(wait=True)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, IngestBatcher] = weakref.WeakKeyDictionary()


async def close_batcher() -> None:
    """Close the running loop's batcher, if it has one (tests; a process exiting)."""
    batcher = _batchers.pop(asyncio.get_running_loop(), None)
    if batcher is not None:
        await batcher.close()


def get_batcher() -> IngestBatcher:
    """The batcher of the running event loop (one per Daphne process)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = IngestBatcher()
    return batcher
