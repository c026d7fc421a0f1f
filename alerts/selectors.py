"""Alert reads, scoped to the person asking."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from episodes.selectors import episodes_visible_to

from .models import Alert


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    """A person's own alerts, plus every alert of the episodes they can see (who else was paged)."""
    return Alert.objects.filter(episode__in=episodes_visible_to(user).values("id")).select_related(
        "recipient", "episode"
    )
