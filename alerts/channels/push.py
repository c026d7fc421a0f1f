"""Push through Firebase Cloud Messaging's HTTP v1 API.

Auth is OAuth 2 with a service account (PULSERA_FCM_CREDENTIALS_FILE): a signed JWT is exchanged
for an access token at the account's token_uri, cached until shortly before it expires. Both
requests go through the same HTTP client, so tests fake them at the boundary.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from . import http
from .base import ChannelError, Outgoing, Receipt, http_error

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_token: dict[str, Any] = {}
_lock = threading.Lock()


def configured() -> bool:
    return bool(settings.PULSERA_FCM_PROJECT_ID and settings.PULSERA_FCM_CREDENTIALS_FILE)


def _service_account() -> dict[str, Any]:
    try:
        return json.loads(Path(settings.PULSERA_FCM_CREDENTIALS_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ChannelError(f"Cannot read the FCM service account file: {exc}", permanent=True) from exc


def _jwt(account: dict[str, Any], now: int) -> str:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "RS256", "typ": "JWT", "kid": account.get("private_key_id", "")}
    claims = {"iss": account["client_email"], "scope": SCOPE, "aud": account["token_uri"], "iat": now,
              "exp": now + 3600}  # fmt: skip
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}".encode()
    key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg, arg-type]  # an RSA key
    return f"{signing_input.decode()}.{b64(signature)}"


def access_token() -> str:
    with _lock:
        now = int(time.time())
        if _token.get("value") and _token.get("expires_at", 0) > now + 60:
            return str(_token["value"])
        account = _service_account()
        try:
            assertion = _jwt(account, now)
        except (KeyError, ValueError, TypeError) as exc:
            raise ChannelError(f"The FCM service account file is not usable: {exc}", permanent=True) from exc
        response = http.post(
            account["token_uri"],
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )
        if response.status_code >= 300:
            raise http_error(response.status_code, response.text)
        body = response.json()
        _token.update(value=body["access_token"], expires_at=now + int(body.get("expires_in", 3600)))
        return str(body["access_token"])


def send_push(out: Outgoing) -> Receipt:
    if not configured():
        raise ChannelError("Push is not configured (PULSERA_FCM_PROJECT_ID, PULSERA_FCM_CREDENTIALS_FILE).",
                           permanent=True)  # fmt: skip
    message = {
        "message": {
            "token": out.address,
            "notification": {"title": out.subject, "body": out.text[:1000]},
            "data": {k: str(v) for k, v in {**out.data, "idempotency_key": out.key}.items()},
            "android": {"priority": "high" if out.urgent else "normal"},
            "apns": {"headers": {"apns-priority": "10" if out.urgent else "5"}},
        }
    }
    base = settings.PULSERA_FCM_API_BASE.rstrip("/")
    response = http.post(
        f"{base}/v1/projects/{settings.PULSERA_FCM_PROJECT_ID}/messages:send",
        json=message,
        headers={"Authorization": f"Bearer {access_token()}"},
    )
    if response.status_code == 401:
        _token.clear()  # the token was revoked or expired early: fetch a new one on the retry
    if response.status_code >= 300:
        # FCM's UNREGISTERED / INVALID_ARGUMENT (404 / 400) mean this token will never work.
        raise http_error(response.status_code, response.text)
    return Receipt(provider_id=str(response.json().get("name", "")))
