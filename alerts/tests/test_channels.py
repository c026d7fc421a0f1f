"""The provider clients, driven through a fake transport at the HTTP boundary: what they send, how
they read answers, and which failures are permanent (fall back) or transient (retry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core import mail

from alerts.channels import ChannelError, Outgoing, address_problem, http, push
from alerts.channels.email import send_email
from alerts.channels.push import send_push
from alerts.channels.sms import send_sms
from alerts.channels.webhook import send_webhook

OUT = Outgoing(address="+34600111222", subject="Pulsera: High heart rate", text="Rosa: HR 150 at rest", key="k-123",
               urgent=True, data={"episode_id": 5})  # fmt: skip


@pytest.fixture
def fake():
    """Route provider requests to `fake.handler`; records every request."""

    class Fake:
        requests: list[httpx.Request] = []
        handler = staticmethod(lambda request: httpx.Response(200, json={}))

    def dispatch(request: httpx.Request) -> httpx.Response:
        Fake.requests.append(request)
        return Fake.handler(request)

    Fake.requests = []
    http.set_transport(httpx.MockTransport(dispatch))
    yield Fake
    http.set_transport(None)


@pytest.fixture
def twilio(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.PULSERA_SMS_FROM = "AC1", "tok", "+15550001"
    settings.PULSERA_PUBLIC_URL = "https://pulsera.example.org"


def test_sms_posts_twilio_messages_with_auth_and_a_status_callback(fake, twilio):
    fake.handler = staticmethod(lambda r: httpx.Response(201, json={"sid": "SM42", "status": "queued"}))
    receipt = send_sms(OUT)
    assert receipt.provider_id == "SM42" and not receipt.delivered
    request = fake.requests[0]
    assert str(request.url) == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"AC1:tok").decode()
    form = parse_qs(request.content.decode())
    assert form["To"] == ["+34600111222"] and form["From"] == ["+15550001"]
    assert form["StatusCallback"] == ["https://pulsera.example.org/api/v1/alerts/sms-status/"]
    assert request.headers["Idempotency-Key"] == "k-123"


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, True), (429, False), (500, False)])
def test_sms_failures_are_permanent_or_transient(fake, twilio, status, permanent):
    fake.handler = staticmethod(lambda r: httpx.Response(status, json={"code": 21211, "message": "Invalid To"}))
    with pytest.raises(ChannelError) as caught:
        send_sms(OUT)
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in caught.value.message


def test_a_network_failure_is_transient(fake, twilio):
    def boom(request):
        raise httpx.ConnectError("connection refused")

    fake.handler = staticmethod(boom)
    with pytest.raises(ChannelError) as caught:
        send_sms(OUT)
    assert not caught.value.permanent


def test_unconfigured_sms_and_push_fail_permanently_so_the_next_channel_takes_over(fake):
    for send in (send_sms, send_push):
        with pytest.raises(ChannelError) as caught:
            send(OUT)
        assert caught.value.permanent and "not configured" in caught.value.message
    assert fake.requests == []


def test_push_exchanges_a_signed_jwt_for_a_token_then_sends_fcm_v1(fake, settings, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    account = {"client_email": "pulsera@proj.iam.gserviceaccount.com", "private_key": pem,
               "private_key_id": "kid1", "token_uri": "https://oauth2.googleapis.com/token"}  # fmt: skip
    (tmp_path / "sa.json").write_text(json.dumps(account))
    settings.PULSERA_FCM_PROJECT_ID, settings.PULSERA_FCM_CREDENTIALS_FILE = "proj", str(tmp_path / "sa.json")
    push._token.clear()

    def handler(request):
        if request.url.host == "oauth2.googleapis.com":
            return httpx.Response(200, json={"access_token": "ya29.token", "expires_in": 3600})
        return httpx.Response(200, json={"name": "projects/proj/messages/0:123"})

    fake.handler = staticmethod(handler)
    device_token = "f" * 40
    receipt = send_push(Outgoing(**{**OUT.__dict__, "address": device_token}))
    send_push(Outgoing(**{**OUT.__dict__, "address": device_token}))
    assert receipt.provider_id == "projects/proj/messages/0:123"
    token_requests = [r for r in fake.requests if r.url.host == "oauth2.googleapis.com"]
    assert len(token_requests) == 1  # cached
    assertion = parse_qs(token_requests[0].content.decode())["assertion"][0]
    header, claims, signature = assertion.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert decoded["iss"] == account["client_email"] and decoded["aud"] == account["token_uri"]
    signed = f"{header}.{claims}".encode()  # raises if the signature does not verify
    key.public_key().verify(base64.urlsafe_b64decode(signature + "=="), signed, padding.PKCS1v15(), hashes.SHA256())
    send = next(r for r in fake.requests if r.url.host == "fcm.googleapis.com")
    assert str(send.url) == "https://fcm.googleapis.com/v1/projects/proj/messages:send"
    assert send.headers["Authorization"] == "Bearer ya29.token"
    body = json.loads(send.content)["message"]
    assert body["token"] == device_token and body["android"]["priority"] == "high"
    assert body["data"]["idempotency_key"] == "k-123"


def test_webhooks_are_signed_so_receivers_can_verify_them(fake):
    fake.handler = staticmethod(lambda r: httpx.Response(204, headers={"X-Request-Id": "r1"}))
    receipt = send_webhook(Outgoing(**{**OUT.__dict__, "address": "https://hooks.example/p", "secret": "s3cret"}))
    assert receipt.delivered and receipt.provider_id == "r1"
    request = fake.requests[0]
    t, v1 = (part.split("=", 1)[1] for part in request.headers["X-Pulsera-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{t}.".encode() + request.content, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    assert json.loads(request.content)["episode_id"] == 5


def test_email_goes_through_djangos_backend_with_an_idempotency_header():
    receipt = send_email(Outgoing(**{**OUT.__dict__, "address": "elena@example.com"}))
    (message,) = mail.outbox
    assert message.to == ["elena@example.com"] and message.subject == "Pulsera: High heart rate"
    assert message.extra_headers["X-Pulsera-Idempotency-Key"] == "k-123"
    assert receipt.provider_id == message.extra_headers["Message-ID"]


@pytest.mark.parametrize(
    ("channel", "address", "ok"),
    [("email", "a@b.co", True), ("email", "nope", False), ("sms", "+34600111222", True), ("sms", "600111222", False),
     ("webhook", "https://x.example/h", True), ("webhook", "ftp://x", False), ("push", "short", False)],
)  # fmt: skip
def test_addresses_are_checked_per_channel(channel, address, ok):
    assert (address_problem(channel, address) is None) is ok
