"""The episode endpoints beyond the permission matrix: history, SOS, conflicts, location consent."""

from __future__ import annotations

from episodes.models import Episode
from episodes.services import episode_open
from groups.models import Consent


def open_one(wearer, **kw):
    kw.setdefault("kind", Episode.Kind.TACHYCARDIA)
    kw.setdefault("source", Episode.Source.RULE)
    kw.setdefault("location", {"type": "Point", "coordinates": [-3.7, 40.4]})
    return episode_open(wearer=wearer, **kw)[0]


def test_a_wearer_presses_sos(api, wearer):
    response = api(wearer).post("/api/v1/episodes/", {"kind": "sos"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["source"], body["severity"], body["wearer"]["id"]) == (
        "sos",
        "sos",
        "critical",
        wearer.id,
    )


def test_starting_the_same_kind_again_adds_evidence(api, wearer):
    first = api(wearer).post("/api/v1/episodes/", {"kind": "fall"}, format="json")
    second = api(wearer).post("/api/v1/episodes/", {"kind": "fall", "note": "still on the floor"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_history_is_filtered_and_newest_first(api, wearer, caregiver):
    older = open_one(wearer)
    api(caregiver).post(f"/api/v1/episodes/{older.id}/resolve/", {"resolution": "recovered"}, format="json")
    newer = open_one(wearer, kind=Episode.Kind.DESATURATION)
    rows = api(caregiver).get(f"/api/v1/wearers/{wearer.id}/episodes/").json()["results"]
    assert [r["id"] for r in rows] == [newer.id, older.id]
    active = api(caregiver).get("/api/v1/episodes/", {"active": "true"}).json()["results"]
    assert [r["id"] for r in active] == [newer.id]
    by_kind = api(caregiver).get("/api/v1/episodes/", {"kind": "tachycardia", "wearer": wearer.id}).json()["results"]
    assert [r["id"] for r in by_kind] == [older.id]


def test_resolving_twice_answers_409_and_acknowledging_a_resolved_one_too(api, wearer, caregiver, clinician):
    episode = open_one(wearer)
    assert (
        api(caregiver)
        .post(f"/api/v1/episodes/{episode.id}/resolve/", {"resolution": "recovered"}, format="json")
        .status_code
        == 200
    )
    again = api(clinician).post(f"/api/v1/episodes/{episode.id}/resolve/", {"resolution": "false_alarm"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_resolved"
    ack = api(clinician).post(f"/api/v1/episodes/{episode.id}/acknowledge/", {}, format="json")
    assert ack.status_code == 409
    assert ack.json()["error"]["code"] == "illegal_transition"


def test_a_second_acknowledgement_says_someone_was_first(api, wearer, caregiver, clinician):
    episode = open_one(wearer)
    assert api(caregiver).post(f"/api/v1/episodes/{episode.id}/acknowledge/", {}, format="json").json()["acknowledged"]
    late = api(clinician).post(f"/api/v1/episodes/{episode.id}/acknowledge/", {}, format="json").json()
    assert late["acknowledged"] is False
    assert late["episode"]["acknowledged_by"]["id"] == caregiver.id


def test_location_is_hidden_without_the_wearers_consent(api, wearer, caregiver, clinician):
    episode = open_one(wearer)
    url = f"/api/v1/episodes/{episode.id}/"
    assert api(caregiver).get(url).json()["location"] is not None
    Consent.objects.filter(wearer=wearer, viewer=caregiver).update(location=False)
    assert api(caregiver).get(url).json()["location"] is None
    assert api(clinician).get(url).json()["location"] is not None  # duty of care
    assert api(wearer).get(url).json()["location"] is not None


def test_the_timeline_lists_events_oldest_first(api, wearer, caregiver):
    episode = open_one(wearer)
    api(caregiver).post(f"/api/v1/episodes/{episode.id}/acknowledge/", {"message": "calling her"}, format="json")
    rows = api(caregiver).get(f"/api/v1/episodes/{episode.id}/events/").json()["results"]
    assert [r["kind"] for r in rows] == ["opened", "checkin_sent", "acknowledged"]
    assert rows[-1]["message"] == "Acknowledged: calling her"
    assert rows[-1]["actor"]["id"] == caregiver.id
