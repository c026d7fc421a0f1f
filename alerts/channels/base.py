"""The channel interface. Pure data; no Django models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """What to send, to whom. `key` is the delivery's idempotency key, passed to every provider."""

    address: str
    subject: str
    text: str
    key: str
    urgent: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    secret: str = ""  # webhooks: the signing secret


@dataclass(frozen=True)
class Receipt:
    provider_id: str = ""
    delivered: bool = False  # the provider confirmed the message reached the person's device/server


class ChannelError(Exception):
    """A send failed. `permanent`: retrying can't help (bad number, channel not configured)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def http_error(status: int, body: str) -> ChannelError:
    """4xx except timeouts and rate limits are the request's fault: permanent. The rest is retried."""
    permanent = 400 <= status < 500 and status not in (408, 409, 425, 429)
    return ChannelError(f"HTTP {status}: {body[:300]}", permanent=permanent)
