"""Origin checks for WebSockets: browsers must come from our own site or an allowed app origin.

Native clients (watches, mobile apps) send no Origin header and pass; they authenticate with tokens.
A browser always sends Origin, so a page on another site cannot ride a caregiver's session cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import is_same_domain


class BrowserOriginValidator(OriginValidator):
    def __init__(self, application: Any) -> None:
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        if not parsed_origin.scheme or not parsed_origin.hostname:
            return False
        origin = f"{parsed_origin.scheme}://{parsed_origin.netloc}"
        if origin in settings.CORS_ALLOWED_ORIGINS:
            return True
        hosts = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        return any(pattern == "*" or is_same_domain(parsed_origin.hostname, pattern) for pattern in hosts)
