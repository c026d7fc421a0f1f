"""WebSocket routes, versioned like the REST API.

People's sockets (the caregiver feed) go through session and token authentication; the watch socket
authenticates with its device token in its own consumer and skips that stack (every watch reconnects
at once after a network blip: its handshake must be cheap).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path

from accounts.ws_auth import PeopleAuthMiddlewareStack
from groups.consumers import CareGroupFeedConsumer
from vitals.consumers import BareEchoConsumer, WatchIngestConsumer

websocket_urlpatterns = [
    path("ws/v1/ingest/", WatchIngestConsumer.as_asgi()),
    path("ws/v1/groups/<int:group_id>/live/", PeopleAuthMiddlewareStack(CareGroupFeedConsumer.as_asgi())),
]
if settings.PULSERA_BENCH_ECHO:  # scripts/bench_ingest.py's yardstick; never on in production
    websocket_urlpatterns.append(path("ws/bench/echo/", BareEchoConsumer.as_asgi()))
