"""Vitals reads, scoped to the person asking (see groups.selectors for the rules)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from groups.selectors import wearers_visible_to

from .models import Device, LatestVitals, VitalSample


def devices_visible_to(user: User) -> QuerySet[Device]:
    """A wearer's devices (presence, battery) are visible to everyone who sees the wearer."""
    return Device.objects.filter(wearer__in=wearers_visible_to(user)).select_related("wearer")


def latest_vitals_of(wearer: User) -> LatestVitals | None:
    return LatestVitals.objects.filter(wearer=wearer).first()


def samples_of(wearer: User) -> QuerySet[VitalSample]:
    return VitalSample.objects.filter(wearer=wearer).order_by("-recorded_at", "-id")
