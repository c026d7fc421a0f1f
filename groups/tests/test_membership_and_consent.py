"""Membership, consent and the selectors that decide who sees what."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from groups.models import CareGroup, Consent, Membership
from groups.selectors import responders_of, wearers_visible_to
from groups.services import consent_update, group_create, member_add, member_remove, member_update
from tests.factories import UserFactory


def test_the_creator_becomes_admin(admin_member):
    group = group_create(name="New", kind=CareGroup.Kind.FAMILY, created_by=admin_member)
    assert Membership.objects.get(group=group).role == Membership.Role.ADMIN


def test_family_caregivers_get_consent_by_default_and_neighbours_do_not(admin_member):
    family = group_create(name="Family", kind=CareGroup.Kind.FAMILY, created_by=admin_member)
    community = group_create(name="Street", kind=CareGroup.Kind.COMMUNITY, created_by=admin_member)
    wearer, helper = UserFactory(), UserFactory()
    for group in (family, community):
        member_add(group=group, user=wearer, role=Membership.Role.WEARER)
        member_add(group=group, user=helper, role=Membership.Role.CAREGIVER)
    family_consent = Consent.objects.get(group=family, wearer=wearer, viewer=helper)
    street_consent = Consent.objects.get(group=community, wearer=wearer, viewer=helper)
    assert (family_consent.live_vitals, family_consent.location, family_consent.history) == (True, True, True)
    assert (street_consent.live_vitals, street_consent.location, street_consent.history) == (False, False, False)
    # Either consent is enough: the family one lets the helper see live vitals.
    assert wearers_visible_to(helper, scope="live_vitals").filter(id=wearer.id).exists()


def test_a_withdrawn_consent_hides_that_scope_only(wearer, caregiver):
    consent = Consent.objects.get(wearer=wearer, viewer=caregiver)
    consent_update(consent=consent, data={"history": False})
    assert not wearers_visible_to(caregiver, scope="history").filter(id=wearer.id).exists()
    assert wearers_visible_to(caregiver, scope="live_vitals").filter(id=wearer.id).exists()
    assert wearers_visible_to(caregiver).filter(id=wearer.id).exists()  # episodes stay shared


def test_clinicians_are_not_bound_by_consent(wearer, caregiver, clinician):
    Consent.objects.filter(wearer=wearer).update(live_vitals=False, location=False, history=False)
    for scope in Consent.SCOPES:
        assert wearers_visible_to(clinician, scope=scope).filter(id=wearer.id).exists()
        assert not wearers_visible_to(caregiver, scope=scope).filter(id=wearer.id).exists()


def test_removing_a_member_removes_what_they_could_see(care_group, wearer, caregiver):
    member_remove(membership=Membership.objects.get(group=care_group, user=caregiver))
    assert not Consent.objects.filter(viewer=caregiver).exists()
    assert not wearers_visible_to(caregiver).filter(id=wearer.id).exists()
    assert caregiver not in responders_of(wearer)


def test_a_role_change_updates_consent_rows(care_group, wearer, caregiver):
    member_update(membership=Membership.objects.get(group=care_group, user=caregiver), data={"role": "wearer"})
    assert not Consent.objects.filter(viewer=caregiver).exists()
    assert Consent.objects.filter(wearer=caregiver).exists()  # the group's admin now sees them


def test_a_group_keeps_at_least_one_admin(care_group, admin_member):
    only_admin = Membership.objects.get(group=care_group, user=admin_member)
    with pytest.raises(ValidationError):
        member_remove(membership=only_admin)
    with pytest.raises(ValidationError):
        member_update(membership=only_admin, data={"role": "caregiver"})


def test_adding_someone_twice_is_a_clear_error(care_group, caregiver):
    with pytest.raises(ValidationError, match="already a member"):
        member_add(group=care_group, user=caregiver, role=Membership.Role.CAREGIVER)


def test_responders_exclude_wearers_and_include_clinicians(wearer, caregiver, clinician, admin_member):
    assert set(responders_of(wearer)) == {caregiver, clinician, admin_member}


def test_api_members_remove_and_leave(api, care_group, wearer, caregiver, admin_member):
    membership = Membership.objects.get(group=care_group, user=caregiver)
    assert api(caregiver).delete(f"/api/v1/groups/{care_group.id}/members/{membership.id}/").status_code == 204
    last_admin = Membership.objects.get(group=care_group, user=admin_member)
    response = api(admin_member).delete(f"/api/v1/groups/{care_group.id}/members/{last_admin.id}/")
    assert response.status_code == 400
    assert "admin" in response.json()["error"]["message"]


def test_api_add_member_with_unknown_email_suggests_an_invitation(api, care_group, admin_member):
    response = api(admin_member).post(
        f"/api/v1/groups/{care_group.id}/members/", {"email": "nobody@example.com", "role": "caregiver"}, format="json"
    )
    assert response.status_code == 400
    assert "invitation" in response.json()["error"]["fields"]["email"][0]


def test_api_consent_list_shows_each_party_their_rows(api, care_group, wearer, caregiver, clinician):
    mine = api(wearer).get(f"/api/v1/groups/{care_group.id}/consents/").json()["results"]
    assert {row["viewer"]["id"] for row in mine} == set(
        Consent.objects.filter(wearer=wearer).values_list("viewer_id", flat=True)
    )
    assert api(clinician).get(f"/api/v1/groups/{care_group.id}/consents/").json()["results"] == []
    consent = Consent.objects.get(wearer=wearer, viewer=caregiver)
    response = api(wearer).patch(
        f"/api/v1/groups/{care_group.id}/consents/{consent.id}/", {"live_vitals": False}, format="json"
    )
    assert response.json()["live_vitals"] is False
    assert api(caregiver).get(f"/api/v1/wearers/{wearer.id}/vitals/latest/").status_code == 403
