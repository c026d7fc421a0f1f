"""Getting alerts to people: pages, reminders and all-clears, over each person's channels in order,
with a delivery record (the receipt) for every send.

Every alert is in the app at once (the row is durable; the live feed is a convenience). The person's
external channels are tried one at a time: a channel that fails, or stays unacknowledged for
PULSERA_CHANNEL_FALLBACK_MINUTES, hands over to the next. A delivery is claimed with a lease token
before it is sent, so two workers never send the same row; a send that fails transiently is retried
with exponential backoff by the tick, under the same idempotency key.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from episodes.models import Episode, EpisodeEvent
from groups.selectors import group_ids_of_wearer
from pulsera.realtime import broadcast_on_commit, group_feed_name, user_feed_name

from .channels import SENDERS, ChannelError, Outgoing
from .models import Alert, Channel, ContactMethod, Delivery, EmergencyContact

logger = logging.getLogger(__name__)

DELIVERY_LEASE = timedelta(seconds=60)


def minutes(n: float) -> timedelta:
    """Escalation minutes. PULSERA_ESCALATION_MINUTE_SECONDS shortens them for demos and e2e tests."""
    return timedelta(seconds=n * settings.PULSERA_ESCALATION_MINUTE_SECONDS)


@dataclass(frozen=True)
class Route:
    channel: str
    address: str
    secret: str = ""


def routes_for(*, recipient: User | None, contact: EmergencyContact | None, first: str = "") -> list[Route]:
    """A person's external channels in the order to try them: `first` (the step's channel) if they
    have it, then by position. A member without any falls back to their account email."""
    if recipient is not None:
        methods = list(ContactMethod.objects.filter(user=recipient, enabled=True))
        if not methods and recipient.email:
            return [Route(Channel.EMAIL, recipient.email)]
    elif contact is not None:
        methods = list(ContactMethod.objects.filter(contact=contact, enabled=True))
    else:
        return []
    methods.sort(key=lambda m: (m.channel != first, m.position, m.id))
    return [Route(m.channel, m.address, m.secret) for m in methods]


def alert_payload(alert: Alert) -> dict[str, Any]:
    episode = alert.episode
    return {
        "kind": f"alert.{alert.purpose}",
        "alert": {
            "id": alert.id,
            "purpose": alert.purpose,
            "level": alert.level,
            "recipient_id": alert.recipient_id,
            "episode_id": episode.id,
            "wearer_id": episode.wearer_id,
            "episode_kind": episode.kind,
            "message": alert.message,
            "created_at": alert.created_at.isoformat(),
        },
    }


def _event(episode: Episode, kind: str, message: str, data: dict[str, Any], at: datetime | None = None) -> None:
    EpisodeEvent.objects.create(
        episode=episode, kind=kind, source="system", message=message, data=data, at=at or timezone.now()
    )


def _queue(alert: Alert, route: Route, now: datetime) -> Delivery:
    """A delivery row, already claimed (SENDING with a lease), sent by a task after commit."""
    from .tasks import delivery_send as delivery_send_task

    token = uuid.uuid4().hex
    delivery = Delivery.objects.create(
        alert=alert,
        channel=route.channel,
        address=route.address,
        state=Delivery.State.SENDING,
        lease_until=now + DELIVERY_LEASE,
        next_attempt_at=now,
        lease_token=token,
    )
    transaction.on_commit(lambda: task_enqueue(delivery_send_task, delivery.id, token))
    return delivery


def task_enqueue(task: Any, *args: Any) -> None:
    """Hand work to a worker (or, with PULSERA_ALERT_TASKS=inline, do it here: tests and tools).
    If the broker is down, the tick picks the row up again when its lease expires."""
    if settings.PULSERA_ALERT_TASKS == "inline":
        task(*args)
        return
    try:
        task.apply_async(args=list(args))
    except Exception:
        logger.warning("could not enqueue %s%s; the escalation tick will retry", task.name, args, exc_info=True)


@transaction.atomic
def alert_send(
    *,
    episode: Episode,
    purpose: str,
    level: str,
    message: str,
    recipient: User | None = None,
    contact: EmergencyContact | None = None,
    first_channel: str = "",
    step_position: int | None = None,
    routes: list[Route] | None = None,
    created_by: User | None = None,
) -> Alert:
    """Create one alert and start delivering it: in the app at once, and over the first of the
    person's external channels (or every route given in `routes`, for all-clears)."""
    now = timezone.now()
    alert = Alert.objects.create(
        episode=episode,
        recipient=recipient,
        contact=contact,
        purpose=purpose,
        level=level,
        message=message,
        step_position=step_position,
        created_by=created_by,
        created_at=now,
    )
    used = []
    if recipient is not None:
        Delivery.objects.create(
            alert=alert, channel=Channel.IN_APP, state=Delivery.State.SENT, sent_at=now, address=f"user:{recipient.id}"
        )
        payload = alert_payload(alert)
        broadcast_on_commit(user_feed_name(recipient.id), payload)
        used.append("in app")
    external = routes if routes is not None else routes_for(recipient=recipient, contact=contact, first=first_channel)
    more_channels = purpose == Alert.Purpose.PAGE and len(external) > 1
    if purpose == Alert.Purpose.PAGE:
        external = external[:1]  # the rest are fallbacks
    for route in external:
        _queue(alert, route, now)
        used.append(route.channel)
    fields = {"channel": external[0].channel if external else Channel.IN_APP, "attempts": len(used)}
    if recipient is not None:
        fields.update(state=Alert.State.SENT, sent_at=now)
    if more_channels:
        fields["fallback_at"] = now + minutes(settings.PULSERA_CHANNEL_FALLBACK_MINUTES)
    Alert.objects.filter(id=alert.id).update(**fields)
    alert.refresh_from_db()
    _event(
        episode,
        EpisodeEvent.Kind.ALERT_CREATED if purpose != Alert.Purpose.ALL_CLEAR else EpisodeEvent.Kind.ALL_CLEAR,
        f"{alert.get_purpose_display()} to {alert.who()} ({', '.join(used) or 'no channel'})",
        {"alert_id": alert.id, "purpose": purpose, "recipient_id": alert.recipient_id,
         "contact_id": alert.contact_id, "channels": used, "step": step_position},
        at=now,
    )  # fmt: skip
    return alert


def alert_fallback(*, alert: Alert, reason: str) -> bool:
    """Try the person's next external channel. Returns False when there is none left, or when the
    alert no longer needs it (acknowledged, cancelled, episode resolved)."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("episode", "recipient", "contact")
            .get(id=alert.id)
        )
        if alert.state in (Alert.State.ACKNOWLEDGED, Alert.State.CANCELLED) or not alert.episode.is_active():
            Alert.objects.filter(id=alert.id).update(fallback_at=None)
            return False
        routes = routes_for(recipient=alert.recipient, contact=alert.contact, first=alert.channel)
        tried = set(alert.deliveries.values_list("channel", "address"))
        remaining = [r for r in routes if (r.channel, r.address) not in tried]
        if not remaining:
            Alert.objects.filter(id=alert.id).update(fallback_at=None)
            if not alert.deliveries.filter(state__in=[Delivery.State.SENT, Delivery.State.DELIVERED]).exists():
                Alert.objects.filter(id=alert.id).exclude(state=Alert.State.SENT).update(state=Alert.State.FAILED)
            return False
        now = timezone.now()
        _queue(alert, remaining[0], now)
        later = now + minutes(settings.PULSERA_CHANNEL_FALLBACK_MINUTES) if len(remaining) > 1 else None
        Alert.objects.filter(id=alert.id).update(
            channel=remaining[0].channel, method_index=F("method_index") + 1, attempts=F("attempts") + 1,
            fallback_at=later,
        )  # fmt: skip
        _event(
            alert.episode,
            EpisodeEvent.Kind.STEP,
            f"{reason}: trying {alert.who()} by {remaining[0].channel}",
            {"alert_id": alert.id, "channel": remaining[0].channel},
        )
        return True


def alerts_fallback_due(*, now: datetime | None = None) -> int:
    """The tick: unacknowledged pages whose channel has had its time. Claimed by a conditional
    UPDATE, so two ticks never move the same alert twice."""
    now = now or timezone.now()
    done = 0
    for alert in Alert.objects.filter(fallback_at__lte=now).order_by("fallback_at")[:200]:
        if Alert.objects.filter(id=alert.id, fallback_at=alert.fallback_at).update(fallback_at=None):
            done += alert_fallback(alert=alert, reason="No acknowledgement")
    return done


def _outgoing(delivery: Delivery) -> Outgoing:
    alert = delivery.alert
    episode = alert.episode
    wearer = episode.wearer
    subjects = {
        Alert.Purpose.PAGE: f"Pulsera: {episode.get_kind_display()} - {wearer}",
        Alert.Purpose.REMINDER: f"Pulsera reminder: {wearer} still needs you",
        Alert.Purpose.ALL_CLEAR: f"Pulsera all-clear: {wearer}",
    }
    link = ""
    if settings.PULSERA_PUBLIC_URL:
        link = f"\n\n{settings.PULSERA_PUBLIC_URL.rstrip('/')}/api/v1/episodes/{episode.id}/"
    secret = ""
    if delivery.channel == Channel.WEBHOOK:
        method = ContactMethod.objects.filter(
            Q(user_id=alert.recipient_id) if alert.recipient_id else Q(contact_id=alert.contact_id),
            channel=Channel.WEBHOOK,
            address=delivery.address,
        ).first()
        secret = method.secret if method else ""
    return Outgoing(
        address=delivery.address,
        subject=subjects[alert.purpose],
        text=alert.message + link,
        key=str(delivery.idempotency_key),
        urgent=alert.level in (Alert.Level.URGENT, Alert.Level.CRITICAL),
        data={"episode_id": episode.id, "alert_id": alert.id, "purpose": alert.purpose, "kind": episode.kind},
        secret=secret,
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, settings.PULSERA_DELIVERY_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def delivery_send(*, delivery_id: int, token: str) -> str:
    """Send one claimed delivery. Returns its new state. Safe to run twice: only the holder of the
    lease token may send or record the outcome."""
    delivery = (
        Delivery.objects.filter(id=delivery_id, state=Delivery.State.SENDING, lease_token=token)
        .select_related("alert__episode__wearer", "alert__recipient", "alert__contact")
        .first()
    )
    if delivery is None:
        return "not_mine"
    alert = delivery.alert
    now = timezone.now()
    mine = Delivery.objects.filter(id=delivery.id, lease_token=token)
    if alert.purpose != Alert.Purpose.ALL_CLEAR and (
        alert.state in (Alert.State.ACKNOWLEDGED, Alert.State.CANCELLED) or not alert.episode.is_active()
    ):
        mine.update(state=Delivery.State.CANCELLED, lease_token="", error="No longer needed.", failed_at=now)
        return Delivery.State.CANCELLED
    mine.update(attempts=F("attempts") + 1)
    attempts = delivery.attempts + 1
    try:
        receipt = SENDERS[delivery.channel](_outgoing(delivery))
    except ChannelError as exc:
        final = exc.permanent or attempts >= settings.PULSERA_DELIVERY_MAX_ATTEMPTS
        with transaction.atomic():
            if final:
                won = mine.update(state=Delivery.State.FAILED, error=exc.message, failed_at=now, lease_token="")
            else:
                won = mine.update(
                    state=Delivery.State.QUEUED,
                    error=exc.message,
                    lease_token="",
                    next_attempt_at=now + _backoff(attempts),
                )
            if won:
                _receipt_event(delivery, "failed" if final else f"failed, retrying (attempt {attempts})", exc.message)
        if won and final and alert.purpose == Alert.Purpose.PAGE:
            alert_fallback(alert=alert, reason=f"{delivery.get_channel_display()} failed")
        return Delivery.State.FAILED if final else Delivery.State.QUEUED
    state = Delivery.State.DELIVERED if receipt.delivered else Delivery.State.SENT
    with transaction.atomic():
        won = mine.update(
            state=state, provider_id=receipt.provider_id[:200], sent_at=now, error="", lease_token="",
            delivered_at=now if receipt.delivered else None,
        )  # fmt: skip
        if won:
            Alert.objects.filter(id=alert.id, state__in=[Alert.State.PENDING, Alert.State.FAILED]).update(
                state=Alert.State.SENT, sent_at=now
            )
            _receipt_event(delivery, state, receipt.provider_id)
    return state


def _receipt_event(delivery: Delivery, outcome: str, detail: str) -> None:
    _event(
        delivery.alert.episode,
        EpisodeEvent.Kind.DELIVERY,
        f"{delivery.get_channel_display()} to {delivery.alert.who()}: {outcome}" + (f" ({detail})" if detail else ""),
        {"delivery_id": delivery.id, "alert_id": delivery.alert_id, "channel": delivery.channel, "state": outcome,
         "provider_id": delivery.provider_id or detail},
    )  # fmt: skip


def delivery_receipt(*, delivery: Delivery, delivered: bool, error: str = "") -> bool:
    """A provider's status callback (or the app saying it showed the alert). Returns whether it changed."""
    now = timezone.now()
    if delivered:
        won = Delivery.objects.filter(id=delivery.id, state=Delivery.State.SENT).update(
            state=Delivery.State.DELIVERED, delivered_at=now
        )
    else:
        won = Delivery.objects.filter(id=delivery.id, state__in=[Delivery.State.SENT, Delivery.State.SENDING]).update(
            state=Delivery.State.FAILED, failed_at=now, error=error[:500]
        )
    if won:
        delivery.refresh_from_db()
        _receipt_event(delivery, delivery.state, error)
        if not delivered and delivery.alert.purpose == Alert.Purpose.PAGE:
            alert_fallback(alert=delivery.alert, reason=f"{delivery.get_channel_display()} undelivered")
    return bool(won)


def deliveries_claim_due(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """The tick: queued deliveries whose retry time has come, and sends whose worker died (lease
    expired). Each is claimed with a new token by a conditional UPDATE and returned for sending."""
    now = now or timezone.now()
    due = Delivery.objects.filter(
        Q(state=Delivery.State.QUEUED, next_attempt_at__lte=now) | Q(state=Delivery.State.SENDING, lease_until__lt=now)
    ).order_by("next_attempt_at")
    claimed = []
    for row in due.values("id", "state", "lease_token")[:200]:
        token = uuid.uuid4().hex
        won = Delivery.objects.filter(id=row["id"], state=row["state"], lease_token=row["lease_token"]).update(
            state=Delivery.State.SENDING, lease_token=token, lease_until=now + DELIVERY_LEASE
        )
        if won:
            claimed.append((row["id"], token))
    return claimed


def episode_group_broadcast(episode: Episode, payload: dict[str, Any]) -> None:
    for group_id in group_ids_of_wearer(episode.wearer_id):
        broadcast_on_commit(group_feed_name(group_id), payload)
