"""SMS through Twilio's Messages API (any provider with the same API can be pointed at by
PULSERA_SMS_API_BASE). Delivery receipts come back to the status callback (alerts.api)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from . import http
from .base import ChannelError, Outgoing, Receipt, http_error


def configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.PULSERA_SMS_FROM)


def send_sms(out: Outgoing) -> Receipt:
    if not configured():
        raise ChannelError(
            "SMS is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PULSERA_SMS_FROM).", permanent=True
        )
    sid = settings.TWILIO_ACCOUNT_SID
    form = {"To": out.address, "From": settings.PULSERA_SMS_FROM, "Body": out.text[:1500]}
    if settings.PULSERA_PUBLIC_URL:
        form["StatusCallback"] = settings.PULSERA_PUBLIC_URL.rstrip("/") + reverse("alerts:sms-status")
    response = http.post(
        f"{settings.PULSERA_SMS_API_BASE.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json",
        data=form,
        auth=(sid, settings.TWILIO_AUTH_TOKEN),
        headers={"Idempotency-Key": out.key},
    )
    if response.status_code >= 300:
        raise http_error(response.status_code, response.text)
    body = response.json()
    return Receipt(provider_id=str(body.get("sid", "")), delivered=body.get("status") == "delivered")
