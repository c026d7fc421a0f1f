"""The one HTTP client of the provider adapters, so tests can swap the transport at the boundary."""

from __future__ import annotations

import httpx
from django.conf import settings

from .base import ChannelError

_transport: httpx.BaseTransport | None = None


def set_transport(transport: httpx.BaseTransport | None) -> None:
    """Tests: route every provider request through `transport` (e.g. httpx.MockTransport)."""
    global _transport
    _transport = transport


def client() -> httpx.Client:
    return httpx.Client(transport=_transport, timeout=settings.PULSERA_PROVIDER_TIMEOUT_SECONDS)


def post(url: str, **kwargs) -> httpx.Response:
    """POST, turning network failures into transient ChannelErrors."""
    try:
        with client() as http:
            return http.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
