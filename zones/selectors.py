"""Zone reads, scoped to the person asking."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from groups.selectors import groups_visible_to

from .models import Zone


def zones_visible_to(user: User) -> QuerySet[Zone]:
    return Zone.objects.filter(group__in=groups_visible_to(user)).select_related("group")
