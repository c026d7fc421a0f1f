"""Celery entry points for care groups."""

from __future__ import annotations

from celery import shared_task


@shared_task
def invitations_expire() -> int:
    from groups.services import invitations_expire

    return invitations_expire()
