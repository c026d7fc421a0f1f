"""Community safety zones: a neighbourhood, campus or care home watched for community-wide distress."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from groups.models import CareGroup

from .geometry import GeometryError, zone_geometry_validate


class Zone(models.Model):
    class Kind(models.TextChoices):
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood"
        CAMPUS = "campus", "Campus"
        CARE_HOME = "care_home", "Care home"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        NORMAL = "normal", "Normal"
        ADVISORY = "advisory", "Advisory"
        WARNING = "warning", "Warning"
        ALERT = "alert", "Alert"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NEIGHBOURHOOD)
    group = models.ForeignKey(
        CareGroup, on_delete=models.CASCADE, related_name="zones", help_text="The community that watches this zone."
    )
    geometry = models.JSONField(
        help_text='GeoJSON Polygon, or Point with a radius: {"type": "Point", "coordinates": [lon, lat]}'
    )
    radius_m = models.FloatField(null=True, blank=True, help_text="Radius in metres, for a Point zone.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NORMAL)
    risk_score = models.FloatField(default=0.0, help_text="0 (calm) to 1 (community-wide distress).")
    status_reason = models.CharField(max_length=255, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(risk_score__gte=0) & models.Q(risk_score__lte=1), name="zone_risk_score_0_1"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            zone_geometry_validate(self.geometry, self.radius_m)
        except GeometryError as exc:
            raise ValidationError({"geometry": str(exc)}) from exc
