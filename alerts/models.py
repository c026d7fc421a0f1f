"""Who is told about an episode, how, and whether they acknowledged; and each group's escalation policy."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from episodes.models import Episode
from groups.models import CareGroup, Membership


class Alert(models.Model):
    """An episode's notification to one person."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        URGENT = "urgent", "Urgent"
        CRITICAL = "critical", "Critical"

    class Channel(models.TextChoices):
        IN_APP = "in_app", "In app"
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        PUSH = "push", "Push"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="alerts")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.WARNING)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.IN_APP)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "my alerts, newest first" (the mobile app's inbox)
            models.Index(fields=["recipient", "-created_at"], name="alert_recipient_recent"),
            models.Index(fields=["episode", "created_at"], name="alert_episode"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert to {self.recipient} ({self.get_state_display()})"


class EscalationPolicy(models.Model):
    """A group's escalation chain: ordered steps, copied onto each episode when paging starts."""

    group = models.OneToOneField(CareGroup, on_delete=models.CASCADE, related_name="escalation_policy")
    name = models.CharField(max_length=120, default="Default chain")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return f"{self.name} ({self.group})"


class EscalationStep(models.Model):
    class Action(models.TextChoices):
        NOTIFY_PERSON = "notify_person", "Notify a person"
        NOTIFY_ROLE = "notify_role", "Notify everyone with a role"
        NOTIFY_ALL_CAREGIVERS = "notify_all_caregivers", "Notify all caregivers"
        NOTIFY_NEXT_CAREGIVER = "notify_next_caregiver", "Notify the next caregiver in order"
        WAIT = "wait", "Wait"
        REPEAT = "repeat", "Repeat from the first step"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=24, choices=Action.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=16, choices=Membership.Role.choices, blank=True)
    channel = models.CharField(max_length=8, choices=Alert.Channel.choices, default=Alert.Channel.IN_APP)
    wait_minutes = models.PositiveSmallIntegerField(default=0)
    repeat_times = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_action_display()}"

    def clean(self) -> None:
        if self.action == self.Action.NOTIFY_PERSON and self.person_id is None:
            raise ValidationError({"person": "Choose who to notify."})
        if self.action == self.Action.NOTIFY_ROLE and not self.role:
            raise ValidationError({"role": "Choose which role to notify."})
        if self.action == self.Action.WAIT and not self.wait_minutes:
            raise ValidationError({"wait_minutes": "A wait step needs a number of minutes."})
        if self.action == self.Action.REPEAT and not self.repeat_times:
            raise ValidationError({"repeat_times": "Say how many times to repeat."})
