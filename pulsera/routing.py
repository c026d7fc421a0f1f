"""WebSocket routes. The watch ingest socket and the caregiver live feed arrive with the live-vitals work."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
