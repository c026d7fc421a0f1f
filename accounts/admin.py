from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from groups.models import Membership

from .models import User


class PulseraUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class PulseraUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    """Shown here; edited on the care group's page (which keeps consent rows in step)."""

    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["group", "role", "escalation_order", "joined_at"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Care groups (edit them on the care group's page)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = PulseraUserChangeForm
    add_form = PulseraUserCreationForm
    list_display = ["email", "display_name", "phone", "time_zone", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "memberships__role"]
    search_fields = ["email", "display_name", "phone"]
    ordering = ["email"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "phone", "time_zone", ("quiet_hours_start", "quiet_hours_end"))}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")}),)
