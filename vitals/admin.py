from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Device, LatestVitals, VitalSample
from .services import device_revoke, device_token_assign, device_token_rotate


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "wearer",
        "kind",
        "presence",
        "token_prefix",
        "is_active",
        "last_seen_at",
        "last_sample_at",
        "battery_pct",
    ]
    list_filter = ["presence", "kind", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "wearer__email", "wearer__display_name", "token_prefix"]
    autocomplete_fields = ["wearer"]
    readonly_fields = [
        "presence",
        "presence_changed_at",
        "token_prefix",
        "created_at",
        "token_rotated_at",
        "revoked_at",
        "last_seen_at",
        "last_sample_at",
        "battery_pct",
    ]
    list_select_related = ["wearer"]
    actions = ["rotate_token", "revoke"]

    @admin.display(boolean=True, description="Active")
    def is_active(self, obj: Device) -> bool:
        return obj.is_active()

    def save_model(self, request: HttpRequest, obj: Device, form, change: bool) -> None:
        if not change:
            token = device_token_assign(obj)
            super().save_model(request, obj, form, change)
            self.message_user(request, f"Device token for {obj.name} (shown once): {token}", messages.WARNING)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate token (shows the new token once)", permissions=["change"])
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            token = device_token_rotate(device=device)
            self.message_user(request, f"New token for {device.name} (shown once): {token}", messages.WARNING)

    @admin.action(description="Revoke token (lost or retired device)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            device_revoke(device=device)
        self.message_user(request, f"Revoked {queryset.count()} device(s).", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Measurements are history: nobody edits them by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(VitalSample)
class VitalSampleAdmin(ReadOnlyAdmin):
    list_display = [
        "recorded_at",
        "wearer",
        "device",
        "sequence",
        "heart_rate",
        "hrv_ms",
        "spo2",
        "skin_temp_c",
        "steps",
        "motion_g",
    ]
    list_filter = ["recorded_at"]
    search_fields = ["wearer__email", "wearer__display_name", "device__name"]
    list_select_related = ["wearer", "device"]
    date_hierarchy = "recorded_at"
    show_full_result_count = False  # COUNT(*) over millions of samples is slow


@admin.register(LatestVitals)
class LatestVitalsAdmin(ReadOnlyAdmin):
    list_display = ["wearer", "recorded_at", "heart_rate", "spo2", "updated_at"]
    search_fields = ["wearer__email", "wearer__display_name"]
    list_select_related = ["wearer"]

    @admin.display(description="Heart rate")
    def heart_rate(self, obj: LatestVitals) -> object:
        return obj.values.get("heart_rate", {}).get("value")

    @admin.display(description="SpO2")
    def spo2(self, obj: LatestVitals) -> object:
        return obj.values.get("spo2", {}).get("value")
