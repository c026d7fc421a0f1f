"""The "Clinicians" admin role: idempotent, and read-only where history must not change."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.services import CLINICIANS_GROUP, clinician_role_ensure
from tests.factories import UserFactory


@pytest.mark.django_db
def test_setup_roles_is_idempotent_and_keeps_history_read_only():
    call_command("setup_roles")
    first = set(clinician_role_ensure().permissions.values_list("codename", flat=True))
    call_command("setup_roles")
    group = clinician_role_ensure()
    assert group.name == CLINICIANS_GROUP
    assert set(group.permissions.values_list("codename", flat=True)) == first
    nurse = UserFactory(is_staff=True)
    nurse.groups.add(group)
    assert nurse.has_perm("episodes.change_episode")
    assert nurse.has_perm("episodes.view_episodeevent")
    assert not nurse.has_perm("episodes.change_episodeevent")
    assert not nurse.has_perm("episodes.delete_episode")
    assert not nurse.has_perm("vitals.change_vitalsample")
