"""Who may see what. Every id that comes from a request is resolved through one of these.

The rules, in one place:
- a person always sees themselves;
- staff see everything;
- a clinician sees every wearer of the groups they are assigned to (duty of care: consent scopes
  do not apply to them);
- a caregiver or group admin sees the wearers of their groups and their episodes; live vitals,
  location and history only where that wearer consented (groups.Consent);
- anyone else sees nothing, and the API answers 404 as if the object did not exist.
"""

from __future__ import annotations

from typing import Literal

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import CareGroup, Consent, Invitation, Membership

Scope = Literal["live_vitals", "location", "history"]


def groups_visible_to(user: User) -> QuerySet[CareGroup]:
    if not user.is_authenticated:
        return CareGroup.objects.none()
    if user.is_staff:
        return CareGroup.objects.all()
    return CareGroup.objects.filter(id__in=Membership.objects.filter(user=user).values("group_id"))


def groups_administered_by(user: User) -> QuerySet[CareGroup]:
    if user.is_staff:
        return CareGroup.objects.all()
    return CareGroup.objects.filter(
        id__in=Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values("group_id")
    )


def membership_of(*, user: User, group: CareGroup) -> Membership | None:
    return Membership.objects.filter(user=user, group=group).first()


def _wearer_ids_in(groups: QuerySet[Membership]) -> QuerySet[Membership]:
    return Membership.objects.filter(role=Membership.Role.WEARER, group_id__in=groups.values("group_id")).values(
        "user_id"
    )


def _all_wearer_ids() -> QuerySet[Membership]:
    return Membership.objects.filter(role=Membership.Role.WEARER).values("user_id")


def wearers_visible_to(user: User, *, scope: Scope | None = None) -> QuerySet[User]:
    """The people whose data `user` may see: with `scope`, only those who share that scope with them.

    Built from subqueries (no joins, no DISTINCT), so it composes with filters and pagination.
    """
    if not user.is_authenticated:
        return User.objects.none()
    if user.is_staff:
        return User.objects.filter(Q(id=user.id) | Q(id__in=_all_wearer_ids()))

    mine = Membership.objects.filter(user=user)
    visible = Q(id=user.id) | Q(id__in=_wearer_ids_in(mine.filter(role=Membership.Role.CLINICIAN)))
    caregiving = mine.filter(role__in=[Membership.Role.CAREGIVER, Membership.Role.ADMIN])
    if scope is None:
        visible |= Q(id__in=_wearer_ids_in(caregiving))
    else:
        consented = Consent.objects.filter(
            viewer=user, group_id__in=caregiving.values("group_id"), **{scope: True}
        ).values("wearer_id")
        visible |= Q(id__in=_wearer_ids_in(caregiving)) & Q(id__in=consented)
    return User.objects.filter(visible)


def wearers_responded_by(user: User) -> QuerySet[User]:
    """The wearers whose episodes `user` responds to (acknowledge, resolve, is paged for)."""
    if user.is_staff:
        return User.objects.filter(id__in=_all_wearer_ids())
    responding = Membership.objects.filter(user=user, role__in=Membership.RESPONDER_ROLES)
    return User.objects.filter(id__in=_wearer_ids_in(responding))


def responders_of(wearer: User) -> QuerySet[User]:
    """Everyone who responds to `wearer`'s episodes, across all the groups the wearer is in."""
    groups = Membership.objects.filter(user=wearer, role=Membership.Role.WEARER).values("group_id")
    return User.objects.filter(
        id__in=Membership.objects.filter(group_id__in=groups, role__in=Membership.RESPONDER_ROLES).values("user_id")
    ).exclude(id=wearer.id)


def group_ids_of_wearer(wearer_id: int) -> list[int]:
    """The care groups whose live feed carries this wearer's events."""
    return list(
        Membership.objects.filter(user_id=wearer_id, role=Membership.Role.WEARER).values_list("group_id", flat=True)
    )


def invitation_by_code(code: str) -> QuerySet[Invitation]:
    return Invitation.objects.filter(code=code).select_related("group")
