"""The alerting API: answering pages, receipts, snoozes, contact channels, chains, the changes feed,
the SMS status callback; and that another group's objects answer 404."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.api import twilio_signature
from alerts.models import Alert, ContactMethod, Delivery, EscalationPolicy
from episodes.services import episode_open


@pytest.fixture
def paged(wearer, caregiver, django_capture_on_commit_callbacks):
    """An SOS: the caregiver is paged at once."""
    with django_capture_on_commit_callbacks(execute=True):
        episode, _ = episode_open(wearer=wearer, kind="sos", source="sos", severity="critical")
    return Alert.objects.get(episode=episode, recipient=caregiver)


def test_a_caregiver_answers_a_page_on_my_way_with_an_eta(api, paged, caregiver):
    r = api(caregiver).post(f"/api/v1/alerts/{paged.id}/acknowledge/", {"response": "on_my_way", "eta_minutes": 15})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["acknowledged"] is True
    assert body["alert"]["state"] == "acknowledged" and body["alert"]["response"] == "on_my_way"
    assert body["alert"]["eta_at"] is not None
    assert {d["channel"] for d in body["alert"]["deliveries"]} == {"in_app", "email"}
    paged.episode.refresh_from_db()
    assert paged.episode.state == "acknowledged"


@pytest.mark.parametrize(
    "payload",
    [{"response": "maybe"}, {"response": "called_them", "eta_minutes": 5}, {"response": "on_my_way", "eta_minutes": 0},
     {"eta_minutes": "soon", "response": "on_my_way"}],
)  # fmt: skip
def test_bad_answers_are_400_with_reasons(api, paged, caregiver, payload):
    r = api(caregiver).post(f"/api/v1/alerts/{paged.id}/acknowledge/", payload, format="json")
    assert r.status_code == 400 and r.json()["error"]["fields"]


def test_only_the_recipient_answers_and_outsiders_get_404(api, paged, clinician, outsider):
    assert api(clinician).post(f"/api/v1/alerts/{paged.id}/acknowledge/", {}).status_code == 403
    assert api(outsider).post(f"/api/v1/alerts/{paged.id}/acknowledge/", {}).status_code == 404
    assert api(outsider).get("/api/v1/alerts/").json()["results"] == []


def test_the_app_confirms_it_showed_the_alert(api, paged, caregiver):
    r = api(caregiver).post(f"/api/v1/alerts/{paged.id}/received/")
    assert r.status_code == 200
    assert {d["channel"]: d["state"] for d in r.json()["deliveries"]}["in_app"] == "delivered"


def test_the_wearer_answers_through_the_api_and_nobody_else_can(api, wearer, caregiver):
    episode, _ = episode_open(wearer=wearer, kind="tachycardia", source="rule")
    assert api(caregiver).post(f"/api/v1/episodes/{episode.id}/respond/", {"answer": "ok"}).status_code == 403
    r = api(wearer).post(f"/api/v1/episodes/{episode.id}/respond/", {"answer": "ok"})
    assert r.status_code == 200 and r.json()["episode"]["wearer_answer"] == "ok"
    assert api(wearer).post(f"/api/v1/episodes/{episode.id}/respond/", {"answer": "nah"}).status_code == 400


def test_snoozes(api, wearer, caregiver, outsider):
    r = api(caregiver).post("/api/v1/snoozes/", {"wearer": wearer.id, "kind": "tachycardia", "minutes": 60})
    assert r.status_code == 201, r.content
    assert [s["kind"] for s in api(caregiver).get("/api/v1/snoozes/").json()["results"]] == ["tachycardia"]
    sos = api(caregiver).post("/api/v1/snoozes/", {"wearer": wearer.id, "kind": "sos", "minutes": 60})
    assert sos.status_code == 400 and "can't be snoozed" in sos.content.decode()
    assert api(outsider).post("/api/v1/snoozes/", {"wearer": wearer.id, "kind": "tachycardia",
                                                   "minutes": 60}).status_code == 400  # fmt: skip
    assert api(outsider).delete(f"/api/v1/snoozes/{r.json()['id']}/").status_code == 404
    assert api(caregiver).delete(f"/api/v1/snoozes/{r.json()['id']}/").status_code == 204


def test_contact_methods_are_validated_and_private(api, caregiver, outsider):
    bad = api(caregiver).post("/api/v1/me/contact-methods/", {"channel": "sms", "address": "600 111"})
    assert bad.status_code == 400 and "E.164" in bad.content.decode()
    hook = api(caregiver).post("/api/v1/me/contact-methods/", {"channel": "webhook", "address": "https://h.example"})
    assert hook.status_code == 400 and "secret" in hook.content.decode()
    ok = api(caregiver).post("/api/v1/me/contact-methods/", {"channel": "sms", "address": "+34600111222"})
    assert ok.status_code == 201
    assert api(outsider).get(f"/api/v1/me/contact-methods/{ok.json()['id']}/").status_code == 404
    assert ContactMethod.objects.get().user == caregiver


def test_group_admins_edit_the_chain_and_others_cannot(api, care_group, admin_member, caregiver, outsider):
    url = f"/api/v1/groups/{care_group.id}/escalation-policies/distress/"
    default = api(caregiver).get(url).json()
    assert default["default"] is True and default["steps"][0]["action"] == "notify_next_caregiver"
    chain = {"name": "Ours", "reminder_minutes": 20, "steps": [
        {"action": "notify_person", "person": caregiver.id, "channel": "sms"},
        {"action": "wait", "wait_minutes": 3},
        {"action": "notify_all_caregivers"},
    ]}  # fmt: skip
    assert api(caregiver).put(url, chain, format="json").status_code == 403
    assert api(outsider).put(url, chain, format="json").status_code == 404
    r = api(admin_member).put(url, chain, format="json")
    assert r.status_code == 200, r.content
    assert [s["action"] for s in r.json()["steps"]] == ["notify_person", "wait", "notify_all_caregivers"]
    assert EscalationPolicy.objects.get().reminder_minutes == 20
    loop = {"steps": [{"action": "notify_all_caregivers"}, {"action": "repeat", "repeat_times": 3}]}
    assert "tight loop" in api(admin_member).put(url, loop, format="json").content.decode()
    stranger = {"steps": [{"action": "notify_person", "person": outsider.id}]}
    assert api(admin_member).put(url, stranger, format="json").status_code == 400
    assert api(admin_member).get(f"/api/v1/groups/{care_group.id}/escalation-policies/other/").status_code == 404


def test_the_changes_feed_catches_an_app_up_from_its_cursor(api, paged, caregiver, outsider, wearer):
    first = api(caregiver).get("/api/v1/changes/?cursor=0").json()
    kinds = [e["kind"] for e in first["events"]]
    assert kinds[:2] == ["opened", "escalated"] and "alert_created" in kinds
    assert first["episodes"][0]["id"] == paged.episode_id
    assert api(outsider).get("/api/v1/changes/?cursor=0").json()["events"] == []
    # Settled events move the cursor; the next call returns only what happened after.
    from episodes.models import EpisodeEvent

    EpisodeEvent.objects.update(at=timezone.now() - timezone.timedelta(seconds=5))
    cursor = api(caregiver).get("/api/v1/changes/?cursor=0").json()["next_cursor"]
    assert cursor == EpisodeEvent.objects.order_by("-id").first().id
    api(caregiver).post(f"/api/v1/alerts/{paged.id}/acknowledge/", {"response": "called_them"})
    later = api(caregiver).get(f"/api/v1/changes/?cursor={cursor}").json()
    assert "acknowledged" in [e["kind"] for e in later["events"]]
    assert api(caregiver).get("/api/v1/changes/?cursor=abc").status_code == 400


def test_the_sms_status_callback_checks_twilios_signature(api, paged, settings):
    settings.TWILIO_AUTH_TOKEN, settings.PULSERA_PUBLIC_URL = "tok", "https://pulsera.example.org"
    delivery = Delivery.objects.create(alert=paged, channel="sms", address="+34600111222", state="sent",
                                       provider_id="SM42")  # fmt: skip
    params = {"MessageSid": "SM42", "MessageStatus": "delivered"}
    url = "https://pulsera.example.org/api/v1/alerts/sms-status/"
    forged = api().post("/api/v1/alerts/sms-status/", params, HTTP_X_TWILIO_SIGNATURE="nope")
    assert forged.status_code == 403
    r = api().post("/api/v1/alerts/sms-status/", params, HTTP_X_TWILIO_SIGNATURE=twilio_signature("tok", url, params))
    assert r.status_code == 204
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.delivered_at is not None


def test_a_caregiver_sets_quiet_hours_on_me(api, caregiver):
    r = api(caregiver).patch("/api/v1/me/", {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, format="json")
    assert r.status_code == 200 and r.json()["quiet_hours_start"] == "22:00:00"
    caregiver.refresh_from_db()
    assert str(caregiver.quiet_hours_end) == "07:00:00"
    half = api(caregiver).patch("/api/v1/me/", {"quiet_hours_start": "23:00"}, format="json")
    assert half.status_code == 400
    assert api(caregiver).patch("/api/v1/me/", {"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"},
                                format="json").status_code == 400  # fmt: skip
