"""Signed webhooks: a JSON POST with `X-Pulsera-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.

Receivers verify with the shared secret and reject timestamps older than a few minutes (replays);
`Idempotency-Key` lets them drop a retry of a message they already have.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from . import http
from .base import Outgoing, Receipt, http_error


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def send_webhook(out: Outgoing) -> Receipt:
    body = json.dumps({"subject": out.subject, "text": out.text, "urgent": out.urgent, **out.data}).encode()
    timestamp = int(time.time())
    response = http.post(
        out.address,
        content=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Pulsera-Webhook/1",
            "Idempotency-Key": out.key,
            "X-Pulsera-Signature": signature(out.secret, timestamp, body),
        },
    )
    if response.status_code >= 300:
        raise http_error(response.status_code, response.text)
    # The receiver's 2xx is the receipt: it has the message.
    return Receipt(provider_id=response.headers.get("X-Request-Id", ""), delivered=True)
