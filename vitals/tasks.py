"""Celery entry points for vitals."""

from __future__ import annotations

from celery import shared_task


@shared_task
def devices_mark_stale() -> int:
    from vitals.services import devices_mark_stale

    return devices_mark_stale()
