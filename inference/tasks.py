"""Celery entry points for detection (the `detection` queue)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def wearers_detect(wearer_ids: list[int]) -> int:
    from inference.services import wearers_detect

    return wearers_detect(wearer_ids=wearer_ids)
