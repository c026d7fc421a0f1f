"""Helpers for in-process WebSocket tests (Channels' WebsocketCommunicator over the real ASGI app)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connection

from vitals.batcher import close_batcher


def application() -> Any:
    from pulsera.asgi import application

    return application


def watch(token: str | None, *, headers: list[tuple[bytes, bytes]] | None = None, **kw: Any) -> WebsocketCommunicator:
    headers = list(headers or [])
    if token is not None:
        headers.append((b"authorization", f"Device {token}".encode()))
    return WebsocketCommunicator(application(), "/ws/v1/ingest/", headers=headers, **kw)


def feed(group_id: int, *, token: str | None = None, origin: str | None = None, **kw: Any) -> WebsocketCommunicator:
    headers = []
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application(), f"/ws/v1/groups/{group_id}/live/", headers=headers, **kw)


async def receive(comm: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout=timeout))


async def receive_kind(comm: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    """Skip messages until one of `kind` (the feed's "kind", the watch protocol's "type") arrives."""
    while True:
        message = await receive(comm, timeout)
        if message.get("kind", message.get("type")) == kind:
            return message


@pytest.fixture
async def ws_cleanup() -> AsyncIterator[None]:
    """A fresh in-memory channel layer per test; afterwards, release the ingest thread's and the
    sync threads' database connections (PostgreSQL refuses to drop a test database in use)."""
    channel_layers.backends = {}
    yield
    await close_batcher()
    await database_sync_to_async(lambda: connection.close())()  # resolved in the sync thread


async def collect(comm: WebsocketCommunicator, seconds: float) -> list[dict[str, Any]]:
    """Everything that arrives within `seconds` (without cancelling the app on a timeout)."""
    import asyncio

    messages: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if not await comm.receive_nothing(timeout=0.1, interval=0.02):
            messages.append(await receive(comm))
    return messages
