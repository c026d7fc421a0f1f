"""Episode reads, scoped to the person asking (see groups.selectors for the rules)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from groups.selectors import wearers_responded_by, wearers_visible_to

from .models import Episode


def episodes_visible_to(user: User) -> QuerySet[Episode]:
    """Episodes are shared with every responder of the wearer: consent scopes do not hide them."""
    return Episode.objects.filter(wearer__in=wearers_visible_to(user)).select_related(
        "wearer", "acknowledged_by", "resolved_by", "zone"
    )


def episodes_responded_by(user: User) -> QuerySet[Episode]:
    """Episodes `user` may acknowledge and resolve (not the wearer's own)."""
    return Episode.objects.filter(wearer__in=wearers_responded_by(user))


def checkins_pending(wearer_id: int) -> QuerySet[Episode]:
    """The wearer's episodes still waiting for an answer to "are you OK?"."""
    from django.utils import timezone

    return Episode.objects.filter(
        wearer_id=wearer_id, state=Episode.State.OPEN, wearer_answer="", checkin_deadline__gt=timezone.now()
    ).order_by("started_at")
