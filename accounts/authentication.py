"""People authenticate with `Authorization: Bearer <token>` (or DRF's classic `Token <token>`)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        if auth and auth[0].lower() == b"token":
            auth[0] = b"Bearer"
            request.META["HTTP_AUTHORIZATION"] = b" ".join(auth).decode(errors="replace")
        return super().authenticate(request)
