from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Alert, EscalationPolicy, EscalationStep
from .services import alert_acknowledge


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "episode",
        "recipient",
        "level",
        "channel",
        "state",
        "attempts",
        "created_at",
        "acknowledged_at",
    ]
    list_filter = ["state", "level", "channel", "created_at"]
    search_fields = ["recipient__email", "recipient__display_name", "episode__wearer__email"]
    list_select_related = ["recipient", "episode__wearer"]
    readonly_fields = [
        "episode", "recipient", "level", "channel", "state", "message", "attempts", "created_by", "created_at",
        "sent_at", "acknowledged_at", "acknowledged_by",
    ]  # fmt: skip
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge on the recipient's behalf", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = sum(alert_acknowledge(alert=alert, by=request.user) for alert in queryset)
        self.message_user(request, f"Acknowledged {done} alert(s).", messages.SUCCESS)


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    autocomplete_fields = ["person"]
    fields = ["position", "action", "person", "role", "channel", "wait_minutes", "repeat_times"]
    ordering = ["position"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "step_count", "updated_at"]
    search_fields = ["name", "group__name"]
    autocomplete_fields = ["group"]
    inlines = [EscalationStepInline]
    list_select_related = ["group"]

    @admin.display(description="Steps")
    def step_count(self, obj: EscalationPolicy) -> int:
        return obj.steps.count()
