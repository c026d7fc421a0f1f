"""Who is told about an episode, how, and whether they acknowledged.

- `EscalationPolicy` + `EscalationStep`: a group's chain, edited in admin and the API.
- `Escalation`: one per episode, the durable timer of its lifecycle (check-in, re-check, the chain,
  reminders) and a snapshot of the chain taken when the episode started.
- `Alert`: one message about an episode to one person (a page, a reminder or an all-clear), which
  that person acknowledges.
- `Delivery`: one attempt to get an alert to its person over one channel, with the provider's receipt.
- `ContactMethod`, `EmergencyContact`, `Snooze`: how to reach people, who else to call, and what a
  caregiver asked not to be paged about for a while.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from episodes.models import Episode
from groups.models import CareGroup, Membership


class Channel(models.TextChoices):
    IN_APP = "in_app", "In app"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"
    WEBHOOK = "webhook", "Webhook"


class EmergencyContact(models.Model):
    """Someone to call who is not a member of the group (a neighbour, a GP's out-of-hours line).
    They receive pages by SMS or email; they have no account, so they cannot acknowledge in the app."""

    group = models.ForeignKey(CareGroup, on_delete=models.CASCADE, related_name="emergency_contacts")
    name = models.CharField(max_length=120)
    relation = models.CharField(max_length=120, blank=True, help_text="Neighbour, GP, ...")
    position = models.PositiveSmallIntegerField(default=1, help_text="Contacted in this order.")

    class Meta:
        ordering = ["group", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relation})" if self.relation else self.name


class ContactMethod(models.Model):
    """One way to reach a person, tried in `position` order when the previous one fails or stays
    unacknowledged. In-app is implicit: every alert is also in the app."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_methods"
    )
    contact = models.ForeignKey(
        EmergencyContact, null=True, blank=True, on_delete=models.CASCADE, related_name="methods"
    )
    channel = models.CharField(max_length=8, choices=[c for c in Channel.choices if c[0] != Channel.IN_APP])
    address = models.CharField(
        max_length=500, help_text="An email address, an E.164 phone number, an FCM device token or an https URL."
    )
    secret = models.CharField(max_length=128, blank=True, help_text="Webhooks: the HMAC-SHA256 signing secret.")
    position = models.PositiveSmallIntegerField(default=1)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, contact__isnull=True)
                | models.Q(user__isnull=True, contact__isnull=False),
                name="contact_method_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.address}"

    def clean(self) -> None:
        from .channels import address_problem

        problem = address_problem(self.channel, self.address)
        if problem:
            raise ValidationError({"address": problem})
        if self.channel == Channel.WEBHOOK and not self.secret:
            raise ValidationError({"secret": "A webhook needs a signing secret (receivers verify the signature)."})


class EscalationPolicy(models.Model):
    """A group's escalation chain: ordered steps, copied onto each episode when it starts."""

    class Purpose(models.TextChoices):
        DISTRESS = "distress", "Health episodes"
        NO_DATA = "no_data", "No data from the watch"

    group = models.ForeignKey(CareGroup, on_delete=models.CASCADE, related_name="escalation_policies")
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.DISTRESS)
    name = models.CharField(max_length=120, default="Default chain")
    reminder_minutes = models.PositiveSmallIntegerField(
        default=15, help_text="While acknowledged but unresolved, remind the responder this often (0: never)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [models.UniqueConstraint(fields=["group", "purpose"], name="escalation_policy_one_per_purpose")]

    def __str__(self) -> str:
        return f"{self.name} ({self.group}, {self.get_purpose_display().lower()})"


class EscalationStep(models.Model):
    class Action(models.TextChoices):
        NOTIFY_PERSON = "notify_person", "Notify a person"
        NOTIFY_ROLE = "notify_role", "Notify everyone with a role"
        NOTIFY_ALL_CAREGIVERS = "notify_all_caregivers", "Notify all caregivers"
        NOTIFY_NEXT_CAREGIVER = "notify_next_caregiver", "Notify the next caregiver in order"
        NOTIFY_EMERGENCY_CONTACTS = "notify_emergency_contacts", "Notify the emergency contacts"
        WAIT = "wait", "Wait"
        REPEAT = "repeat", "Repeat from the first step"

    NOTIFY_ACTIONS = frozenset(
        {
            Action.NOTIFY_PERSON,
            Action.NOTIFY_ROLE,
            Action.NOTIFY_ALL_CAREGIVERS,
            Action.NOTIFY_NEXT_CAREGIVER,
            Action.NOTIFY_EMERGENCY_CONTACTS,
        }
    )

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=32, choices=Action.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=16, choices=Membership.Role.choices, blank=True)
    channel = models.CharField(
        max_length=8,
        choices=Channel.choices,
        default=Channel.IN_APP,
        help_text="Try this channel first (if the person has it); their other channels follow as fallbacks.",
    )
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


class Escalation(models.Model):
    """The durable timer of one episode. The beat tick claims rows whose `next_step_at` is due by
    moving it one lease into the future (a crashed worker's claim simply expires) and runs the phase."""

    class Phase(models.TextChoices):
        CHECKIN = "checkin", "Waiting for the wearer's answer"
        RECHECK = "recheck", "Calming window, then re-measure"
        CHAIN = "chain", "Paging the chain"
        ACKNOWLEDGED = "acknowledged", "Acknowledged: reminders"
        DONE = "done", "Done"

    episode = models.OneToOneField(Episode, on_delete=models.CASCADE, related_name="escalation")
    policy_snapshot = models.JSONField(default=dict, help_text="The chain as it was when the episode started.")
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.CHECKIN)
    step_index = models.PositiveSmallIntegerField(default=0)
    repeats_done = models.PositiveSmallIntegerField(default=0)
    next_caregiver = models.PositiveSmallIntegerField(default=0, help_text="For 'notify the next caregiver'.")
    next_step_at = models.DateTimeField(null=True, blank=True, help_text="When the tick acts next (empty: never).")
    lease_token = models.CharField(max_length=32, blank=True)
    all_clear_sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # the tick: "due escalations"
        indexes = [models.Index(fields=["next_step_at"], name="escalation_due")]

    def __str__(self) -> str:
        return f"Escalation of episode {self.episode_id} ({self.get_phase_display()})"


class Alert(models.Model):
    """One message about an episode to one person: a page (acknowledge me), a reminder or an all-clear."""

    class Purpose(models.TextChoices):
        PAGE = "page", "Page"
        REMINDER = "reminder", "Reminder"
        ALL_CLEAR = "all_clear", "All-clear"

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        URGENT = "urgent", "Urgent"
        CRITICAL = "critical", "Critical"

    Channel = Channel

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Response(models.TextChoices):
        ON_MY_WAY = "on_my_way", "On my way"
        CALLED_THEM = "called_them", "I called them"
        CANT_RESPOND = "cant_respond", "Can't respond"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="alerts")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    contact = models.ForeignKey(
        EmergencyContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.PAGE)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.WARNING)
    channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.IN_APP, help_text="The channel tried most recently."
    )
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
    response = models.CharField(max_length=16, choices=Response.choices, blank=True)
    eta_at = models.DateTimeField(null=True, blank=True, help_text="'On my way': when they expect to be there.")
    step_position = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The chain step that sent it.")
    method_index = models.PositiveSmallIntegerField(default=0, help_text="Which of the person's channels is in use.")
    fallback_at = models.DateTimeField(
        null=True, blank=True, help_text="Unacknowledged by then: try the person's next channel."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "my alerts, newest first" (the mobile app's inbox)
            models.Index(fields=["recipient", "-created_at"], name="alert_recipient_recent"),
            models.Index(fields=["episode", "created_at"], name="alert_episode"),
            # the tick: "unacknowledged pages due for the next channel"
            models.Index(fields=["fallback_at"], name="alert_fallback_due"),
        ]

    def __str__(self) -> str:
        who = self.recipient or self.contact
        return f"{self.get_purpose_display()} to {who} ({self.get_state_display()})"

    def who(self) -> str:
        return str(self.recipient or self.contact or "nobody")


class Delivery(models.Model):
    """One send of an alert over one channel; its state is the receipt. Sent at most once per
    idempotency key: a retried task re-claims the same row, and providers get the key too."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Not needed any more"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_id = models.CharField(max_length=200, blank=True, help_text="The provider's message id.")
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        # the tick: "queued deliveries due, and sends whose worker died"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.address or self.alert.who()} ({self.get_state_display()})"


class Snooze(models.Model):
    """A caregiver asked not to be paged about one wearer's episodes of one kind until `until`.
    Holds across new readings; never applies to red flags."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="snoozes")
    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Episode.Kind.choices)
    until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-until"]
        indexes = [models.Index(fields=["user", "wearer", "kind", "until"], name="snooze_active")]

    def __str__(self) -> str:
        return f"{self.user} snoozed {self.kind} of {self.wearer} until {self.until:%Y-%m-%d %H:%M}"
