"""Writes about people."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from .models import User


def user_update(*, user: User, data: dict[str, Any]) -> User:
    """Update the profile fields a person may change about themselves."""
    allowed = {"display_name", "phone", "time_zone", "quiet_hours_start", "quiet_hours_end"}
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


# What a clinician on the care team may do in the admin. Timelines and samples are history: view only.
CLINICIAN_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "accounts.user": ("view",),
    "groups.caregroup": ("view", "add", "change"),
    "groups.membership": ("view", "add", "change", "delete"),
    "groups.consent": ("view",),
    "groups.invitation": ("view", "add", "change"),
    "vitals.device": ("view", "add", "change"),
    "vitals.vitalsample": ("view",),
    "vitals.latestvitals": ("view",),
    "episodes.episode": ("view", "change"),
    "episodes.episodeevent": ("view",),
    "alerts.alert": ("view", "change"),
    "alerts.escalationpolicy": ("view", "add", "change"),
    "alerts.escalationstep": ("view", "add", "change", "delete"),
    "zones.zone": ("view", "add", "change"),
    "inference.detectionsettings": ("view", "add", "change", "delete"),
    "inference.wearerdetectorstate": ("view",),
    "inference.modelversion": ("view",),
}
CLINICIANS_GROUP = "Clinicians"


def clinician_role_ensure() -> AuthGroup:
    """Create or update the "Clinicians" permission group for staff clinicians (idempotent)."""
    group, _ = AuthGroup.objects.get_or_create(name=CLINICIANS_GROUP)
    wanted = []
    for label, actions in CLINICIAN_PERMISSIONS.items():
        app_label, model = label.split(".")
        for action in actions:
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}"))
    group.permissions.set(wanted)
    return group
