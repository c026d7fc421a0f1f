"""Notification channels behind one interface: `send(delivery_input) -> Receipt`, raising
`ChannelError` (transient: retried with backoff; permanent: fall back to the person's next channel).

Every provider client is real and configured from the environment; none is reachable from the
build machines, so tests drive them through a fake transport at the HTTP boundary
(`http.set_transport`) or a local HTTP server. A channel that is not configured fails permanently
with a clear reason, and the person's next channel (ultimately in-app, which always works) takes over.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import ChannelError, Outgoing, Receipt
from .email import send_email
from .push import send_push
from .sms import send_sms
from .webhook import send_webhook

SENDERS: dict[str, Callable[[Outgoing], Receipt]] = {
    "email": send_email,
    "sms": send_sms,
    "push": send_push,
    "webhook": send_webhook,
}

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def address_problem(channel: str, address: str) -> str | None:
    """Why `address` can't work for `channel`, or None."""
    if channel == "email" and not _EMAIL.match(address):
        return "Enter an email address."
    if channel == "sms" and not _E164.match(address):
        return "Enter the phone number in E.164 form, e.g. +34600111222."
    if channel == "webhook" and not address.startswith(("https://", "http://")):
        return "Enter an http(s) URL."
    if channel == "push" and (len(address) < 20 or " " in address):
        return "Enter the device's FCM registration token."
    return None


__all__ = ["SENDERS", "ChannelError", "Outgoing", "Receipt", "address_problem"]
