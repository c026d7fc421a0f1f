"""WebSocket authentication for people: the session cookie (the portal), or an API token for apps
that cannot send cookies, as `Authorization: Bearer <token>` or the subprotocol `pulsera.token.<token>`.
Tokens never go in the URL (URLs end up in logs)."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

TOKEN_SUBPROTOCOL_PREFIX = "pulsera.token."


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def bearer_token(scope: dict[str, Any]) -> str | None:
    auth = header(scope, b"authorization")
    if auth and auth.lower().startswith(("bearer ", "token ")):
        return auth.split(None, 1)[1].strip()
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return protocol[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    return None


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None


class TokenAuthMiddleware(BaseMiddleware):
    """Runs after the session middleware; a valid token wins over an anonymous session."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = bearer_token(scope)
        if key:
            user = await _user_for_token(key)
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


def PeopleAuthMiddlewareStack(inner: Any) -> Any:
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
