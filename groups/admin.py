from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import CareGroup, Consent, Invitation, Membership
from .services import _consents_sync, invitation_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "escalation_order", "joined_at"]
    readonly_fields = ["joined_at"]


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["wearer", "viewer", "live_vitals", "location", "history", "updated_at"]
    readonly_fields = ["wearer", "viewer", "live_vitals", "location", "history", "updated_at"]
    can_delete = False
    verbose_name_plural = "Consent (chosen by each wearer; read-only here)"

    def has_add_permission(self, request: HttpRequest, obj: CareGroup | None = None) -> bool:
        return False


@admin.register(CareGroup)
class CareGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "member_count", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline, ConsentInline]

    @admin.display(description="Members")
    def member_count(self, obj: CareGroup) -> int:
        return obj.memberships.count()

    def save_related(self, request: HttpRequest, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Memberships edited inline: keep consent rows in step, as the membership services do.
        _consents_sync(form.instance)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "role", "escalation_order", "joined_at"]
    list_filter = ["role", "group__kind"]
    search_fields = ["user__email", "user__display_name", "group__name"]
    autocomplete_fields = ["user", "group"]
    list_select_related = ["user", "group"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["code", "group", "role", "email", "expires_at", "uses", "max_uses", "is_usable_now"]
    list_filter = ["role"]
    search_fields = ["code", "email", "group__name"]
    autocomplete_fields = ["group"]
    readonly_fields = ["code", "uses", "created_by", "created_at", "revoked_at"]
    list_select_related = ["group"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="Usable")
    def is_usable_now(self, obj: Invitation) -> bool:
        return obj.is_usable(timezone.now())

    @admin.action(description="Revoke selected invitations", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        for invitation in queryset:
            invitation_revoke(invitation=invitation)
        self.message_user(request, f"Revoked {queryset.count()} invitation(s).", messages.SUCCESS)
