"""Email through Django's email backend (EMAIL_URL: SMTP in production, console or files offline)."""

from __future__ import annotations

from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage

from .base import ChannelError, Outgoing, Receipt


def send_email(out: Outgoing) -> Receipt:
    message_id = make_msgid(idstring=out.key[:16], domain="pulsera")
    message = EmailMessage(
        subject=out.subject,
        body=out.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[out.address],
        headers={
            "Message-ID": message_id,
            "X-Pulsera-Idempotency-Key": out.key,
            **({"Importance": "high", "X-Priority": "1"} if out.urgent else {}),
        },
    )
    try:
        sent = message.send(fail_silently=False)
    except OSError as exc:  # SMTP and socket errors: the mail server may be back soon
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
    if not sent:
        raise ChannelError("The email backend accepted nothing.")
    return Receipt(provider_id=message_id)
