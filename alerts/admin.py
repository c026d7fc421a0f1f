from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from .escalation import episode_take
from .models import (
    Alert,
    ContactMethod,
    Delivery,
    EmergencyContact,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    Snooze,
)
from .policy import chain_problems, step_normalise


class DeliveryInline(admin.TabularInline):
    """The receipts: read-only history."""

    model = Delivery
    extra = 0
    can_delete = False
    fields = ["created_at", "channel", "address", "state", "attempts", "provider_id", "error", "sent_at",
              "delivered_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "episode", "purpose", "recipient", "contact", "level", "channel", "state", "response",
                    "created_at", "acknowledged_at"]  # fmt: skip
    list_filter = ["purpose", "state", "level", "channel", "response", "created_at"]
    search_fields = ["recipient__email", "recipient__display_name", "contact__name", "episode__wearer__email"]
    list_select_related = ["recipient", "contact", "episode__wearer"]
    readonly_fields = [
        "episode", "recipient", "contact", "purpose", "level", "channel", "state", "message", "attempts",
        "created_by", "created_at", "sent_at", "acknowledged_at", "acknowledged_by", "response", "eta_at",
        "step_position", "method_index", "fallback_at",
    ]  # fmt: skip
    inlines = [DeliveryInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    @admin.action(description="Acknowledge the episode (I am handling it)", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = 0
        for episode in {a.episode for a in queryset.select_related("episode") if a.episode.is_active()}:
            done += episode_take(episode=episode, by=request.user, response=Alert.Response.CALLED_THEM)
        self.message_user(request, f"Acknowledged {done} episode(s).", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "alert", "channel", "address", "state", "attempts", "provider_id", "created_at", "sent_at"]
    list_filter = ["state", "channel", "created_at"]
    search_fields = ["address", "provider_id", "alert__recipient__email"]
    list_select_related = ["alert__recipient", "alert__contact"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False


class StepFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        steps = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            data = form.cleaned_data
            steps.append(step_normalise(
                {"action": data["action"], "wait_minutes": data.get("wait_minutes"),
                 "repeat_times": data.get("repeat_times")}, data.get("position") or 0,
            ))  # fmt: skip
        steps.sort(key=lambda s: s["position"])
        problems = chain_problems(steps) if steps else []
        if problems:
            raise ValidationError(problems)


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    formset = StepFormSet
    extra = 1
    autocomplete_fields = ["person"]
    fields = ["position", "action", "person", "role", "channel", "wait_minutes", "repeat_times"]
    ordering = ["position"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "purpose", "step_count", "reminder_minutes", "updated_at"]
    list_filter = ["purpose"]
    search_fields = ["name", "group__name"]
    autocomplete_fields = ["group"]
    inlines = [EscalationStepInline]
    list_select_related = ["group"]

    @admin.display(description="Steps")
    def step_count(self, obj: EscalationPolicy) -> int:
        return obj.steps.count()


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    """Where each running escalation is: read-only (episodes change through their actions)."""

    list_display = ["episode", "phase", "step_index", "repeats_done", "next_step_at", "all_clear_sent_at"]
    list_filter = ["phase"]
    list_select_related = ["episode__wearer"]
    readonly_fields = ["episode", "phase", "step_index", "repeats_done", "next_caregiver", "next_step_at",
                       "lease_token", "all_clear_sent_at", "policy_snapshot"]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Escalation | None = None) -> bool:
        return False


class ContactMethodInline(admin.TabularInline):
    model = ContactMethod
    extra = 1
    fields = ["position", "channel", "address", "enabled"]


@admin.register(EmergencyContact)
class EmergencyContactAdmin(admin.ModelAdmin):
    list_display = ["name", "relation", "group", "position"]
    search_fields = ["name", "group__name"]
    autocomplete_fields = ["group"]
    inlines = [ContactMethodInline]


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "contact", "position", "enabled"]
    list_filter = ["channel", "enabled"]
    search_fields = ["address", "user__email", "contact__name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "contact"]


@admin.register(Snooze)
class SnoozeAdmin(admin.ModelAdmin):
    list_display = ["user", "wearer", "kind", "until", "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "wearer__email"]
    list_select_related = ["user", "wearer"]
    autocomplete_fields = ["user", "wearer"]
