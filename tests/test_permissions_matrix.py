"""Every endpoint against every persona (see conftest.py for who may see what).

404 means "invisible": another group's objects answer as if they did not exist. 403 means "you can
see it, but that action is not yours" (a wearer acknowledging their own episode, a caregiver
rotating the wearer's device token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from alerts.notify import alert_send
from episodes.models import Episode
from episodes.services import episode_open
from groups.models import Consent
from groups.services import invitation_create
from tests.factories import ZoneFactory


@dataclass
class World:
    group: Any
    wearer: Any
    caregiver: Any
    clinician: Any
    outsider: Any
    admin: Any
    device: Any
    episode: Any
    alert: Any
    zone: Any
    invitation: Any
    consent: Any


@pytest.fixture
def world(care_group, wearer, caregiver, clinician, outsider, admin_member, device):
    episode, _ = episode_open(
        wearer=wearer,
        kind=Episode.Kind.TACHYCARDIA,
        source=Episode.Source.RULE,
        severity=Episode.Severity.HIGH,
        location={"type": "Point", "coordinates": [-3.70, 40.41]},
    )
    alert = alert_send(episode=episode, recipient=caregiver, level="urgent", purpose="page", message="Please look")
    return World(
        group=care_group,
        wearer=wearer,
        caregiver=caregiver,
        clinician=clinician,
        outsider=outsider,
        admin=admin_member,
        device=device,
        episode=episode,
        alert=alert,
        zone=ZoneFactory(group=care_group),
        invitation=invitation_create(group=care_group, role="caregiver", created_by=admin_member, max_uses=10),
        consent=Consent.objects.get(group=care_group, wearer=wearer, viewer=caregiver),
    )


# (name, method, url, body, expected status for wearer, caregiver, clinician, outsider)
ENDPOINTS: list[tuple[str, str, str, Any, tuple[int, int, int, int]]] = [
    ("me", "get", "/api/v1/me/", None, (200, 200, 200, 200)),
    ("me update", "patch", "/api/v1/me/", {"display_name": "New name"}, (200, 200, 200, 200)),
    ("groups", "get", "/api/v1/groups/", None, (200, 200, 200, 200)),
    ("group create", "post", "/api/v1/groups/", {"name": "Mine", "kind": "family"}, (201, 201, 201, 201)),
    ("group", "get", "/api/v1/groups/{group}/", None, (200, 200, 200, 404)),
    ("members", "get", "/api/v1/groups/{group}/members/", None, (200, 200, 200, 404)),
    ("member add", "post", "/api/v1/groups/{group}/members/", {"email": "{outsider_email}", "role": "caregiver"},
     (403, 403, 403, 404)),
    ("member update", "patch", "/api/v1/groups/{group}/members/{caregiver_membership}/", {"escalation_order": 2},
     (403, 403, 403, 404)),
    ("member remove", "delete", "/api/v1/groups/{group}/members/{caregiver_membership}/", None, (403, 204, 403, 404)),
    ("invitations", "get", "/api/v1/groups/{group}/invitations/", None, (403, 403, 403, 404)),
    ("invitation create", "post", "/api/v1/groups/{group}/invitations/", {"role": "caregiver"}, (403, 403, 403, 404)),
    ("invitation revoke", "delete", "/api/v1/groups/{group}/invitations/{invitation}/", None, (403, 403, 403, 404)),
    ("invitation preview", "get", "/api/v1/invitations/{code}/", None, (200, 200, 200, 200)),
    ("join", "post", "/api/v1/invitations/join/", {"code": "{code}"}, (200, 200, 200, 201)),
    ("consents", "get", "/api/v1/groups/{group}/consents/", None, (200, 200, 200, 404)),
    ("consent update", "patch", "/api/v1/groups/{group}/consents/{consent}/", {"location": False}, (200, 403, 404, 404)),
    ("wearers", "get", "/api/v1/wearers/", None, (200, 200, 200, 200)),
    ("latest vitals", "get", "/api/v1/wearers/{wearer}/vitals/latest/", None, (200, 200, 200, 404)),
    ("vitals history", "get", "/api/v1/wearers/{wearer}/vitals/", None, (200, 200, 200, 404)),
    ("wearer episodes", "get", "/api/v1/wearers/{wearer}/episodes/", None, (200, 200, 200, 404)),
    ("devices", "get", "/api/v1/devices/", None, (200, 200, 200, 200)),
    ("device register", "post", "/api/v1/devices/", {"name": "My watch"}, (201, 201, 201, 201)),
    ("device", "get", "/api/v1/devices/{device}/", None, (200, 200, 200, 404)),
    ("device rotate", "post", "/api/v1/devices/{device}/rotate-token/", None, (200, 403, 403, 404)),
    ("device revoke", "post", "/api/v1/devices/{device}/revoke/", None, (200, 403, 403, 404)),
    ("episodes", "get", "/api/v1/episodes/", None, (200, 200, 200, 200)),
    ("episode start", "post", "/api/v1/episodes/", {"wearer": "{wearer}", "kind": "other"}, (201, 201, 201, 400)),
    ("episode", "get", "/api/v1/episodes/{episode}/", None, (200, 200, 200, 404)),
    ("episode timeline", "get", "/api/v1/episodes/{episode}/events/", None, (200, 200, 200, 404)),
    ("episode acknowledge", "post", "/api/v1/episodes/{episode}/acknowledge/", {}, (403, 200, 200, 404)),
    ("episode resolve", "post", "/api/v1/episodes/{episode}/resolve/", {"resolution": "recovered"}, (403, 200, 200, 404)),
    ("alerts", "get", "/api/v1/alerts/", None, (200, 200, 200, 200)),
    ("alert create", "post", "/api/v1/alerts/", {"episode": "{episode}", "recipient": "{clinician}"}, (400, 201, 201, 400)),
    ("alert acknowledge", "post", "/api/v1/alerts/{alert}/acknowledge/", None, (403, 200, 403, 404)),
    ("alert received", "post", "/api/v1/alerts/{alert}/received/", None, (403, 200, 403, 404)),
    ("episode respond", "post", "/api/v1/episodes/{episode}/respond/", {"answer": "ok"}, (200, 403, 403, 404)),
    ("snoozes", "get", "/api/v1/snoozes/", None, (200, 200, 200, 200)),
    ("snooze create", "post", "/api/v1/snoozes/", {"wearer": "{wearer}", "kind": "tachycardia", "minutes": 30},
     (400, 201, 201, 400)),
    ("contact methods", "get", "/api/v1/me/contact-methods/", None, (200, 200, 200, 200)),
    ("escalation policy", "get", "/api/v1/groups/{group}/escalation-policies/distress/", None, (200, 200, 200, 404)),
    ("escalation policy edit", "put", "/api/v1/groups/{group}/escalation-policies/distress/",
     {"steps": [{"action": "notify_all_caregivers"}]}, (403, 403, 403, 404)),
    ("changes", "get", "/api/v1/changes/?cursor=0", None, (200, 200, 200, 200)),
    ("zones", "get", "/api/v1/zones/", None, (200, 200, 200, 200)),
    ("zone status", "get", "/api/v1/zones/{zone}/status/", None, (200, 200, 200, 404)),
]  # fmt: skip
PERSONAS = ("wearer", "caregiver", "clinician", "outsider")


def _fill(template: Any, w: World) -> Any:
    values = {
        "group": w.group.id,
        "wearer": w.wearer.id,
        "clinician": w.clinician.id,
        "device": w.device.id,
        "episode": w.episode.id,
        "alert": w.alert.id,
        "zone": w.zone.id,
        "invitation": w.invitation.id,
        "code": w.invitation.code,
        "consent": w.consent.id,
        "outsider_email": w.outsider.email,
        "caregiver_membership": w.group.memberships.get(user=w.caregiver).id,
    }
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template.count("{") == 1:
            return values[template[1:-1]]
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, w) for k, v in template.items()}
    return template


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_persona_matrix(api, world, persona, name, method, url, body, expected):
    client = api(getattr(world, persona))
    response = getattr(client, method)(_fill(url, world), _fill(body, world), format="json")
    want = expected[PERSONAS.index(persona)]
    assert response.status_code == want, f"{persona} {method.upper()} {name}: {response.content[:300]!r}"
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_anonymous_is_refused_everywhere(api, world, name, method, url, body, expected):
    response = getattr(api(None), method)(_fill(url, world), _fill(body, world), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/api/v1/groups/", "group"),
        ("/api/v1/wearers/", "wearer"),
        ("/api/v1/devices/", "device"),
        ("/api/v1/episodes/", "episode"),
        ("/api/v1/alerts/", "alert"),
        ("/api/v1/zones/", "zone"),
    ],
)
def test_it_hides_other_groups_in_lists(api, world, url, key):
    target = getattr(world, key).id
    outsider_ids = {row["id"] for row in api(world.outsider).get(url).json()["results"]}
    caregiver_ids = {row["id"] for row in api(world.caregiver).get(url).json()["results"]}
    assert target not in outsider_ids
    assert target in caregiver_ids


def test_group_admin_manages_members_and_invitations(api, world):
    client = api(world.admin)
    added = client.post(
        f"/api/v1/groups/{world.group.id}/members/", {"email": world.outsider.email, "role": "caregiver"}, format="json"
    )
    assert added.status_code == 201
    assert (
        client.post(f"/api/v1/groups/{world.group.id}/invitations/", {"role": "wearer"}, format="json").status_code
        == 201
    )
    assert client.get(f"/api/v1/groups/{world.group.id}/invitations/").json()["count"] == 2
    # The new caregiver now sees the wearer (consent defaults of a family group).
    assert api(world.outsider).get(f"/api/v1/wearers/{world.wearer.id}/vitals/latest/").status_code == 200


def test_staff_see_everything(api, world):
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    assert api(staff).get(f"/api/v1/episodes/{world.episode.id}/").status_code == 200
    assert api(staff).get(f"/api/v1/wearers/{world.wearer.id}/vitals/").status_code == 200
    assert api(staff).get(f"/api/v1/zones/{world.zone.id}/status/").status_code == 200
