"""Care groups, who is in them with which role, what each wearer consents to share, invitations."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class CareGroup(models.Model):
    class Kind(models.TextChoices):
        FAMILY = "family", "Family"
        COMMUNITY = "community", "Community"
        FACILITY = "facility", "Facility"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FAMILY)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        WEARER = "wearer", "Wearer"
        CAREGIVER = "caregiver", "Caregiver"
        CLINICIAN = "clinician", "Clinician"
        ADMIN = "admin", "Group admin"

    # Roles that respond to a wearer's episodes (are paged, acknowledge, resolve).
    RESPONDER_ROLES = (Role.CAREGIVER, Role.ADMIN, Role.CLINICIAN)

    group = models.ForeignKey(CareGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    escalation_order = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Caregivers are paged in this order (1 first); empty: after the ordered ones."
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "role", "escalation_order", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_one_per_group")]
        # "which groups is this person in, with which role": the selectors' subqueries
        indexes = [models.Index(fields=["user", "role"], name="membership_user_role")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.group}"


class Consent(models.Model):
    """What one wearer lets one caregiver of a group see. Episodes are always shared with responders;
    live vitals, location and history only with consent. Clinicians are not bound by it (duty of care)."""

    SCOPES = ("live_vitals", "location", "history")

    group = models.ForeignKey(CareGroup, on_delete=models.CASCADE, related_name="consents")
    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents_given")
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents_received")
    live_vitals = models.BooleanField(default=False)
    location = models.BooleanField(default=False)
    history = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "wearer", "viewer"], name="consent_one_per_pair"),
        ]
        indexes = [models.Index(fields=["viewer", "group"], name="consent_viewer_group")]

    def __str__(self) -> str:
        shared = [scope for scope in self.SCOPES if getattr(self, scope)] or ["episodes only"]
        return f"{self.wearer} shares {', '.join(shared)} with {self.viewer}"


def _invitation_code() -> str:
    return secrets.token_urlsafe(12)


class Invitation(models.Model):
    group = models.ForeignKey(CareGroup, on_delete=models.CASCADE, related_name="invitations")
    code = models.CharField(max_length=32, unique=True, default=_invitation_code)
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    email = models.EmailField(blank=True, help_text="Optional: only this person may use it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveSmallIntegerField(default=1)
    uses = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.group} as {self.get_role_display()}"

    def is_usable(self, now: timezone.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.uses < self.max_uses
