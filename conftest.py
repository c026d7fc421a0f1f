"""Shared fixtures: the personas every permission test uses.

One family care group ("care_group") with:
- `wearer`: wears the watch; sees everything about themselves.
- `caregiver`: the wearer's daughter; sees the wearer's episodes, and live vitals / location /
  history because the wearer consents (family defaults); responds to episodes.
- `clinician`: assigned to the group; sees every wearer of it (consent does not bind clinicians).
- `outsider`: a Pulsera user in another family; sees nothing of this one: 404 everywhere.
- `admin_member`: the group's admin (manages members and invitations).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from groups.models import CareGroup, Membership
from groups.services import group_create, member_add
from tests.factories import DeviceFactory, UserFactory


@pytest.fixture(autouse=True)
def _detection_gate_forgotten():
    """The detection gate remembers wearers per process; ids are reused between tests."""
    from vitals.services import detection_gate

    detection_gate.forget()


@pytest.fixture
def admin_member(db):
    return UserFactory(email="admin@example.com", display_name="Group Admin")


@pytest.fixture
def care_group(admin_member):
    return group_create(name="The Garcias", kind=CareGroup.Kind.FAMILY, created_by=admin_member)


@pytest.fixture
def wearer(care_group):
    user = UserFactory(email="rosa@example.com", display_name="Rosa Garcia")
    member_add(group=care_group, user=user, role=Membership.Role.WEARER)
    return user


@pytest.fixture
def caregiver(care_group, wearer):
    user = UserFactory(email="elena@example.com", display_name="Elena Garcia")
    member_add(group=care_group, user=user, role=Membership.Role.CAREGIVER, escalation_order=1)
    return user


@pytest.fixture
def clinician(care_group, wearer):
    user = UserFactory(email="dr.patel@example.com", display_name="Dr. Patel")
    member_add(group=care_group, user=user, role=Membership.Role.CLINICIAN)
    return user


@pytest.fixture
def outsider(db):
    user = UserFactory(email="stranger@example.com", display_name="Stranger")
    group_create(name="Other family", kind=CareGroup.Kind.FAMILY, created_by=user)
    return user


@pytest.fixture
def device(wearer):
    return DeviceFactory(wearer=wearer, name="Rosa's watch")


@pytest.fixture
def api():
    """Returns a function giving an APIClient authenticated as a user (or anonymous with None)."""

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return client_for
