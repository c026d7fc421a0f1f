"""Health episodes (something is wrong with a wearer) and their timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from zones.models import Zone

from . import state_machine as sm


class Episode(models.Model):
    class Kind(models.TextChoices):
        TACHYCARDIA = "tachycardia", "High heart rate"
        BRADYCARDIA = "bradycardia", "Low heart rate"
        HR_SPIKE = "hr_spike", "Sudden heart-rate spike"
        HRV_COLLAPSE = "hrv_collapse", "HRV collapse"
        DESATURATION = "desaturation", "Low blood oxygen"
        FALL = "fall", "Possible fall"
        DRIFT = "drift", "Slow drift (illness-like)"
        NO_DATA = "no_data", "No data from watch"
        SOS = "sos", "SOS"
        COMMUNITY = "community", "Community-wide distress"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class State(models.TextChoices):
        OPEN = sm.OPEN, "Open (checking in)"
        ESCALATING = sm.ESCALATING, "Escalating"
        ACKNOWLEDGED = sm.ACKNOWLEDGED, "Acknowledged"
        RESOLVED = sm.RESOLVED, "Resolved"

    class Source(models.TextChoices):
        MODEL = "model", "PulseNet model"
        RULE = "rule", "Safety rule"
        BASELINE = "baseline", "Personal baseline"
        MANUAL = "manual", "Manual"
        SOS = "sos", "SOS button"
        SYSTEM = "system", "System (e.g. no data)"

    class Resolution(models.TextChoices):
        RECOVERED = "recovered", "Recovered"
        FALSE_ALARM = "false_alarm", "False alarm"
        HANDLED_BY_CAREGIVER = "handled_by_caregiver", "Handled by caregiver"
        EMERGENCY_SERVICES = "emergency_services", "Emergency services called"

    class Answer(models.TextChoices):
        OK = "ok", "I'm OK"
        HELP = "help", "I need help"
        SOS = "sos", "SOS"

    SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}
    # Kinds a heart-rate explanation (exercise, a procedure) may inhibit: never SpO2, falls or SOS.
    HEART_RATE_KINDS = frozenset({Kind.TACHYCARDIA, Kind.HR_SPIKE, Kind.HRV_COLLAPSE})
    # Kinds that are one event to the people paged: a racing heart that began with a sudden jump is
    # one high heart rate. Evidence of either adds to the active episode of the other.
    SAME_EVENT_KINDS = {
        Kind.TACHYCARDIA: (Kind.TACHYCARDIA, Kind.HR_SPIKE),
        Kind.HR_SPIKE: (Kind.HR_SPIKE, Kind.TACHYCARDIA),
    }
    # Kinds that go straight to caregivers, without asking the wearer first.
    RED_FLAG_KINDS = frozenset({Kind.SOS, Kind.FALL})

    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="episodes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices)
    score = models.FloatField(null=True, blank=True, help_text="Detector score, 0-1, when a detector opened it.")
    explanation = models.TextField(blank=True, help_text="Why it was opened, in plain language.")
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=24, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    location = models.JSONField(
        null=True, blank=True, help_text='GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}'
    )
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes")
    last_evidence_at = models.DateTimeField(
        null=True, blank=True, help_text="When a detector last confirmed it; recovery is judged after it stops."
    )
    checkin_deadline = models.DateTimeField(
        null=True, blank=True, help_text="The wearer was asked 'are you OK?' and has until then to answer."
    )
    wearer_answer = models.CharField(max_length=8, choices=Answer.choices, blank=True)
    wearer_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One active episode per wearer and kind: new evidence updates it instead of paging again.
            models.UniqueConstraint(
                fields=["wearer", "kind"],
                condition=~models.Q(state=sm.RESOLVED),
                name="episode_one_active_per_wearer_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(state=sm.RESOLVED, resolved_at__isnull=False) | ~models.Q(state=sm.RESOLVED),
                name="episode_resolved_has_time",
            ),
        ]
        indexes = [
            # "a wearer's episode history", newest first
            models.Index(fields=["wearer", "-started_at"], name="episode_wearer_recent"),
            # the escalation tick and dashboards: active episodes by state
            models.Index(fields=["state", "started_at"], name="episode_state_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} - {self.wearer} ({self.get_state_display()})"

    def is_active(self) -> bool:
        return self.state in sm.ACTIVE_STATES

    def is_red_flag(self) -> bool:
        """Red flags skip the check-in, override quiet hours and snoozes."""
        return self.kind in self.RED_FLAG_KINDS or self.severity == self.Severity.CRITICAL


class EpisodeEvent(models.Model):
    """The timeline: every thing that happened to an episode, who did it and why. Append-only."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        EVIDENCE = "evidence", "New evidence"
        ESCALATED = "escalated", "Escalated"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        ALERT_CREATED = "alert_created", "Alert created"
        ALERT_ACKNOWLEDGED = "alert_acknowledged", "Alert acknowledged"
        NOTE = "note", "Note"
        CHECKIN_SENT = "checkin_sent", "Asked the wearer"
        WEARER_ANSWERED = "wearer_answered", "Wearer answered"
        RECHECKED = "rechecked", "Vitals re-measured"
        STEP = "step", "Escalation step"
        DELIVERY = "delivery", "Delivery receipt"
        ALL_CLEAR = "all_clear", "All-clear sent"
        REMINDER = "reminder", "Reminder"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, blank=True, help_text="system, model, rule, wearer, caregiver, admin...")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["episode", "at"], name="episode_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


class ExplainedCause(models.Model):
    """A known, harmless reason for a raised heart rate (a workout, a procedure): while it lasts,
    heart-rate alarms from detectors are not raised. It never silences SpO2, falls, SOS or
    critical readings."""

    class Reason(models.TextChoices):
        EXERCISE = "exercise", "Exercise"
        PROCEDURE = "procedure", "Medical procedure or medication"
        OTHER = "other", "Other"

    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="explained_causes")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.EXERCISE)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at"]
        # "is this wearer's heart rate explained right now?"
        indexes = [models.Index(fields=["wearer", "ends_at"], name="explained_cause_wearer_end")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.wearer} until {self.ends_at:%H:%M}"
