"""PulseNet model versions, per-wearer detector state, and the rule thresholds clinicians set."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ModelVersion(models.Model):
    """A PulseNet checkpoint this server has trained or loaded, with its metadata."""

    version = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500)
    size_bytes = models.PositiveIntegerField()
    seed = models.IntegerField(null=True, blank=True)
    data_description = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    trained_seconds = models.FloatField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_loaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at"]

    def __str__(self) -> str:
        return f"PulseNet {self.version} ({self.sha256[:12]})"


class DetectionSettings(models.Model):
    """The rule floor's thresholds for one wearer. Without a row the defaults apply."""

    wearer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="detection_settings"
    )
    spo2_low = models.FloatField(
        default=88.0,
        validators=[MinValueValidator(70), MaxValueValidator(96)],
        help_text="Alarm when SpO2 stays below this (percent).",
    )
    heart_rate_high_at_rest = models.FloatField(
        default=150.0,
        validators=[MinValueValidator(90), MaxValueValidator(220)],
        help_text="Alarm when heart rate stays above this while at rest (bpm).",
    )
    heart_rate_low = models.FloatField(
        default=40.0,
        validators=[MinValueValidator(25), MaxValueValidator(60)],
        help_text="Alarm when heart rate stays below this (bpm).",
    )
    sustained_minutes = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Minutes low SpO2 or low heart rate must last.",
    )
    high_sustained_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Minutes a high heart rate at rest must last.",
    )
    note = models.TextField(blank=True, help_text="Why these thresholds (clinical reasoning).")
    no_data_after_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 60)],
        help_text="Open a 'no data' episode when the watch is silent this long while it should be worn "
        "(empty: the server default, PULSERA_NO_DATA_AFTER_MINUTES; 0: never).",
    )
    worn_from = models.TimeField(null=True, blank=True, help_text="Local time the watch is usually put on.")
    worn_until = models.TimeField(
        null=True, blank=True, help_text="Local time it usually comes off (both empty: worn all day)."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rule thresholds"
        verbose_name_plural = "rule thresholds"

    def __str__(self) -> str:
        return f"Rule thresholds for {self.wearer}"

    def clean(self) -> None:
        if self.heart_rate_low >= self.heart_rate_high_at_rest:
            raise ValidationError("The low heart-rate threshold must be below the high one.")


class WearerDetectorState(models.Model):
    """The streaming detector's memory for one wearer: baseline, alarm state, where it got to."""

    wearer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="detector_state"
    )
    state = models.JSONField(default=dict)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL)
    processed_until = models.DateTimeField(null=True, blank=True, help_text="Minutes before this are judged.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "detector state"

    def __str__(self) -> str:
        return f"Detector state of {self.wearer}"
