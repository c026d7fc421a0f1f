"""Watches and phones, the raw samples they send, and each wearer's latest values."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

# Metrics a sample may carry, in the order used everywhere (API, ingest, CSV).
METRICS = ("heart_rate", "hrv_ms", "spo2", "respiratory_rate", "skin_temp_c", "steps", "motion_g")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Device(models.Model):
    class Kind(models.TextChoices):
        WATCH = "watch", "Watch"
        PHONE = "phone", "Phone"

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"  # socket closed, data recent
        STALE = "stale", "Stale (no data)"  # silent for longer than PULSERA_DEVICE_STALE_AFTER_SECONDS

    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.WATCH)
    # Only the SHA-256 of the token is stored; the token itself is shown once, at registration/rotation.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    token_rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_sample_at = models.DateTimeField(null=True, blank=True, help_text="Timestamp of the newest sample received.")
    battery_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(null=True, blank=True)
    # The channel of the socket currently streaming for this device ("" when none): a late close of
    # an older socket must not mark a reconnected device offline.
    channel_name = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["wearer", "name"]
        # the stale sweep: WHERE revoked_at IS NULL AND last_seen_at < ? AND presence != 'stale'
        indexes = [models.Index(fields=["presence", "last_seen_at"], name="device_presence_seen")]

    def __str__(self) -> str:
        return f"{self.name} ({self.wearer})"

    def is_active(self) -> bool:
        return self.revoked_at is None


class VitalSample(models.Model):
    """One reading from a device. (device, sequence) is unique, so resending a sample stores nothing new."""

    id = models.BigAutoField(primary_key=True)
    wearer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="samples")
    recorded_at = models.DateTimeField(help_text="When the watch measured it (UTC).")
    sequence = models.BigIntegerField(help_text="Device-monotonic sequence number.")
    received_at = models.DateTimeField(default=timezone.now)
    heart_rate = models.FloatField(null=True, blank=True, help_text="beats per minute")
    hrv_ms = models.FloatField(null=True, blank=True, help_text="RMSSD, milliseconds")
    spo2 = models.FloatField(null=True, blank=True, help_text="percent")
    respiratory_rate = models.FloatField(null=True, blank=True, help_text="breaths per minute")
    skin_temp_c = models.FloatField(null=True, blank=True, help_text="degrees Celsius")
    steps = models.PositiveIntegerField(null=True, blank=True, help_text="steps since the previous sample")
    motion_g = models.FloatField(null=True, blank=True, help_text="peak acceleration magnitude, g")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "sequence"], name="sample_unique_device_sequence")]
        # "one wearer's last N hours": WHERE wearer_id = ? AND recorded_at > ? ORDER BY recorded_at DESC
        indexes = [models.Index(fields=["wearer", "-recorded_at"], name="sample_wearer_recent")]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.sequence} at {self.recorded_at:%Y-%m-%d %H:%M:%S}"


class LatestVitals(models.Model):
    """Each wearer's newest value of every metric, kept by the ingest service so dashboards read one row.

    `values` maps a metric name to {"value": number, "at": ISO-8601 timestamp}.
    """

    wearer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="latest_vitals"
    )
    values = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(help_text="Timestamp of the newest sample.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "latest vitals"

    def __str__(self) -> str:
        return f"Latest vitals of {self.wearer}"
