"""The caregiver live feed, /ws/v1/groups/<id>/live/.

Push only: authenticate (session cookie or API token), authorize through a selector, join the
group's feed, forward. Vitals are forwarded only for wearers who share live vitals with this person;
the list is refreshed when consent changes. On connect the socket first gets a snapshot (latest
vitals and device presence), because the channel layer is at-most-once: a client that reconnects
starts from the truth in the database, not from what it happened to receive.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.models import User
from pulsera.realtime import group_feed_name, user_feed_name

from .selectors import feed_access, feed_snapshot

SUBPROTOCOL = "pulsera.feed.v1"


class CareGroupFeedConsumer(AsyncJsonWebsocketConsumer):
    feed: str | None = None

    async def connect(self) -> None:
        user: User = self.scope.get("user")
        try:
            self.group_id = int(self.scope["url_route"]["kwargs"]["group_id"])
        except (KeyError, ValueError):
            await self.close()
            return
        access = await database_sync_to_async(feed_access)(user, self.group_id)
        if access is None:
            await self.close()  # before accept(): the handshake is refused (HTTP 403)
            return
        self.user = user
        self.live_wearers = access
        self.feed = group_feed_name(self.group_id)
        self.inbox = user_feed_name(user.id)  # alerts addressed to this person (pages, all-clears)
        await self.channel_layer.group_add(self.feed, self.channel_name)
        await self.channel_layer.group_add(self.inbox, self.channel_name)
        offered = self.scope.get("subprotocols", [])
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        snapshot = await database_sync_to_async(feed_snapshot)(self.group_id, self.live_wearers)
        await self.send_json({"kind": "snapshot", **snapshot})

    async def disconnect(self, code: int) -> None:
        if self.feed:
            await self.channel_layer.group_discard(self.feed, self.channel_name)
            await self.channel_layer.group_discard(self.inbox, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"kind": "pong"})

    async def feed_event(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        kind = payload.get("kind")
        if kind == "consent.changed":
            access = await database_sync_to_async(feed_access)(self.user, self.group_id)
            if access is None:
                await self.close()
                return
            self.live_wearers = access
            return
        if kind == "vitals":
            wearers = [w for w in payload["wearers"] if w["wearer_id"] in self.live_wearers]
            if not wearers:
                return
            payload = {"kind": "vitals", "wearers": wearers}
        await self.send_json(payload)
