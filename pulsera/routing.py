"""WebSocket routes, versioned like the REST API."""

from __future__ import annotations

from django.urls import path

from groups.consumers import CareGroupFeedConsumer
from vitals.consumers import WatchIngestConsumer

websocket_urlpatterns = [
    path("ws/v1/ingest/", WatchIngestConsumer.as_asgi()),
    path("ws/v1/groups/<int:group_id>/live/", CareGroupFeedConsumer.as_asgi()),
]
