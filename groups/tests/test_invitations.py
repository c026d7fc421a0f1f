"""Invitations by code or link: they expire, run out, can be revoked or tied to one email."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from groups.models import Invitation, Membership
from groups.services import invitation_accept, invitation_create, invitation_revoke, invitations_expire
from tests.factories import InvitationFactory, UserFactory


def test_joining_with_a_code_makes_a_member(care_group, admin_member):
    invitation = invitation_create(group=care_group, role="caregiver", created_by=admin_member)
    newcomer = UserFactory()
    membership, created = invitation_accept(invitation=invitation, user=newcomer)
    assert created
    assert membership.role == Membership.Role.CAREGIVER
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_joining_twice_changes_nothing(care_group, caregiver, admin_member):
    invitation = invitation_create(group=care_group, role="wearer", created_by=admin_member)
    membership, created = invitation_accept(invitation=invitation, user=caregiver)
    assert not created
    assert membership.role == Membership.Role.CAREGIVER
    invitation.refresh_from_db()
    assert invitation.uses == 0


def test_an_invitation_expires(care_group, admin_member):
    invitation = invitation_create(group=care_group, role="caregiver", created_by=admin_member, ttl_hours=1)
    with time_machine.travel(timezone.now() + timedelta(hours=2)), pytest.raises(ValidationError, match="expired"):
        invitation_accept(invitation=invitation, user=UserFactory())


def test_an_invitation_runs_out_and_can_be_revoked(care_group, admin_member):
    single = invitation_create(group=care_group, role="caregiver", created_by=admin_member)
    invitation_accept(invitation=single, user=UserFactory())
    with pytest.raises(ValidationError):
        invitation_accept(invitation=single, user=UserFactory())
    revoked = invitation_create(group=care_group, role="caregiver", created_by=admin_member, max_uses=5)
    invitation_revoke(invitation=revoked)
    with pytest.raises(ValidationError):
        invitation_accept(invitation=revoked, user=UserFactory())


def test_an_invitation_for_one_email_refuses_others(care_group, admin_member):
    invitation = invitation_create(
        group=care_group, role="caregiver", created_by=admin_member, email="Marco@Example.com"
    )
    with pytest.raises(ValidationError, match="someone else"):
        invitation_accept(invitation=invitation, user=UserFactory(email="other@example.com"))
    _, created = invitation_accept(invitation=invitation, user=UserFactory(email="marco@example.com"))
    assert created


def test_old_expired_invitations_are_cleaned_up(db):
    InvitationFactory(expires_at=timezone.now() - timedelta(days=40))
    keep = InvitationFactory(expires_at=timezone.now() - timedelta(days=1))
    assert invitations_expire() == 1
    assert list(Invitation.objects.all()) == [keep]


def test_api_join_by_code_and_link(api, care_group, admin_member):
    created = (
        api(admin_member)
        .post(f"/api/v1/groups/{care_group.id}/invitations/", {"role": "caregiver", "max_uses": 2}, format="json")
        .json()
    )
    assert created["join_url"].endswith(f"/join/{created['code']}")
    newcomer = UserFactory()
    preview = api(newcomer).get(f"/api/v1/invitations/{created['code']}/").json()
    assert (preview["group"]["name"], preview["role"], preview["usable"]) == (care_group.name, "caregiver", True)
    first = api(newcomer).post("/api/v1/invitations/join/", {"code": created["code"]}, format="json")
    again = api(newcomer).post("/api/v1/invitations/join/", {"code": created["code"]}, format="json")
    assert (first.status_code, first.json()["joined"]) == (201, True)
    assert (again.status_code, again.json()["joined"]) == (200, False)
    assert api(newcomer).post("/api/v1/invitations/join/", {"code": "nope"}, format="json").status_code == 404


def test_api_join_an_expired_invitation_is_a_clear_400(api, care_group):
    invitation = InvitationFactory(group=care_group, expires_at=timezone.now() - timedelta(minutes=1))
    response = api(UserFactory()).post("/api/v1/invitations/join/", {"code": invitation.code}, format="json")
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]
