from __future__ import annotations

from django.contrib import admin

from .models import Zone


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "group", "status", "risk_score", "status_changed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "group__name"]
    autocomplete_fields = ["group"]
    list_select_related = ["group"]
    readonly_fields = ["status_changed_at", "updated_at"]
