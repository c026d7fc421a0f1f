"""`manage.py setup_roles`: create or update the admin's "Clinicians" permission group (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services import CLINICIAN_PERMISSIONS, clinician_role_ensure


class Command(BaseCommand):
    help = "Create or update the 'Clinicians' permission group used by staff clinicians in the admin."

    def handle(self, *args: Any, **options: Any) -> None:
        group = clinician_role_ensure()
        self.stdout.write(
            f"'{group.name}' has {group.permissions.count()} permissions over {len(CLINICIAN_PERMISSIONS)} models. "
            "Add staff clinicians to it in the admin (People > user > Groups)."
        )
