"""Clinician admin: per-wearer rule thresholds (editable), baselines and model versions (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from .models import DetectionSettings, ModelVersion, WearerDetectorState


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "wearer", "spo2_low", "heart_rate_high_at_rest", "heart_rate_low", "sustained_minutes",
        "high_sustained_minutes", "updated_by", "updated_at",
    ]  # fmt: skip
    search_fields = ["wearer__email", "wearer__display_name"]
    autocomplete_fields = ["wearer"]
    readonly_fields = ["updated_by", "updated_at"]
    fieldsets = [
        (None, {"fields": ["wearer"]}),
        ("Blood oxygen and low heart rate", {"fields": ["spo2_low", "heart_rate_low", "sustained_minutes"]}),
        ("High heart rate at rest", {"fields": ["heart_rate_high_at_rest", "high_sustained_minutes"]}),
        ("No data from the watch", {"fields": ["no_data_after_minutes", ("worn_from", "worn_until")]}),
        ("Why", {"fields": ["note", "updated_by", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: DetectionSettings, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(WearerDetectorState)
class WearerDetectorStateAdmin(admin.ModelAdmin):
    """What the detector has learned about a wearer: read-only (it is rebuilt from data)."""

    list_display = ["wearer", "processed_until", "model_version", "resting_hr_recent", "updated_at"]
    search_fields = ["wearer__email", "wearer__display_name"]
    list_select_related = ["wearer", "model_version"]
    fields = ["wearer", "processed_until", "model_version", "updated_at", "daily_history"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Resting HR (last days)")
    def resting_hr_recent(self, obj: WearerDetectorState) -> str:
        history = (obj.state or {}).get("baseline", {}).get("history", [])
        values = [f"{row[1]:.0f}" for row in history[-5:] if row[1] is not None]
        return ", ".join(values) or "learning"

    @admin.display(description="Daily summaries (resting HR, rest HRV, steps)")
    def daily_history(self, obj: WearerDetectorState) -> str:
        history = (obj.state or {}).get("baseline", {}).get("history", [])
        if not history:
            return "No complete day yet."
        return format_html_join(
            "",
            "<div>day {}: resting HR {}, HRV {}, steps {}</div>",
            (
                (row[0], "n/a" if row[1] is None else f"{row[1]:.0f}", "n/a" if row[2] is None else f"{row[2]:.0f} ms",
                 "n/a" if row[3] is None else f"{row[3]:.0f}")
                for row in reversed(history[-30:])
            ),
        )  # fmt: skip


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "sha256_short",
        "seed",
        "size_bytes",
        "trained_seconds",
        "first_seen_at",
        "last_loaded_at",
    ]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="SHA-256")
    def sha256_short(self, obj: ModelVersion) -> str:
        return obj.sha256[:12]
