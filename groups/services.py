"""Every write about care groups: creating them, membership, consent, invitations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from pulsera.realtime import broadcast_on_commit, group_feed_name

from .models import CareGroup, Consent, Invitation, Membership

# What a wearer shares with a new caregiver until they change it. Families and care homes look
# after the person day to day; neighbours in a community group see episodes only.
DEFAULT_CONSENT: dict[str, dict[str, bool]] = {
    CareGroup.Kind.FAMILY: {"live_vitals": True, "location": True, "history": True},
    CareGroup.Kind.FACILITY: {"live_vitals": True, "location": True, "history": True},
    CareGroup.Kind.COMMUNITY: {"live_vitals": False, "location": False, "history": False},
}

VIEWER_ROLES = (Membership.Role.CAREGIVER, Membership.Role.ADMIN)


def consents_sync(group: CareGroup) -> None:
    """Keep one Consent row per (wearer, caregiver) pair of the group, and none for anyone else.

    Existing rows keep the wearer's choices; new pairs get the group kind's defaults.
    """
    members = list(Membership.objects.filter(group=group).values_list("user_id", "role"))
    wearers = {uid for uid, role in members if role == Membership.Role.WEARER}
    viewers = {uid for uid, role in members if role in VIEWER_ROLES}
    wanted = {(w, v) for w in wearers for v in viewers if w != v}
    rows = list(Consent.objects.filter(group=group).values_list("id", "wearer_id", "viewer_id"))
    existing = {(wearer_id, viewer_id) for _, wearer_id, viewer_id in rows}
    stale_ids = [row_id for row_id, wearer_id, viewer_id in rows if (wearer_id, viewer_id) not in wanted]
    if stale_ids:
        Consent.objects.filter(id__in=stale_ids).delete()
        # Someone lost access: open live feeds re-check who may see what.
        broadcast_on_commit(group_feed_name(group.id), {"kind": "consent.changed"})
    defaults = DEFAULT_CONSENT[group.kind]
    Consent.objects.bulk_create(
        [Consent(group=group, wearer_id=w, viewer_id=v, **defaults) for w, v in wanted - existing],
        ignore_conflicts=True,
    )


@transaction.atomic
def group_create(*, name: str, kind: str, created_by: User, description: str = "") -> CareGroup:
    """Create a care group; its creator becomes its admin."""
    group = CareGroup(name=name, kind=kind, description=description, created_by=created_by)
    group.full_clean()
    group.save()
    Membership.objects.create(group=group, user=created_by, role=Membership.Role.ADMIN)
    return group


@transaction.atomic
def member_add(*, group: CareGroup, user: User, role: str, escalation_order: int | None = None) -> Membership:
    """Add a person to a group. Raises ValidationError if they are already a member."""
    if Membership.objects.filter(group=group, user=user).exists():
        raise ValidationError({"user": f"{user.email} is already a member of {group.name}."})
    membership = Membership(group=group, user=user, role=role, escalation_order=escalation_order)
    membership.full_clean()
    membership.save()
    consents_sync(group)
    return membership


@transaction.atomic
def member_update(*, membership: Membership, data: dict[str, Any]) -> Membership:
    """Change a member's role or escalation order."""
    changed = [name for name in ("role", "escalation_order") if name in data]
    for name in changed:
        setattr(membership, name, data[name])
    if "role" in changed:
        _last_admin_guard(membership, new_role=membership.role)
    membership.full_clean()
    membership.save(update_fields=changed)
    consents_sync(membership.group)
    return membership


def _last_admin_guard(membership: Membership, *, new_role: str | None) -> None:
    was_admin = Membership.objects.filter(id=membership.id, role=Membership.Role.ADMIN).exists()
    if not was_admin or new_role == Membership.Role.ADMIN:
        return
    admins = Membership.objects.filter(group_id=membership.group_id, role=Membership.Role.ADMIN).count()
    if admins <= 1:
        raise ValidationError("A group needs at least one admin: make someone else admin first.")


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Remove a person from a group; what they could see through it goes with them."""
    _last_admin_guard(membership, new_role=None)
    group = membership.group
    membership.delete()
    consents_sync(group)


@transaction.atomic
def consent_update(*, consent: Consent, data: dict[str, bool]) -> Consent:
    """The wearer changes what one caregiver sees; open live feeds re-check at once."""
    changed = [scope for scope in Consent.SCOPES if scope in data]
    for scope in changed:
        setattr(consent, scope, bool(data[scope]))
    consent.save(update_fields=[*changed, "updated_at"])
    broadcast_on_commit(group_feed_name(consent.group_id), {"kind": "consent.changed", "wearer_id": consent.wearer_id})
    return consent


def invitation_create(
    *, group: CareGroup, role: str, created_by: User, email: str = "", max_uses: int = 1, ttl_hours: int | None = None
) -> Invitation:
    ttl = ttl_hours if ttl_hours is not None else settings.PULSERA_INVITATION_TTL_HOURS
    invitation = Invitation(
        group=group,
        role=role,
        email=email.lower(),
        created_by=created_by,
        max_uses=max_uses,
        expires_at=timezone.now() + timedelta(hours=ttl),
    )
    invitation.full_clean()
    invitation.save()
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> tuple[Membership, bool]:
    """Join the invitation's group. Returns (membership, created).

    Already a member: nothing changes and the invitation is not used up. The use count is claimed with
    a conditional UPDATE, so two people racing for the last use cannot both get in.
    """
    existing = Membership.objects.filter(group=invitation.group, user=user).first()
    if existing is not None:
        return existing, False
    if invitation.email and invitation.email != user.email.lower():
        raise ValidationError("This invitation was made for someone else.")
    now = timezone.now()
    claimed = Invitation.objects.filter(
        id=invitation.id, revoked_at__isnull=True, expires_at__gt=now, uses__lt=F("max_uses")
    ).update(uses=F("uses") + 1)
    if not claimed:
        raise ValidationError("This invitation has expired, was revoked or has been used up.")
    return member_add(group=invitation.group, user=user, role=invitation.role), True


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(id=invitation.id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def invitations_expire(*, older_than_days: int = 30) -> int:
    """Delete invitations that expired more than `older_than_days` ago. Returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = Invitation.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
