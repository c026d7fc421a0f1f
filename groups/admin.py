from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import CareGroup, Consent, Invitation, Membership
from .services import consents_sync, invitation_revoke, member_remove


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
        consents_sync(form.instance)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Writes go through the membership services, so consent rows and the last-admin rule hold."""

    list_display = ["user", "group", "role", "escalation_order", "joined_at"]
    list_filter = ["role", "group__kind"]
    search_fields = ["user__email", "user__display_name", "group__name"]
    autocomplete_fields = ["user", "group"]
    list_select_related = ["user", "group"]
    readonly_fields = ["joined_at"]

    def save_model(self, request: HttpRequest, obj: Membership, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        consents_sync(obj.group)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        self._remove(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("group"):
            self._remove(request, membership)

    def _remove(self, request: HttpRequest, membership: Membership) -> None:
        try:
            member_remove(membership=membership)
        except ValidationError as exc:
            self.message_user(request, f"{membership}: {' '.join(exc.messages)}", messages.ERROR)


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
