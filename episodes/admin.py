from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.models import Alert

from .models import Episode, EpisodeEvent, ExplainedCause
from .services import episode_escalate
from .state_machine import IllegalTransition


class EpisodeEventInline(admin.TabularInline):
    """The timeline is history: read-only, never deleted."""

    model = EpisodeEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "source", "from_state", "to_state", "message", "data"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Episode | None = None) -> bool:
        return False


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    can_delete = False
    fields = ["created_at", "purpose", "recipient", "contact", "level", "channel", "state", "response", "attempts",
              "acknowledged_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Episode | None = None) -> bool:
        return False


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "wearer",
        "kind",
        "severity",
        "state",
        "source",
        "score",
        "started_at",
        "acknowledged_by",
        "resolution",
    ]
    list_filter = ["state", "kind", "severity", "source", "resolution", "started_at"]
    search_fields = ["wearer__email", "wearer__display_name", "explanation"]
    list_select_related = ["wearer", "acknowledged_by"]
    date_hierarchy = "started_at"
    inlines = [EpisodeEventInline, AlertInline]
    readonly_fields = [
        "wearer", "kind", "severity", "state", "source", "score", "explanation", "started_at", "updated_at",
        "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "resolution", "resolution_note",
        "location", "zone",
    ]  # fmt: skip
    fieldsets = (
        (None, {"fields": (("wearer", "kind", "severity"), ("state", "source", "score"), "explanation")}),
        (
            "When",
            {
                "fields": (
                    ("started_at", "updated_at"),
                    ("acknowledged_at", "acknowledged_by"),
                    ("resolved_at", "resolved_by"),
                )
            },
        ),
        ("Resolution", {"fields": ("resolution", "resolution_note")}),
        ("Where", {"fields": (("location", "zone"),), "classes": ("collapse",)}),
    )
    actions = ["acknowledge", "escalate", "resolve_recovered", "resolve_false_alarm", "resolve_handled"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # episodes open through detection, the API or SOS, never by hand-editing rows

    def has_delete_permission(self, request: HttpRequest, obj: Episode | None = None) -> bool:
        return False

    def _each(self, request: HttpRequest, queryset: QuerySet[Episode], action, verb: str) -> None:
        done, refused = 0, []
        for episode in queryset:
            try:
                done += bool(action(episode))
            except IllegalTransition as exc:
                refused.append(f"#{episode.id}: {exc}")
        self.message_user(request, f"{verb} {done} episode(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Acknowledge (I am handling it)", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        from alerts.escalation import episode_take

        self._each(request, queryset, lambda e: episode_take(episode=e, by=request.user), "Acknowledged")

    @admin.action(description="Escalate to caregivers now", permissions=["change"])
    def escalate(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._each(
            request,
            queryset,
            lambda e: _escalate_now(e, request.user),
            "Escalated",
        )

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Episode], resolution: str) -> None:
        from alerts.escalation import episode_close

        self._each(
            request,
            queryset,
            lambda e: episode_close(episode=e, by=request.user, resolution=resolution, note="Resolved from admin."),
            "Resolved",
        )

    @admin.action(description="Resolve: recovered", permissions=["change"])
    def resolve_recovered(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._resolve(request, queryset, Episode.Resolution.RECOVERED)

    @admin.action(description="Resolve: false alarm", permissions=["change"])
    def resolve_false_alarm(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._resolve(request, queryset, Episode.Resolution.FALSE_ALARM)

    @admin.action(description="Resolve: handled by caregiver", permissions=["change"])
    def resolve_handled(self, request: HttpRequest, queryset: QuerySet[Episode]) -> None:
        self._resolve(request, queryset, Episode.Resolution.HANDLED_BY_CAREGIVER)


def _escalate_now(episode: Episode, by) -> bool:  # type: ignore[no-untyped-def]
    """Escalate and let the chain run now (not at the end of a check-in countdown)."""
    from alerts.escalation import escalation_due_now

    won = episode_escalate(episode=episode, reason="Escalated from admin.", actor=by)
    escalation_due_now(episode=episode)
    return won


@admin.register(EpisodeEvent)
class EpisodeEventAdmin(admin.ModelAdmin):
    list_display = ["at", "episode", "kind", "actor", "source", "from_state", "to_state", "message"]
    list_filter = ["kind", "source"]
    search_fields = ["episode__wearer__email", "message"]
    list_select_related = ["episode__wearer", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EpisodeEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EpisodeEvent | None = None) -> bool:
        return False


@admin.register(ExplainedCause)
class ExplainedCauseAdmin(admin.ModelAdmin):
    """Known reasons for a raised heart rate: heart-rate alarms are held while one lasts."""

    list_display = ["wearer", "reason", "starts_at", "ends_at", "note", "created_by"]
    list_filter = ["reason"]
    search_fields = ["wearer__email", "wearer__display_name", "note"]
    list_select_related = ["wearer", "created_by"]
    autocomplete_fields = ["wearer"]
    readonly_fields = ["created_by"]

    def save_model(self, request: HttpRequest, obj: ExplainedCause, form, change: bool) -> None:  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
