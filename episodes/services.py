"""Every write about episodes. Each transition is a conditional UPDATE (exactly one racer wins, no
row locks), recorded in the timeline in the same transaction, and broadcast after commit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from groups.selectors import group_ids_of_wearer
from pulsera.realtime import broadcast_on_commit, group_feed_name
from zones.geometry import GeometryError, point_validate
from zones.models import Zone

from . import state_machine as sm
from .models import Episode, EpisodeEvent, ExplainedCause

logger = logging.getLogger(__name__)


def episode_payload(episode: Episode, event: str) -> dict[str, Any]:
    return {
        "kind": event,
        "episode": {
            "id": episode.id,
            "wearer_id": episode.wearer_id,
            "kind": episode.kind,
            "severity": episode.severity,
            "state": episode.state,
            "started_at": episode.started_at.isoformat(),
            "resolution": episode.resolution,
        },
    }


def _broadcast(episode: Episode, event: str) -> None:
    payload = episode_payload(episode, event)
    for group_id in group_ids_of_wearer(episode.wearer_id):
        broadcast_on_commit(group_feed_name(group_id), payload)


def _actor_source(actor: User | None, episode: Episode) -> str:
    if actor is None:
        return "system"
    return "wearer" if actor.id == episode.wearer_id else "responder"


@transaction.atomic
def episode_open(
    *,
    wearer: User,
    kind: str,
    source: str,
    severity: str = Episode.Severity.MEDIUM,
    actor: User | None = None,
    score: float | None = None,
    explanation: str = "",
    location: dict[str, Any] | None = None,
    zone: Zone | None = None,
) -> tuple[Episode, bool]:
    """Open an episode, or add evidence to the active one of the same wearer and kind (or of a kind
    that is the same event to the people paged: a high heart rate, sudden or not).

    Returns (episode, created). New evidence may raise the severity, never lower it. Safe under
    concurrency: the partial unique index lets only one active episode per (wearer, kind) exist.
    """
    if location is not None:
        try:
            point_validate(location)
        except GeometryError as exc:
            raise ValidationError({"location": str(exc)}) from exc
    same_event = Episode.SAME_EVENT_KINDS.get(kind, (kind,))
    active = (
        Episode.objects.select_for_update()
        .filter(wearer=wearer, kind__in=same_event)
        .exclude(state=sm.RESOLVED)
        .order_by("started_at")
        .first()
    )
    if active is None:
        try:
            with transaction.atomic():
                episode = Episode.objects.create(
                    wearer=wearer,
                    kind=kind,
                    source=source,
                    severity=severity,
                    score=score,
                    explanation=explanation,
                    location=location,
                    zone=zone,
                    last_evidence_at=timezone.now(),
                )
        except IntegrityError:
            # Another process opened it a moment ago: treat this call as new evidence for it.
            active = Episode.objects.select_for_update().get(wearer=wearer, kind=kind, state__in=sm.ACTIVE_STATES)
        else:
            EpisodeEvent.objects.create(
                episode=episode,
                at=episode.started_at,
                kind=EpisodeEvent.Kind.OPENED,
                actor=actor,
                source=source,
                to_state=episode.state,
                message=explanation,
                data={"severity": severity, "score": score},
            )
            _broadcast(episode, "episode.opened")
            # Downstream, in the same transaction: an episode never exists without its escalation.
            from alerts.escalation import escalation_start

            escalation_start(episode=episode)
            return episode, True
    _evidence_add(episode=active, severity=severity, score=score, explanation=explanation, source=source, actor=actor)
    return active, False


# Detection re-confirms an active episode every few seconds; the timeline records evidence when it
# raises the severity or the score, and otherwise at most this often, so people can still read it.
EVIDENCE_EVENT_INTERVAL = timedelta(minutes=5)


def _evidence_add(
    *, episode: Episode, severity: str, score: float | None, explanation: str, source: str, actor: User | None
) -> None:
    fields = ["last_evidence_at"]
    episode.last_evidence_at = timezone.now()
    if Episode.SEVERITY_RANK[severity] > Episode.SEVERITY_RANK[episode.severity]:
        episode.severity = severity
        fields.append("severity")
    if score is not None and (episode.score is None or score > episode.score):
        episode.score = score
        fields.append("score")
    episode.save(update_fields=[*fields, "updated_at"])
    last = episode.events.filter(kind=EpisodeEvent.Kind.EVIDENCE).order_by("-at").values_list("at", flat=True).first()
    if fields == ["last_evidence_at"] and last is not None and timezone.now() - last < EVIDENCE_EVENT_INTERVAL:
        return
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.EVIDENCE,
        actor=actor,
        source=source,
        message=explanation,
        data={"severity": severity, "score": score},
    )
    _broadcast(episode, "episode.updated")
    if "severity" in fields and episode.is_red_flag():
        from alerts.escalation import escalation_due_now  # downstream: a red flag skips the check-in

        escalation_due_now(episode=episode)


def _transition(
    *, episode: Episode, target: str, event: str, actor: User | None, message: str = "", **updates: Any
) -> bool:
    """Move `episode` to `target` if its current state allows it. Returns True if this call did it,
    False if the episode is already in `target` (someone else was first: nothing changes).

    Raises IllegalTransition when the current state never leads to `target` (e.g. acknowledging a
    resolved episode).
    """
    current = Episode.objects.filter(id=episode.id).values_list("state", flat=True).first()
    if current is None:
        raise Episode.DoesNotExist
    if current == target:
        episode.refresh_from_db()
        return False
    sm.transition_check(current, target)
    won = Episode.objects.filter(id=episode.id, state=current).update(
        state=target, updated_at=timezone.now(), **updates
    )
    if not won:
        # The state changed under us; decide again against the new state.
        return _transition(episode=episode, target=target, event=event, actor=actor, message=message, **updates)
    episode.refresh_from_db()
    EpisodeEvent.objects.create(
        episode=episode,
        kind=event,
        actor=actor,
        source=_actor_source(actor, episode),
        from_state=current,
        to_state=target,
        message=message,
        data={k: v for k, v in updates.items() if isinstance(v, str)},
    )
    _broadcast(episode, f"episode.{event}")
    return True


@transaction.atomic
def episode_acknowledge(*, episode: Episode, by: User, message: str = "") -> bool:
    """A responder takes the episode; escalation stops at its next step.

    Returns False, changing nothing, if it is already acknowledged (someone else was first).
    Raises IllegalTransition if it is resolved.
    """
    return _transition(
        episode=episode,
        target=sm.ACKNOWLEDGED,
        event=EpisodeEvent.Kind.ACKNOWLEDGED,
        actor=by,
        message=message,
        acknowledged_by=by,
        acknowledged_at=timezone.now(),
    )


@transaction.atomic
def episode_escalate(*, episode: Episode, reason: str, actor: User | None = None) -> bool:
    """Start (or resume) paging caregivers. Returns False if it is already escalating."""
    return _transition(
        episode=episode, target=sm.ESCALATING, event=EpisodeEvent.Kind.ESCALATED, actor=actor, message=reason
    )


@transaction.atomic
def episode_resolve(*, episode: Episode, by: User | None, resolution: str, note: str = "") -> bool:
    """Close the episode with a resolution. Returns False if it was already resolved (by anyone)."""
    if resolution not in Episode.Resolution.values:
        raise ValidationError({"resolution": f"Choose one of: {', '.join(Episode.Resolution.values)}."})
    return _transition(
        episode=episode,
        target=sm.RESOLVED,
        event=EpisodeEvent.Kind.RESOLVED,
        actor=by,
        message=note,
        resolution=resolution,
        resolution_note=note,
        resolved_by=by,
        resolved_at=timezone.now(),
    )


def explained_cause_active(*, wearer_id: int, at: datetime | None = None) -> ExplainedCause | None:
    at = at or timezone.now()
    return ExplainedCause.objects.filter(wearer_id=wearer_id, starts_at__lte=at, ends_at__gt=at).first()


def explained_cause_start(
    *, wearer: User, reason: str, minutes: int, by: User | None, note: str = ""
) -> ExplainedCause:
    """The wearer (or their caregiver) says the raised heart rate has a reason: a workout, a procedure.
    Heart-rate alarms from detectors are held for `minutes` (at most 12 hours)."""
    if reason not in ExplainedCause.Reason.values:
        raise ValidationError({"reason": f"Choose one of: {', '.join(ExplainedCause.Reason.values)}."})
    if not 1 <= minutes <= 720:
        raise ValidationError({"minutes": "Between 1 and 720 minutes."})
    now = timezone.now()
    return ExplainedCause.objects.create(
        wearer=wearer, reason=reason, starts_at=now, ends_at=now + timedelta(minutes=minutes), note=note, created_by=by
    )


def episode_report_detection(
    *, wearer: User, kind: str, source: str, severity: str, score: float | None, explanation: str
) -> Episode | None:
    """What detectors call. Like `episode_open`, except that a heart-rate alarm is held while an
    explained cause (exercise, a procedure) is active, unless it is critical. Returns the episode,
    or None when it was held."""
    if kind in Episode.HEART_RATE_KINDS and severity != Episode.Severity.CRITICAL:
        cause = explained_cause_active(wearer_id=wearer.id)
        if cause is not None:
            logger.info("held %s for wearer %s: %s", kind, wearer.id, cause)
            return None
    episode, _ = episode_open(
        wearer=wearer, kind=kind, source=source, severity=severity, score=score, explanation=explanation
    )
    return episode


@transaction.atomic
def episode_answer_record(*, episode: Episode, answer: str) -> bool:
    """The wearer answered the check-in. Returns False if this answer was already recorded."""
    if answer not in Episode.Answer.values:
        raise ValidationError({"answer": f"Choose one of: {', '.join(Episode.Answer.values)}."})
    if not episode.is_active():
        raise sm.IllegalTransition(episode.state, "answered")
    now = timezone.now()
    updates: dict[str, Any] = {"wearer_answer": answer, "wearer_answered_at": now, "updated_at": now}
    if answer == Episode.Answer.SOS:
        updates["severity"] = Episode.Severity.CRITICAL
    won = (
        Episode.objects.filter(id=episode.id, state__in=sm.ACTIVE_STATES)
        .exclude(wearer_answer=answer)
        .update(**updates)
    )
    episode.refresh_from_db()
    if not won:
        if not episode.is_active():  # resolved a moment ago
            raise sm.IllegalTransition(episode.state, "answered")
        return False
    EpisodeEvent.objects.create(
        episode=episode,
        kind=EpisodeEvent.Kind.WEARER_ANSWERED,
        actor=episode.wearer,
        source="wearer",
        message=Episode.Answer(answer).label,
        data={"answer": answer},
        at=now,
    )
    _broadcast(episode, "episode.answered")
    return True


def episode_event_add(*, episode: Episode, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
    """A system note in the timeline (a check-in sent, a re-check result, an escalation step)."""
    EpisodeEvent.objects.create(episode=episode, kind=kind, source="system", message=message, data=data or {})
