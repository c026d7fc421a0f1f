"""Care groups: create, list, members, invitations, consent, and the wearers a person can see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOutput
from accounts.models import User

from .models import CareGroup, Consent, Invitation, Membership
from .selectors import groups_visible_to, invitation_by_code, membership_of, wearers_visible_to
from .services import (
    consent_update,
    group_create,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    member_add,
    member_remove,
    member_update,
)


def _visible_group(user: User, group_id: int) -> CareGroup:
    return get_object_or_404(groups_visible_to(user), id=group_id)


def _require_admin(user: User, group: CareGroup) -> None:
    if user.is_staff:
        return
    membership = membership_of(user=user, group=group)
    if membership is None or membership.role != Membership.Role.ADMIN:
        raise exceptions.PermissionDenied("Only an admin of this group can do that.")


# ---- groups ------------------------------------------------------------------------------------


class GroupOutput(serializers.ModelSerializer):
    class Meta:
        model = CareGroup
        fields = ["id", "name", "kind", "description", "created_at"]
        read_only_fields = fields


class GroupInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=CareGroup.Kind.choices, default=CareGroup.Kind.FAMILY)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class GroupListCreateApi(generics.ListAPIView):
    """The care groups you belong to; create one (you become its admin)."""

    serializer_class = GroupOutput
    filterset_fields = ["kind"]

    def get_queryset(self) -> QuerySet[CareGroup]:
        return groups_visible_to(self.request.user).order_by("name", "id")

    @extend_schema(request=GroupInput, responses={201: GroupOutput})
    def post(self, request: Request) -> Response:
        data = GroupInput(data=request.data)
        data.is_valid(raise_exception=True)
        group = group_create(created_by=request.user, **data.validated_data)
        return Response(GroupOutput(group).data, status=status.HTTP_201_CREATED)


class GroupDetailApi(APIView):
    @extend_schema(responses=GroupOutput)
    def get(self, request: Request, group_id: int) -> Response:
        return Response(GroupOutput(_visible_group(request.user, group_id)).data)


# ---- members -----------------------------------------------------------------------------------


class MembershipOutput(serializers.ModelSerializer):
    user = UserOutput()

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "escalation_order", "joined_at"]
        read_only_fields = fields


class MemberAddInput(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    escalation_order = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    escalation_order = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)


class GroupMembersApi(generics.ListAPIView):
    """Members of a group you belong to; admins add existing Pulsera users by email."""

    serializer_class = MembershipOutput
    queryset = Membership.objects.none()  # for the schema; get_queryset() scopes it
    filterset_fields = ["role"]

    def get_queryset(self) -> QuerySet[Membership]:
        group = _visible_group(self.request.user, self.kwargs["group_id"])
        return group.memberships.select_related("user").order_by("role", "escalation_order", "id")

    @extend_schema(request=MemberAddInput, responses={201: MembershipOutput})
    def post(self, request: Request, group_id: int) -> Response:
        group = _visible_group(request.user, group_id)
        _require_admin(request.user, group)
        data = MemberAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(email__iexact=data.validated_data["email"]).first()
        if user is None:
            raise exceptions.ValidationError(
                {"email": ["No Pulsera account has this email; send them an invitation instead."]}
            )
        membership = member_add(
            group=group,
            user=user,
            role=data.validated_data["role"],
            escalation_order=data.validated_data.get("escalation_order"),
        )
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class GroupMemberDetailApi(APIView):
    def _membership(self, request: Request, group_id: int, membership_id: int) -> Membership:
        group = _visible_group(request.user, group_id)
        return get_object_or_404(group.memberships.select_related("user", "group"), id=membership_id)

    @extend_schema(request=MemberUpdateInput, responses=MembershipOutput)
    def patch(self, request: Request, group_id: int, membership_id: int) -> Response:
        membership = self._membership(request, group_id, membership_id)
        _require_admin(request.user, membership.group)
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(MembershipOutput(member_update(membership=membership, data=data.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: int, membership_id: int) -> Response:
        """Admins remove anyone; every member may leave."""
        membership = self._membership(request, group_id, membership_id)
        if membership.user_id != request.user.id:
            _require_admin(request.user, membership.group)
        member_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- invitations -------------------------------------------------------------------------------


class InvitationOutput(serializers.ModelSerializer):
    group = GroupOutput()
    join_url = serializers.SerializerMethodField()
    usable = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "code", "join_url", "group", "role", "email", "expires_at", "max_uses", "uses", "usable"]
        read_only_fields = fields

    def get_join_url(self, obj: Invitation) -> str:
        return f"{settings.PULSERA_PUBLIC_URL.rstrip('/')}/join/{obj.code}"

    def get_usable(self, obj: Invitation) -> bool:
        return obj.is_usable()


class InvitationInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    max_uses = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    ttl_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, required=False)


class GroupInvitationsApi(generics.ListAPIView):
    """A group's invitations (admins only); create one to share as a code or a link."""

    serializer_class = InvitationOutput
    queryset = Invitation.objects.none()  # for the schema; get_queryset() scopes it

    def get_queryset(self) -> QuerySet[Invitation]:
        group = _visible_group(self.request.user, self.kwargs["group_id"])
        _require_admin(self.request.user, group)
        return group.invitations.select_related("group")

    @extend_schema(request=InvitationInput, responses={201: InvitationOutput})
    def post(self, request: Request, group_id: int) -> Response:
        group = _visible_group(request.user, group_id)
        _require_admin(request.user, group)
        data = InvitationInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(group=group, created_by=request.user, **data.validated_data)
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class GroupInvitationRevokeApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: int, invitation_id: int) -> Response:
        group = _visible_group(request.user, group_id)
        _require_admin(request.user, group)
        invitation_revoke(invitation=get_object_or_404(group.invitations, id=invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationPreviewApi(APIView):
    """What an invitation code leads to, before joining."""

    @extend_schema(responses=InvitationOutput)
    def get(self, request: Request, code: str) -> Response:
        return Response(InvitationOutput(get_object_or_404(invitation_by_code(code))).data)


class JoinInput(serializers.Serializer):
    code = serializers.CharField(max_length=64)


class JoinOutput(serializers.Serializer):
    joined = serializers.BooleanField()
    membership = MembershipOutput()
    group = GroupOutput()


class InvitationJoinApi(APIView):
    """Join a group with an invitation code. Joining twice changes nothing and says so."""

    @extend_schema(request=JoinInput, responses={201: JoinOutput, 200: JoinOutput})
    def post(self, request: Request) -> Response:
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = get_object_or_404(invitation_by_code(data.validated_data["code"]))
        membership, created = invitation_accept(invitation=invitation, user=request.user)
        body = {
            "joined": created,
            "membership": MembershipOutput(membership).data,
            "group": GroupOutput(invitation.group).data,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# ---- consent -----------------------------------------------------------------------------------


class ConsentOutput(serializers.ModelSerializer):
    wearer = UserOutput()
    viewer = UserOutput()

    class Meta:
        model = Consent
        fields = ["id", "group", "wearer", "viewer", "live_vitals", "location", "history", "updated_at"]
        read_only_fields = fields


class ConsentInput(serializers.Serializer):
    live_vitals = serializers.BooleanField(required=False)
    location = serializers.BooleanField(required=False)
    history = serializers.BooleanField(required=False)


def _consents_of(user: User, group: CareGroup) -> QuerySet[Consent]:
    """The consents a person gives (as wearer) or receives (as caregiver) in a group."""
    from django.db.models import Q

    return group.consents.filter(Q(wearer=user) | Q(viewer=user)).select_related("wearer", "viewer")


class GroupConsentsApi(generics.ListAPIView):
    """What each wearer shares with each caregiver: wearers see what they give, caregivers what they get."""

    serializer_class = ConsentOutput
    queryset = Consent.objects.none()  # for the schema; get_queryset() scopes it

    def get_queryset(self) -> QuerySet[Consent]:
        group = _visible_group(self.request.user, self.kwargs["group_id"])
        return _consents_of(self.request.user, group).order_by("id")


class GroupConsentDetailApi(APIView):
    @extend_schema(request=ConsentInput, responses=ConsentOutput)
    def patch(self, request: Request, group_id: int, consent_id: int) -> Response:
        """Only the wearer changes what they share."""
        group = _visible_group(request.user, group_id)
        consent = get_object_or_404(_consents_of(request.user, group), id=consent_id)
        if consent.wearer_id != request.user.id:
            raise exceptions.PermissionDenied("Only the wearer decides what they share.")
        data = ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(ConsentOutput(consent_update(consent=consent, data=data.validated_data)).data)


# ---- wearers -----------------------------------------------------------------------------------


class WearerOutput(serializers.ModelSerializer):
    access = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "display_name", "phone", "time_zone", "access"]
        read_only_fields = fields

    def get_access(self, obj: User) -> dict[str, bool]:
        scopes: dict[str, set[int]] = self.context["scopes"]
        return {"episodes": True, **{scope: obj.id in ids for scope, ids in scopes.items()}}


class WearerListApi(generics.ListAPIView):
    """The people whose episodes you can see, and what else each shares with you."""

    serializer_class = WearerOutput

    def get_queryset(self) -> QuerySet[User]:
        return wearers_visible_to(self.request.user).order_by("display_name", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        user = self.request.user
        scopes = {
            scope: set(wearers_visible_to(user, scope=scope).values_list("id", flat=True)) for scope in Consent.SCOPES
        }
        return {**super().get_serializer_context(), "scopes": scopes}
