"""The episode lifecycle after detection, in one place: check-in, re-measurement, the escalation
chain, acknowledgements, reminders, recovery and the all-clear.

    opened ─► CHECKIN (ask the wearer, countdown) ─ no answer / "help" / SOS ─► CHAIN (page, wait, ...)
                 │ "I'm OK"                                                      │ acknowledged
                 ▼                                                               ▼
              RECHECK (calming window) ─ vitals not back ─► CHAIN          ACKNOWLEDGED (reminders;
                 │ back near baseline                                     "can't respond" or a passed
                 ▼                                                         ETA ─► CHAIN, next step)
              resolved: false alarm                 resolved (any way) ─► all-clear to everyone paged

Red flags (SOS, falls, critical readings) and "no data" skip the check-in. No language model takes
part in any of this: only people, rules and detectors move an episode.

Durability: `Escalation.next_step_at` is the only timer. The tick (django-celery-beat, every
PULSERA_ESCALATION_TICK_SECONDS) claims due rows by moving `next_step_at` one lease ahead with a new
token (a conditional UPDATE: one claimer wins); `escalation_run` then locks the row, checks the token,
re-reads the episode and does one phase in one transaction. A worker that dies mid-step rolls back,
its lease expires, and another worker does the step once. Services that change an episode set
`next_step_at = now` and enqueue a run after commit, so people are not kept waiting for a tick.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from episodes import state_machine as sm
from episodes.models import Episode, EpisodeEvent
from episodes.recovery import Usual, judge
from episodes.services import (
    episode_acknowledge,
    episode_answer_record,
    episode_escalate,
    episode_event_add,
    episode_resolve,
)
from groups.models import Membership
from groups.selectors import group_ids_of_wearer
from inference.selectors import rule_thresholds_of, wearer_usual_at_rest
from vitals.models import VitalSample
from vitals.services import wearer_watch_send

from . import policy
from .models import Alert, EmergencyContact, Escalation, EscalationPolicy, Snooze
from .notify import Route, alert_send, episode_group_broadcast, minutes, task_enqueue

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
LEVELS = {"low": Alert.Level.INFO, "medium": Alert.Level.WARNING, "high": Alert.Level.URGENT,
          "critical": Alert.Level.CRITICAL}  # fmt: skip


# ---- the snapshot ------------------------------------------------------------------------------


def policy_snapshot(*, wearer_id: int, purpose: str) -> dict[str, Any]:
    """The chain of the wearer's oldest group that has one for `purpose`, else the default chain."""
    group_ids = sorted(group_ids_of_wearer(wearer_id))
    found = {
        p.group_id: p
        for p in EscalationPolicy.objects.filter(group_id__in=group_ids, purpose=purpose).prefetch_related("steps")
    }
    for group_id in group_ids:
        if group_id in found:
            chosen = found[group_id]
            steps = [
                policy.step_normalise(
                    {"action": s.action, "person_id": s.person_id, "role": s.role, "channel": s.channel,
                     "wait_minutes": s.wait_minutes, "repeat_times": s.repeat_times},
                    s.position,
                )
                for s in sorted(chosen.steps.all(), key=lambda s: s.position)
            ]  # fmt: skip
            if steps:
                return {
                    "policy_id": chosen.id,
                    "group_id": group_id,
                    "name": chosen.name,
                    "purpose": purpose,
                    "reminder_minutes": chosen.reminder_minutes,
                    "steps": steps,
                }
    return policy.snapshot_default(purpose, group_ids[0] if group_ids else None)


# ---- start ---------------------------------------------------------------------------------------


def escalation_start(*, episode: Episode) -> Escalation:
    """Called by `episode_open` in its transaction. Red flags and "no data" page at once (the first
    notify steps run right here, so the first caregiver hears within the request); everything else
    asks the wearer first."""
    purpose = (
        EscalationPolicy.Purpose.NO_DATA if episode.kind == Episode.Kind.NO_DATA else EscalationPolicy.Purpose.DISTRESS
    )
    now = timezone.now()
    escalation = Escalation.objects.create(
        episode=episode, policy_snapshot=policy_snapshot(wearer_id=episode.wearer_id, purpose=purpose)
    )
    if episode.is_red_flag() or episode.kind == Episode.Kind.NO_DATA:
        reason = "No data from the watch." if episode.kind == Episode.Kind.NO_DATA else "Red flag: paging at once."
        _to_chain(escalation, episode, reason, now)
        try:
            with transaction.atomic():
                _run_chain(escalation, episode, now)
        except Exception:  # the episode must open whatever happens; the tick retries the step
            logger.exception("first escalation step of episode %s failed; the tick will retry", episode.id)
            Escalation.objects.filter(id=escalation.id).update(next_step_at=now, phase=Escalation.Phase.CHAIN)
        return escalation
    _checkin(escalation, episode, now)
    return escalation


def _checkin(escalation: Escalation, episode: Episode, now: datetime) -> None:
    deadline = now + timedelta(seconds=settings.PULSERA_CHECKIN_SECONDS)
    Episode.objects.filter(id=episode.id).update(checkin_deadline=deadline)
    episode.checkin_deadline = deadline
    escalation.phase, escalation.next_step_at = Escalation.Phase.CHECKIN, deadline
    escalation.save(update_fields=["phase", "next_step_at", "updated_at"])
    sockets = wearer_watch_send(wearer_id=episode.wearer_id, message=checkin_message(episode))
    episode_event_add(
        episode=episode,
        kind=EpisodeEvent.Kind.CHECKIN_SENT,
        message=f"Asked the wearer 'are you OK?' ({settings.PULSERA_CHECKIN_SECONDS} s to answer; "
        f"{sockets} watch socket(s) connected).",
        data={"deadline": deadline.isoformat(), "sockets": sockets},
    )


def checkin_message(episode: Episode) -> dict[str, Any]:
    """The watch's "are you OK?" prompt (docs/protocol.md)."""
    assert episode.checkin_deadline is not None
    return {
        "type": "checkin",
        "episode_id": episode.id,
        "episode_kind": episode.kind,
        "question": "Are you OK?",
        "explanation": episode.explanation,
        "answers": list(Episode.Answer.values),
        "deadline": episode.checkin_deadline.isoformat(),
        "countdown_s": max(0, round((episode.checkin_deadline - timezone.now()).total_seconds())),
    }


def _to_chain(escalation: Escalation, episode: Episode, reason: str, now: datetime) -> None:
    if episode.state in (sm.OPEN, sm.ACKNOWLEDGED):
        episode_escalate(episode=episode, reason=reason)
    escalation.phase = Escalation.Phase.CHAIN
    escalation.save(update_fields=["phase", "updated_at"])


# ---- the chain -------------------------------------------------------------------------------------


def _skip_reason(user: User, episode: Episode, now: datetime) -> str:
    if episode.is_red_flag():
        return ""
    if Snooze.objects.filter(user=user, wearer_id=episode.wearer_id, kind=episode.kind, until__gt=now).exists():
        return "snoozed"
    if user.in_quiet_hours(now):
        return "quiet hours"
    return ""


def _recipients(step: dict[str, Any], escalation: Escalation, episode: Episode) -> list[User | EmergencyContact]:
    group_id = escalation.policy_snapshot.get("group_id")
    members = Membership.objects.filter(group_id=group_id).exclude(user_id=episode.wearer_id).select_related("user")
    action = step["action"]
    if action == "notify_person":
        responders = members.filter(role__in=Membership.RESPONDER_ROLES, user_id=step["person_id"])
        return [m.user for m in responders]
    if action == "notify_role":
        return [m.user for m in members.filter(role=step["role"])] if step["role"] != "wearer" else []
    if action == "notify_all_caregivers":
        return [m.user for m in members.filter(role__in=[Membership.Role.CAREGIVER, Membership.Role.ADMIN])]
    if action == "notify_next_caregiver":
        ordered = sorted(
            members.filter(role__in=[Membership.Role.CAREGIVER, Membership.Role.ADMIN]),
            key=lambda m: (m.escalation_order is None, m.escalation_order or 0, m.id),
        )
        if not ordered:
            return []
        chosen = ordered[escalation.next_caregiver % len(ordered)]
        escalation.next_caregiver += 1
        return [chosen.user]
    if action == "notify_emergency_contacts":
        return list(EmergencyContact.objects.filter(group_id=group_id))
    return []


def _page_text(episode: Episode) -> str:
    wearer = episode.wearer
    answered = ""
    if episode.wearer_answer:
        answered = f" They answered: {Episode.Answer(episode.wearer_answer).label}."
    elif episode.checkin_deadline:
        answered = " They did not answer 'are you OK?'."
    return f"{episode.get_kind_display()} for {wearer}: {episode.explanation}{answered}".strip()


def _run_chain(escalation: Escalation, episode: Episode, now: datetime) -> None:
    """Run the notify steps due now, then set the next wait (or stop at the end of the chain)."""
    steps = escalation.policy_snapshot["steps"]
    for _ in range(len(steps) + 2):  # bounded: each pass advances or ends
        walk = policy.walk(steps, escalation.step_index, escalation.repeats_done)
        paged = 0
        for step in walk.notify:
            for who in _recipients(step, escalation, episode):
                if isinstance(who, EmergencyContact):
                    alert_send(episode=episode, purpose=Alert.Purpose.PAGE, level=LEVELS[episode.severity],
                               message=_page_text(episode), contact=who, first_channel=step["channel"],
                               step_position=step["position"])  # fmt: skip
                    paged += 1
                    continue
                skip = _skip_reason(who, episode, now)
                if skip:
                    episode_event_add(episode=episode, kind=EpisodeEvent.Kind.STEP,
                                      message=f"Step {step['position']}: not paging {who} ({skip}).",
                                      data={"step": step["position"], "skipped": who.id, "why": skip})  # fmt: skip
                    continue
                alert_send(episode=episode, purpose=Alert.Purpose.PAGE, level=LEVELS[episode.severity],
                           message=_page_text(episode), recipient=who, first_channel=step["channel"],
                           step_position=step["position"])  # fmt: skip
                paged += 1
        escalation.step_index, escalation.repeats_done = walk.step_index, walk.repeats_done
        if walk.finished:
            escalation.next_step_at = None
            episode_event_add(episode=episode, kind=EpisodeEvent.Kind.STEP,
                              message="End of the escalation chain; the episode stays open for caregivers.",
                              data={"step": walk.step_index})  # fmt: skip
            break
        if paged or not walk.notify:
            escalation.next_step_at = now + minutes(walk.wait_minutes or 0)
            if walk.notify:
                episode_event_add(episode=episode, kind=EpisodeEvent.Kind.STEP,
                                  message=f"Waiting {walk.wait_minutes} min for an acknowledgement.",
                                  data={"step": walk.step_index, "wait_minutes": walk.wait_minutes})  # fmt: skip
            break
        # Nobody could be paged by these steps (quiet hours, snoozes, empty roles): don't wait on nobody.
    escalation.lease_token = ""
    escalation.save(update_fields=["step_index", "repeats_done", "next_caregiver", "next_step_at", "lease_token",
                                   "updated_at"])  # fmt: skip


# ---- running a due escalation ----------------------------------------------------------------------


def escalations_claim_due(*, now: datetime | None = None, limit: int = 200) -> list[tuple[int, str]]:
    now = now or timezone.now()
    due = Escalation.objects.filter(next_step_at__lte=now).order_by("next_step_at").values("id", "next_step_at")
    claimed = []
    for row in due[:limit]:
        token = uuid.uuid4().hex
        if Escalation.objects.filter(id=row["id"], next_step_at=row["next_step_at"]).update(
            next_step_at=now + LEASE, lease_token=token
        ):
            claimed.append((row["id"], token))
    return claimed


def escalation_run(*, escalation_id: int, token: str) -> str:
    """Do the due phase of one claimed escalation. Returns what it did (for logs and tests)."""
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().filter(id=escalation_id, lease_token=token).first()
        if escalation is None:
            return "not_mine"
        episode = Episode.objects.select_related("wearer").get(id=escalation.episode_id)
        now = timezone.now()
        done = _phase(escalation, episode, now)
        Escalation.objects.filter(id=escalation.id, lease_token=token).update(lease_token="")
        return done


def _phase(escalation: Escalation, episode: Episode, now: datetime) -> str:
    if episode.state == sm.RESOLVED:
        if escalation.all_clear_sent_at is None:
            _all_clear(episode, now)
        escalation.phase, escalation.next_step_at, escalation.all_clear_sent_at = (
            Escalation.Phase.DONE, None, escalation.all_clear_sent_at or now,
        )  # fmt: skip
        escalation.save(update_fields=["phase", "next_step_at", "all_clear_sent_at", "updated_at"])
        Alert.objects.filter(episode=episode).exclude(fallback_at=None).update(fallback_at=None)
        return "all_clear"
    if episode.state == sm.ACKNOWLEDGED:
        return _acknowledged(escalation, episode, now)
    asked_for_help = episode.wearer_answer == Episode.Answer.HELP
    checking_in = escalation.phase == Escalation.Phase.CHECKIN and episode.state == sm.OPEN
    if checking_in and not episode.is_red_flag() and not asked_for_help:
        if episode.checkin_deadline and now < episode.checkin_deadline:
            escalation.next_step_at = episode.checkin_deadline
            escalation.save(update_fields=["next_step_at", "updated_at"])
            return "waiting"
        _to_chain(escalation, episode, "No answer to 'are you OK?'.", now)
        _run_chain(escalation, episode, now)
        return "escalated"
    if escalation.phase == Escalation.Phase.RECHECK and not asked_for_help and not episode.is_red_flag():
        assert episode.wearer_answered_at is not None
        due = episode.wearer_answered_at + timedelta(seconds=settings.PULSERA_RECHECK_SECONDS)
        if now < due:  # woken early (e.g. new evidence): the calming window still runs
            escalation.next_step_at = due
            escalation.save(update_fields=["next_step_at", "updated_at"])
            return "waiting"
        return _recheck(escalation, episode, now)
    if escalation.phase != Escalation.Phase.CHAIN or episode.state == sm.OPEN:
        reason = "Red flag: paging at once." if episode.is_red_flag() else "Escalating."
        if asked_for_help:
            reason = "The wearer asked for help."
        _to_chain(escalation, episode, reason, now)
    _run_chain(escalation, episode, now)
    return "chain"


def _acknowledged(escalation: Escalation, episode: Episode, now: datetime) -> str:
    ack = (
        Alert.objects.filter(episode=episode, acknowledged_by=episode.acknowledged_by_id, purpose=Alert.Purpose.PAGE)
        .exclude(acknowledged_at=None)
        .order_by("-acknowledged_at")
        .first()
    )
    if ack is not None and ack.eta_at is not None and now >= ack.eta_at:
        _to_chain(escalation, episode, f"{ack.who()}'s ETA passed without a resolution.", now)
        _run_chain(escalation, episode, now)
        return "eta_passed"
    reminder = escalation.policy_snapshot.get("reminder_minutes") or 0
    if escalation.phase == Escalation.Phase.ACKNOWLEDGED and episode.acknowledged_by_id and reminder:
        alert_send(
            episode=episode, purpose=Alert.Purpose.REMINDER, level=Alert.Level.WARNING,
            message=f"Reminder: {episode.wearer}'s {episode.get_kind_display().lower()} is still open.",
            recipient=episode.acknowledged_by,
        )  # fmt: skip
    escalation.phase = Escalation.Phase.ACKNOWLEDGED
    candidates = [now + minutes(reminder)] if reminder else []
    if ack is not None and ack.eta_at is not None:
        candidates.append(ack.eta_at)
    escalation.next_step_at = min(candidates) if candidates else None
    escalation.save(update_fields=["phase", "next_step_at", "updated_at"])
    return "reminder"


def _all_clear(episode: Episode, now: datetime) -> None:
    """Tell everyone who was paged (over the channels that reached them, or may have) that it is over."""
    resolution = Episode.Resolution(episode.resolution).label if episode.resolution else "Resolved"
    text = f"All clear: {episode.wearer}'s {episode.get_kind_display().lower()} is over ({resolution.lower()})."
    seen: set[tuple[int | None, int | None]] = set()
    pages = Alert.objects.filter(episode=episode, purpose=Alert.Purpose.PAGE).select_related("recipient", "contact")
    for page in pages.order_by("created_at", "id"):
        who = (page.recipient_id, page.contact_id)
        if who in seen:
            continue
        seen.add(who)
        reached = Alert.objects.filter(
            episode=episode, recipient_id=page.recipient_id, contact_id=page.contact_id
        ).values_list("deliveries__channel", "deliveries__address", "deliveries__state")
        # A send still marked "sending" may have reached them (a worker killed between the provider
        # accepting it and recording that): an all-clear too many is harmless, one too few is not.
        routes = sorted({
            (channel, address) for channel, address, state in reached
            if channel and channel != "in_app" and state in ("sending", "sent", "delivered")
        })  # fmt: skip
        alert_send(
            episode=episode, purpose=Alert.Purpose.ALL_CLEAR, level=Alert.Level.INFO, message=text,
            recipient=page.recipient, contact=page.contact, routes=[Route(c, a) for c, a in routes],
        )  # fmt: skip
    Alert.objects.filter(episode=episode, purpose=Alert.Purpose.PAGE).exclude(
        state__in=[Alert.State.ACKNOWLEDGED, Alert.State.FAILED]
    ).update(state=Alert.State.CANCELLED, fallback_at=None)
    wearer_watch_send(wearer_id=episode.wearer_id, message={"type": "episode_resolved", "episode_id": episode.id,
                                                            "resolution": episode.resolution, "text": text})  # fmt: skip


def _recent_vitals(episode: Episode, since: datetime) -> dict[str, list[float]]:
    rows = VitalSample.objects.filter(wearer_id=episode.wearer_id, recorded_at__gte=since).values_list(
        "heart_rate", "spo2", "hrv_ms"
    )
    out: dict[str, list[float]] = {"heart_rate": [], "spo2": [], "hrv_ms": []}
    for hr, spo2, hrv in rows:
        for name, value in (("heart_rate", hr), ("spo2", spo2), ("hrv_ms", hrv)):
            if value is not None:
                out[name].append(float(value))
    return out


def vitals_verdict(episode: Episode, since: datetime, now: datetime) -> tuple[bool, str]:
    """Are the wearer's vitals since `since` back near their baseline for this episode's kind?"""
    usual = wearer_usual_at_rest(episode.wearer, now)
    thresholds = rule_thresholds_of(episode.wearer)
    verdict = judge(
        episode.kind,
        **_recent_vitals(episode, since),
        usual_hr=Usual(*usual["heart_rate"]) if "heart_rate" in usual else None,
        usual_hrv=Usual(*usual["hrv_ms"]) if "hrv_ms" in usual else None,
        hr_low=thresholds.heart_rate_low,
        spo2_low=thresholds.spo2_low,
    )
    return verdict.recovered, verdict.reason


def _recheck(escalation: Escalation, episode: Episode, now: datetime) -> str:
    since = now - timedelta(seconds=settings.PULSERA_RECHECK_SECONDS)
    recovered, reason = vitals_verdict(episode, since, now)
    episode_event_add(episode=episode, kind=EpisodeEvent.Kind.RECHECKED, message=reason,
                      data={"recovered": recovered})  # fmt: skip
    if recovered:
        episode_resolve(episode=episode, by=None, resolution=Episode.Resolution.FALSE_ALARM,
                        note=f"The wearer said they were OK and their vitals agree: {reason}")  # fmt: skip
        return _phase(escalation, episode, now)
    _to_chain(escalation, episode, f"The wearer said they were OK, but: {reason}", now)
    _run_chain(escalation, episode, now)
    return "recheck_failed"


# ---- what people do ----------------------------------------------------------------------------------


def escalation_due_now(*, episode: Episode) -> None:
    """Something changed: let the escalation act at once (after commit), not at its next timer."""
    from .tasks import escalation_run as escalation_run_task

    escalation = Escalation.objects.filter(episode=episode).first()
    if escalation is None:
        return
    now = timezone.now()
    token = uuid.uuid4().hex
    if Escalation.objects.filter(id=escalation.id).update(next_step_at=now + LEASE, lease_token=token):
        transaction.on_commit(lambda: task_enqueue(escalation_run_task, escalation.id, token))


@transaction.atomic
def episode_respond(*, episode: Episode, answer: str, by: User) -> bool:
    """The wearer answers the check-in: "ok" (re-measure after a calming window; resolve as a false
    alarm only if the vitals agree), "help" (page now) or "sos" (critical, page now)."""
    if by.id != episode.wearer_id:
        raise ValidationError("Only the wearer answers 'are you OK?'.")
    if not episode_answer_record(episode=episode, answer=answer):
        return False
    escalation = Escalation.objects.select_for_update().get(episode=episode)
    if answer == Episode.Answer.OK:
        if episode.state == sm.OPEN and escalation.phase == Escalation.Phase.CHECKIN:
            escalation.phase = Escalation.Phase.RECHECK
            escalation.next_step_at = timezone.now() + timedelta(seconds=settings.PULSERA_RECHECK_SECONDS)
            escalation.save(update_fields=["phase", "next_step_at", "updated_at"])
            wearer_watch_send(wearer_id=episode.wearer_id, message={
                "type": "instruction", "episode_id": episode.id,
                "text": "Sit down and breathe slowly: in for 4, out for 6. We'll check your readings in a minute.",
                "duration_s": settings.PULSERA_RECHECK_SECONDS,
            })  # fmt: skip
        return True
    escalation_due_now(episode=episode)  # "help" and SOS: page now
    return True


@transaction.atomic
def episode_take(
    *, episode: Episode, by: User, response: str = "", eta_minutes: int | None = None, message: str = ""
) -> bool:
    """A caregiver answers a page: "on my way" (with an ETA), "I called them", or "can't respond".

    The first two acknowledge the episode (escalation stops; reminders follow; an ETA that passes
    without a resolution resumes the chain). "Can't respond" moves the chain to its next step now.
    Returns whether the episode was acknowledged by this call.
    """
    if response and response not in Alert.Response.values:
        raise ValidationError({"response": f"Choose one of: {', '.join(Alert.Response.values)}."})
    if eta_minutes is not None and not 1 <= eta_minutes <= 24 * 60:
        raise ValidationError({"eta_minutes": "Between 1 and 1440 minutes."})
    if not episode.is_active():
        raise sm.IllegalTransition(episode.state, sm.ACKNOWLEDGED)
    now = timezone.now()
    page = (
        Alert.objects.filter(episode=episode, recipient=by, purpose=Alert.Purpose.PAGE).order_by("-created_at").first()
    )
    if response == Alert.Response.CANT_RESPOND:
        if page is not None:
            Alert.objects.filter(id=page.id).update(response=response, fallback_at=None)
        episode_event_add(episode=episode, kind=EpisodeEvent.Kind.STEP,
                          message=f"{by} can't respond{': ' + message if message else ''}; moving on.",
                          data={"by": by.id, "response": response})  # fmt: skip
        if episode.state != sm.ACKNOWLEDGED or episode.acknowledged_by_id == by.id:
            if episode.state == sm.ACKNOWLEDGED:
                episode_escalate(episode=episode, reason=f"{by} can't respond after all.")
            escalation_due_now(episode=episode)
        return False
    eta_at = now + minutes(eta_minutes) if eta_minutes else None
    label = Alert.Response(response).label if response else "Acknowledged"
    text = f"{label}" + (f", ETA {eta_minutes} min" if eta_minutes else "") + (f": {message}" if message else "")
    won = episode_acknowledge(episode=episode, by=by, message=text)
    if won:
        if page is None:
            page = Alert.objects.create(episode=episode, recipient=by, purpose=Alert.Purpose.PAGE,
                                        level=LEVELS[episode.severity], message="Taken without a page.",
                                        state=Alert.State.SENT, created_at=now)  # fmt: skip
        Alert.objects.filter(id=page.id).update(
            state=Alert.State.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, response=response,
            eta_at=eta_at, fallback_at=None,
        )  # fmt: skip
        Alert.objects.filter(episode=episode, purpose=Alert.Purpose.PAGE).exclude(id=page.id).exclude(
            state=Alert.State.ACKNOWLEDGED
        ).update(fallback_at=None)
        episode_group_broadcast(episode, {"kind": "alert.acknowledged", "episode_id": episode.id, "by": by.id,
                                          "response": response, "eta_at": eta_at.isoformat() if eta_at else None})  # fmt: skip
        wearer_watch_send(wearer_id=episode.wearer_id, message={
            "type": "help_coming", "episode_id": episode.id, "by": str(by), "response": response,
            "eta_minutes": eta_minutes,
        })  # fmt: skip
        escalation_due_now(episode=episode)
    return won


@transaction.atomic
def episode_close(*, episode: Episode, by: User | None, resolution: str, note: str = "") -> bool:
    """Resolve, then (after commit, by a worker) send the all-clear to everyone who was paged."""
    won = episode_resolve(episode=episode, by=by, resolution=resolution, note=note)
    if won:
        escalation_due_now(episode=episode)
    return won


def snooze_set(*, user: User, wearer: User, kind: str, minutes_: int) -> Snooze:
    """A caregiver is not paged about `wearer`'s `kind` episodes for a while (never for red flags)."""
    if kind not in Episode.Kind.values:
        raise ValidationError({"kind": "Unknown episode kind."})
    if kind in (Episode.Kind.SOS, Episode.Kind.FALL):
        raise ValidationError({"kind": "SOS and falls can't be snoozed."})
    if not 5 <= minutes_ <= 24 * 60:
        raise ValidationError({"minutes": "Between 5 and 1440 minutes."})
    until = timezone.now() + timedelta(minutes=minutes_)
    snooze, _ = Snooze.objects.update_or_create(
        user=user, wearer=wearer, kind=kind, until__gt=timezone.now(), defaults={"until": until}
    )
    active = Episode.objects.filter(wearer=wearer, kind=kind).exclude(state=sm.RESOLVED).first()
    if active is not None:
        episode_event_add(episode=active, kind=EpisodeEvent.Kind.NOTE,
                          message=f"{user} snoozed these alarms until {until:%H:%M} UTC.",
                          data={"snooze_id": snooze.id})  # fmt: skip
        Alert.objects.filter(episode=active, recipient=user).exclude(fallback_at=None).update(fallback_at=None)
    return snooze


# ---- sweeps of the tick ---------------------------------------------------------------------------------

DETECTOR_SOURCES = (Episode.Source.MODEL, Episode.Source.RULE, Episode.Source.BASELINE)


def episodes_check_recovery(*, now: datetime | None = None) -> int:
    """Detector episodes without new evidence for PULSERA_RECOVERY_MINUTES: if the vitals since are
    back near the wearer's baseline, resolve them as recovered and send the all-clear. This includes
    acknowledged ones (the responder hears it is over); episodes the wearer asked help for and those
    in their "I'm OK" calming window are left to people and to the re-check."""
    now = now or timezone.now()
    quiet_since = now - timedelta(minutes=settings.PULSERA_RECOVERY_MINUTES)
    candidates = (
        Episode.objects.filter(
            state__in=sm.ACTIVE_STATES, source__in=DETECTOR_SOURCES, last_evidence_at__lt=quiet_since
        )
        .exclude(
            Q(wearer_answer__in=[Episode.Answer.HELP, Episode.Answer.SOS])
            | Q(escalation__phase=Escalation.Phase.RECHECK)
        )
        .select_related("wearer")
    )
    resolved = 0
    for episode in candidates[:200]:
        recovered, reason = vitals_verdict(episode, quiet_since, now)
        if recovered:
            with transaction.atomic():
                note = "Recovered" + (" before anyone acknowledged" if episode.state != sm.ACKNOWLEDGED else "")
                resolved += episode_close(episode=episode, by=None, resolution=Episode.Resolution.RECOVERED,
                                          note=f"{note}: {reason}")  # fmt: skip
    return resolved


def escalations_tick() -> dict[str, int]:
    """One beat: due escalations, deliveries to (re)send, channel fallbacks, recoveries."""
    from .notify import alerts_fallback_due, deliveries_claim_due
    from .tasks import delivery_send as delivery_send_task

    counts = {"escalations": 0, "deliveries": 0, "fallbacks": 0, "recovered": 0}
    for escalation_id, token in escalations_claim_due():
        try:
            escalation_run(escalation_id=escalation_id, token=token)
            counts["escalations"] += 1
        except Exception:  # one bad row must not stop the others; its lease expires and it is retried
            logger.exception("escalation %s failed; retried when its lease expires", escalation_id)
    for delivery_id, token in deliveries_claim_due():
        task_enqueue(delivery_send_task, delivery_id, token)
        counts["deliveries"] += 1
    counts["fallbacks"] = alerts_fallback_due()
    counts["recovered"] = episodes_check_recovery()
    return counts
