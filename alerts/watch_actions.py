"""What a wearer does from the watch socket (docs/protocol.md): answer "are you OK?", press SOS,
declare a workout. Validated here; each answers with a message of type `<kind>_ack` or `error`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import User
from episodes.models import Episode
from episodes.services import episode_open, explained_cause_start
from episodes.state_machine import IllegalTransition

from .escalation import episode_respond


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


def _reasons(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def wearer_action(*, wearer_id: int, kind: str, message: dict[str, Any]) -> dict[str, Any]:
    wearer = User.objects.get(id=wearer_id)
    if kind == "answer":
        episode_id, answer = message.get("episode_id"), message.get("answer")
        if not isinstance(episode_id, int) or isinstance(episode_id, bool):
            return _error("invalid_answer", '"episode_id" must be the id from the check-in.')
        if answer not in Episode.Answer.values:
            return _error("invalid_answer", f'"answer" must be one of {", ".join(Episode.Answer.values)}.')
        episode = Episode.objects.filter(id=episode_id, wearer=wearer).first()
        if episode is None:
            return _error("unknown_episode", "No such episode of yours.")
        try:
            recorded = episode_respond(episode=episode, answer=answer, by=wearer)
        except IllegalTransition:
            return _error("episode_closed", "This episode is already resolved.")
        return {"type": "answer_ack", "episode_id": episode.id, "answer": answer, "recorded": recorded}
    if kind == "sos":
        episode, created = episode_open(
            wearer=wearer,
            kind=Episode.Kind.SOS,
            source=Episode.Source.SOS,
            severity=Episode.Severity.CRITICAL,
            actor=wearer,
            explanation="SOS pressed on the watch.",
        )
        return {"type": "sos_ack", "episode_id": episode.id, "created": created}
    minutes = message.get("minutes", 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return _error("invalid_activity", '"minutes" must be a whole number.')
    try:
        cause = explained_cause_start(
            wearer=wearer, reason=str(message.get("reason", "exercise")), minutes=minutes, by=wearer
        )
    except ValidationError as exc:
        return _error("invalid_activity", _reasons(exc))
    return {"type": "activity_ack", "reason": cause.reason, "until": cause.ends_at.isoformat()}
