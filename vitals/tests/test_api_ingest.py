"""REST bulk ingest: device-authenticated, idempotent, per-sample rejection, latest vitals kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from vitals.models import LatestVitals, VitalSample
from vitals.services import device_revoke, device_token_rotate

URL = "/api/v1/ingest/"


def stamp(seconds_ago: float) -> str:
    return (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()


def as_device(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


def batch(*sequences: int, **extra):
    return {"samples": [{"sequence": s, "timestamp": stamp(60 - s), "heart_rate": 70 + s, **extra} for s in sequences]}


@pytest.fixture
def watch(device):
    return as_device(device.token)


def test_it_stores_a_batch_and_acks_it(watch, device):
    response = watch.post(URL, {**batch(1, 2, 3), "battery_pct": 64}, format="json")
    assert response.status_code == 201
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": [], "acked": [1, 2, 3]}
    assert VitalSample.objects.filter(device=device).count() == 3
    device.refresh_from_db()
    assert device.battery_pct == 64
    assert device.last_seen_at is not None


def test_resending_a_batch_changes_nothing_and_says_so(watch, device):
    watch.post(URL, batch(1, 2, 3), format="json")
    response = watch.post(URL, batch(1, 2, 3), format="json")
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 3, "rejected": [], "acked": [1, 2, 3]}
    assert VitalSample.objects.filter(device=device).count() == 3


def test_a_sequence_repeated_inside_a_batch_is_stored_once(watch, device):
    response = watch.post(URL, batch(5, 5), format="json")
    assert response.json()["accepted"] == 1
    assert response.json()["duplicates"] == 1
    assert VitalSample.objects.filter(device=device).count() == 1


def test_bad_samples_are_rejected_and_good_ones_kept(watch, device):
    payload = batch(1, 2)
    payload["samples"].append({"sequence": 3, "timestamp": stamp(1), "heart_rate": 900})
    payload["samples"].append({"sequence": 4, "timestamp": "not a time", "heart_rate": 70})
    payload["samples"].append({"sequence": 5, "timestamp": stamp(-3600), "heart_rate": 70})
    response = watch.post(URL, payload, format="json")
    body = response.json()
    assert response.status_code == 201
    assert body["accepted"] == 2
    assert [(r["sequence"], r["reason"]) for r in body["rejected"]] == [
        (3, "out_of_range"),
        (4, "malformed"),
        (5, "in_the_future"),
    ]
    assert "heart_rate" in body["rejected"][0]["errors"]
    assert sorted(VitalSample.objects.filter(device=device).values_list("sequence", flat=True)) == [1, 2]


def test_the_wearer_comes_from_the_token_not_the_payload(watch, device, outsider):
    payload = batch(1)
    payload["samples"][0]["wearer"] = outsider.id
    payload["wearer"] = outsider.id
    watch.post(URL, payload, format="json")
    assert VitalSample.objects.get(device=device).wearer_id == device.wearer_id
    assert not VitalSample.objects.filter(wearer=outsider).exists()


def test_latest_vitals_keep_the_newest_reading_even_when_a_backlog_arrives_late(watch, device):
    watch.post(
        URL, {"samples": [{"sequence": 10, "timestamp": stamp(10), "heart_rate": 80, "spo2": 97}]}, format="json"
    )
    watch.post(
        URL, {"samples": [{"sequence": 1, "timestamp": stamp(3000), "heart_rate": 60, "hrv_ms": 40}]}, format="json"
    )
    values = LatestVitals.objects.get(wearer=device.wearer).values
    assert values["heart_rate"]["value"] == 80
    assert values["spo2"]["value"] == 97
    assert values["hrv_ms"]["value"] == 40  # the only reading of that metric, even though older


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"samples": []}, "empty_batch"),
        ({"readings": []}, "malformed_batch"),
        ([1, 2, 3], "malformed_batch"),
    ],
)
def test_a_bad_envelope_answers_400_with_a_code(watch, payload, code):
    response = watch.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_too_many_samples_answers_400(watch, settings):
    settings.PULSERA_INGEST_MAX_SAMPLES = 5
    response = watch.post(URL, batch(*range(6)), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"


def test_a_huge_body_answers_413(watch):
    response = watch.post(URL, {"samples": [], "padding": "x" * 2_000_000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_malformed_json_answers_400(watch):
    response = watch.post(URL, '{"samples": [', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_unknown_revoked_and_rotated_tokens_are_refused_distinctly(device):
    assert as_device("pd_nope").post(URL, batch(1), format="json").json()["error"]["code"] == "device_token_invalid"
    old = device.token
    new = device_token_rotate(device=device)
    assert as_device(old).post(URL, batch(1), format="json").status_code == 401
    assert as_device(new).post(URL, batch(1), format="json").status_code == 201
    device_revoke(device=device)
    response = as_device(new).post(URL, batch(2), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_token_revoked"


def test_a_person_token_cannot_ingest(api, wearer):
    response = api(wearer).post(URL, batch(1), format="json")
    assert response.status_code == 401
