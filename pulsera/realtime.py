"""The one door to the channel layer.

Services never touch the channel layer themselves: they call `broadcast_on_commit()`, which sends
after the surrounding transaction commits (Zulip's `send_event_on_commit`). The channel layer is
at-most-once, so anything a person must not miss (alerts) is also stored in the database.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


class FeedEvent(TypedDict):
    type: str  # the consumer handler: "feed.event" -> feed_event()
    payload: dict[str, Any]


def group_feed_name(group_id: int) -> str:
    """The channel-layer group that carries one care group's live feed."""
    return f"care-group-{group_id}"


def user_feed_name(user_id: int) -> str:
    """The channel-layer group carrying one person's own alerts (their feed sockets and apps)."""
    return f"user-{user_id}-alerts"


def broadcast(group: str, payload: dict[str, Any]) -> None:
    """Send now. A failure is logged, never raised: the database is the source of truth."""
    layer = get_channel_layer()
    if layer is None:
        return
    event: FeedEvent = {"type": "feed.event", "payload": payload}
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.exception("realtime broadcast to %s failed", group)


def broadcast_on_commit(group: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: broadcast(group, payload))


async def abroadcast(group: str, payload: dict[str, Any]) -> None:
    """`broadcast` for async code (consumers, the ingest batcher). Logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, {"type": "feed.event", "payload": payload})
    except Exception:
        logger.exception("realtime broadcast to %s failed", group)


def socket_send_on_commit(channel_name: str, event: dict[str, Any]) -> None:
    """After commit, send `event` to one socket (consumer) by its channel name, wherever it runs.

    At-most-once like every channel-layer message: what must not be lost is stored by the caller.
    """

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.send)(channel_name, event)
        except Exception:
            logger.exception("message to socket %s failed", channel_name)

    transaction.on_commit(send)
