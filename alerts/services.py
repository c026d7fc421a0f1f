"""Writes about alerts. Creating one records it in the episode timeline in the same transaction."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from episodes.models import Episode, EpisodeEvent
from episodes.services import episode_acknowledge
from groups.selectors import responders_of
from pulsera.realtime import broadcast_on_commit

from .models import Alert


def alert_feed_name(user_id: int) -> str:
    """The channel-layer group carrying one person's own alerts (their mobile app's inbox)."""
    return f"user-{user_id}-alerts"


@transaction.atomic
def alert_create(
    *, episode: Episode, recipient: User, level: str, channel: str, created_by: User | None, message: str = ""
) -> Alert:
    """Create an alert for one responder of the episode's wearer. The row is the durable record;
    the live push is a convenience sent after commit."""
    if not episode.is_active():
        raise ValidationError({"episode": "This episode is resolved; it no longer alerts anyone."})
    if not responders_of(episode.wearer).filter(id=recipient.id).exists():
        raise ValidationError({"recipient": "The recipient is not a caregiver or clinician of this wearer."})
    alert = Alert(
        episode=episode, recipient=recipient, level=level, channel=channel, created_by=created_by, message=message
    )
    alert.full_clean()
    alert.save()
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.ALERT_CREATED,
        actor=created_by,
        source="responder" if created_by else "system",
        message=f"{alert.get_level_display()} alert to {recipient} by {alert.get_channel_display()}",
        data={"alert_id": alert.id, "recipient_id": recipient.id, "channel": channel, "level": level},
    )
    broadcast_on_commit(
        alert_feed_name(recipient.id),
        {"kind": "alert.created", "alert": {"id": alert.id, "episode_id": episode.id, "level": level}},
    )
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by: User) -> bool:
    """The recipient acknowledges; the episode is acknowledged too if nobody had yet.

    Returns False if the alert was already acknowledged or cancelled. Only the recipient (or staff) may.
    """
    if by.id != alert.recipient_id and not by.is_staff:
        raise ValidationError("Only the person this alert was sent to can acknowledge it.")
    now = timezone.now()
    won = (
        Alert.objects.filter(id=alert.id)
        .exclude(state__in=[Alert.State.ACKNOWLEDGED, Alert.State.CANCELLED])
        .update(state=Alert.State.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by)
    )
    alert.refresh_from_db()
    if not won:
        return False
    EpisodeEvent.objects.create(
        episode_id=alert.episode_id,
        kind=EpisodeEvent.Kind.ALERT_ACKNOWLEDGED,
        actor=by,
        source="responder",
        data={"alert_id": alert.id},
    )
    episode = alert.episode
    if episode.is_active():
        episode_acknowledge(episode=episode, by=by, message="Acknowledged from an alert.")
    return True
