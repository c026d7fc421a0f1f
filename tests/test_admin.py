"""The clinician admin: every page renders, and actions go through services."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from alerts.notify import alert_send
from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_open
from tests.factories import UserFactory, ZoneFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def populated(care_group, wearer, caregiver, clinician, device):
    episode, _ = episode_open(wearer=wearer, kind=Episode.Kind.FALL, source=Episode.Source.RULE)
    alert_send(episode=episode, recipient=caregiver, level="urgent", purpose="page", message="Please look")
    ZoneFactory(group=care_group)
    return episode


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_admin_page_renders(staff_client, populated, model):
    opts = model._meta
    changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    obj = model.objects.first()
    if obj is not None:
        change = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200
    search = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "rosa"})
    assert search.status_code == 200


def test_the_acknowledge_action_uses_the_service(staff_client, populated):
    url = reverse("admin:episodes_episode_changelist")
    response = staff_client.post(url, {"action": "acknowledge", "_selected_action": [populated.id]}, follow=True)
    assert response.status_code == 200
    populated.refresh_from_db()
    assert populated.state == Episode.State.ACKNOWLEDGED
    assert populated.events.filter(kind=EpisodeEvent.Kind.ACKNOWLEDGED).exists()


def test_an_illegal_admin_action_is_refused_with_a_message(staff_client, populated):
    url = reverse("admin:episodes_episode_changelist")
    staff_client.post(url, {"action": "resolve_recovered", "_selected_action": [populated.id]})
    response = staff_client.post(url, {"action": "escalate", "_selected_action": [populated.id]}, follow=True)
    assert b"Refused" in response.content
    populated.refresh_from_db()
    assert populated.state == Episode.State.RESOLVED


def test_the_timeline_is_read_only(staff_client, populated):
    event = populated.events.first()
    url = reverse("admin:episodes_episodeevent_change", args=[event.id])
    staff_client.post(url, {"message": "rewritten history"})
    event.refresh_from_db()
    assert event.message != "rewritten history"


def test_adding_a_device_in_admin_shows_its_token_once(staff_client, wearer):
    url = reverse("admin:vitals_device_add")
    response = staff_client.post(url, {"wearer": wearer.id, "name": "Care-home watch 7", "kind": "watch"}, follow=True)
    assert b"shown once" in response.content
    assert wearer.devices.filter(name="Care-home watch 7").exists()


def test_memberships_edited_in_admin_keep_consent_in_step(staff_client, care_group, wearer, admin_member):
    from groups.models import Consent, Membership

    newcomer = UserFactory(email="cousin@example.com")
    url = reverse("admin:groups_membership_add")
    response = staff_client.post(url, {"group": care_group.id, "user": newcomer.id, "role": "caregiver"})
    assert response.status_code == 302
    assert Consent.objects.filter(wearer=wearer, viewer=newcomer).exists()
    membership = Membership.objects.get(user=newcomer)
    staff_client.post(reverse("admin:groups_membership_delete", args=[membership.id]), {"post": "yes"})
    assert not Consent.objects.filter(viewer=newcomer).exists()
    only_admin = Membership.objects.get(user=admin_member)
    response = staff_client.post(
        reverse("admin:groups_membership_delete", args=[only_admin.id]), {"post": "yes"}, follow=True
    )
    assert b"at least one admin" in response.content
    assert Membership.objects.filter(id=only_admin.id).exists()
