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

from typing import Any, Literal

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
        Membership.objects.filter(user_id=wearer_id, role=Membership.Role.WEARER)
        .order_by()  # no ORDER BY (and no join for the model's default ordering): a hot path
        .values_list("group_id", flat=True)
    )


def invitation_by_code(code: str) -> QuerySet[Invitation]:
    return Invitation.objects.filter(code=code).select_related("group")


def feed_access(user: User, group_id: int) -> set[int] | None:
    """May `user` follow the live feed of group `group_id`? None if not (outsiders and wearers: the feed
    is for responders); otherwise the ids of the group's wearers whose live vitals they may see."""
    if user is None or not user.is_authenticated:
        return None
    group = groups_visible_to(user).filter(id=group_id).first()
    if group is None:
        return None
    if (
        not user.is_staff
        and not Membership.objects.filter(group=group, user=user, role__in=Membership.RESPONDER_ROLES).exists()
    ):
        return None
    group_wearers = Membership.objects.filter(group=group, role=Membership.Role.WEARER).values("user_id")
    return set(wearers_visible_to(user, scope="live_vitals").filter(id__in=group_wearers).values_list("id", flat=True))


def feed_snapshot(group_id: int, live_wearers: set[int]) -> dict[str, Any]:
    """What a feed client needs to start from: presence of every wearer's devices, latest vitals of
    the wearers who share them."""
    from vitals.models import Device, LatestVitals
    from vitals.services import presence_payload

    wearer_ids = Membership.objects.filter(group_id=group_id, role=Membership.Role.WEARER).values("user_id")
    devices = Device.objects.filter(wearer_id__in=wearer_ids, revoked_at__isnull=True).order_by("id")
    latest = LatestVitals.objects.filter(wearer_id__in=sorted(live_wearers))
    return {
        "group_id": group_id,
        "devices": [presence_payload(d) for d in devices],
        "vitals": [{"wearer_id": row.wearer_id, "values": row.values} for row in latest],
    }
