"""Writes about people."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import User


@transaction.atomic
def user_create(*, email: str, password: str | None, display_name: str = "", **fields: Any) -> User:
    """Create a person; the email is normalised to lower case. Raises IntegrityError on a duplicate."""
    user = User.objects.create_user(email=email, password=password, display_name=display_name, **fields)
    user.full_clean(exclude=["password"])
    return user


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Update the profile fields a person may change about themselves."""
    allowed = {"display_name", "phone", "time_zone"}
    changed = [name for name in data if name in allowed]
    for name in changed:
        setattr(user, name, data[name])
    user.full_clean(exclude=["password"])
    user.save(update_fields=changed)
    return user


def api_token_issue(*, user: User) -> Token:
    """The person's API token, created on first use. Rotating: `api_token_revoke` then issue again."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()
