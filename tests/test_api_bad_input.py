"""No client mistake ever answers 500: every write endpoint gets junk and must answer 4xx with the
standard error body. Unknown ids answer 404; unknown API paths answer a JSON 404."""

from __future__ import annotations

import pytest

from tests.test_permissions_matrix import ENDPOINTS, _fill, world  # noqa: F401  (fixture)

WRITES = [e for e in ENDPOINTS if e[1] in ("post", "patch")]
JUNK = [
    ("malformed json", '{"name": ', "application/json"),
    ("a json list", "[1, 2, 3]", "application/json"),
    ("a json string", '"hello"', "application/json"),
    ("wrong types", '{"name": 5, "kind": [], "email": {}, "role": 7, "wearer": "x", "episode": "x", "recipient": [],'
     ' "code": {}, "location": "here", "resolution": 3, "escalation_order": "first", "live_vitals": "maybe",'
     ' "samples": {}, "display_name": ["x"], "time_zone": "Mars/Olympus"}', "application/json"),
    ("huge ids", '{"wearer": 99999999999999999999999, "episode": -1, "recipient": 1e400, "escalation_order": 1e9}',
     "application/json"),
    ("form data", "name=x&kind=family", "application/x-www-form-urlencoded"),
    ("xml", "<a/>", "application/xml"),
]  # fmt: skip


# Bodies no endpoint can use; the others may legitimately succeed (form data is accepted, and a partial
# update ignores fields it does not know).
UNUSABLE = {"malformed json", "a json list", "a json string", "xml"}


@pytest.mark.parametrize(("junk_name", "body", "content_type"), JUNK, ids=[j[0] for j in JUNK])
@pytest.mark.parametrize(("name", "method", "url", "_body", "_expected"), WRITES, ids=[w[0] for w in WRITES])
def test_junk_never_answers_500(api, world, junk_name, body, content_type, name, method, url, _body, _expected):  # noqa: F811
    client = api(world.admin)  # the most privileged member: gets furthest into each view
    response = getattr(client, method)(_fill(url, world), body, content_type=content_type)
    detail = f"{name} with {junk_name}: {response.status_code} {response.content[:200]!r}"
    assert response.status_code < 500, detail
    if junk_name in UNUSABLE:
        assert 400 <= response.status_code < 500, detail
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize(("name", "method", "url", "_body", "_expected"), WRITES, ids=[w[0] for w in WRITES])
def test_missing_fields_answer_400_or_succeed_with_defaults(api, world, name, method, url, _body, _expected):  # noqa: F811
    response = getattr(api(world.admin), method)(_fill(url, world), {}, format="json")
    assert response.status_code < 500
    if response.status_code == 400:
        assert response.json()["error"]["code"] in {"validation_error", "invalid", "malformed_batch"}


def test_a_huge_body_answers_413_anywhere(api, world):  # noqa: F811
    response = api(world.admin).post("/api/v1/groups/", {"name": "x" * 2_000_000}, format="json")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/groups/999999/",
        "/api/v1/episodes/999999/",
        "/api/v1/wearers/999999/vitals/latest/",
        "/api/v1/zones/999999/status/",
        "/api/v1/devices/999999/",
        "/api/v1/invitations/no-such-code/",
    ],
)
def test_unknown_ids_answer_404(api, world, url):  # noqa: F811
    response = api(world.caregiver).get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_api_path_answers_json_404(api, world):  # noqa: F811
    response = api(world.caregiver).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_login_with_wrong_password_is_a_clear_400(api, wearer):
    from tests.factories import PASSWORD

    wrong = api(None).post("/api/v1/auth/token/", {"email": wearer.email, "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    right = api(None).post("/api/v1/auth/token/", {"email": wearer.email.upper(), "password": PASSWORD}, format="json")
    assert right.status_code == 200
    token = right.json()["token"]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").json()["email"] == wearer.email
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_me_rejects_an_unknown_time_zone(api, wearer):
    response = api(wearer).patch("/api/v1/me/", {"time_zone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400
    assert "time_zone" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "query",
    [
        "?page=abc",
        "?page=999999",
        "?page_size=-5",
        "?page_size=abc",
        "?started_after=yesterday",
        "?wearer=abc",
        "?state=exploded",
        "?active=perhaps",
        "?since=2026-13-45",
        "?kind=" + "x" * 5000,
    ],
)
@pytest.mark.parametrize(
    "url", ["/api/v1/episodes/", "/api/v1/alerts/", "/api/v1/devices/", "/api/v1/wearers/{wearer}/vitals/"]
)
def test_junk_query_parameters_never_answer_500(api, world, url, query):  # noqa: F811
    response = api(world.caregiver).get(_fill(url, world) + query)
    assert response.status_code in (200, 400, 404), response.content[:200]
    if response.status_code != 200:
        assert set(response.json()["error"]) >= {"code", "message"}
