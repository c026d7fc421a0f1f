"""Celery entry points for detection (the `detection` queue, and `urgent` for red flags)."""

from __future__ import annotations

from celery import shared_task

BUSY_RETRIES = 3  # a wearer another run holds is judged again this many times at most
BUSY_COUNTDOWN_SECONDS = 1


@shared_task(bind=True, acks_late=True)
def wearers_detect(self, wearer_ids: list[int], attempt: int = 0) -> int:  # type: ignore[no-untyped-def]
    """Judge these wearers' complete minutes. Wearers another run was judging at the same moment
    are judged again a second later, on the same queue: that run may have read their samples just
    before the newest ones were committed."""
    from inference.services import wearers_detect_run

    run = wearers_detect_run(wearer_ids=wearer_ids)
    if run.busy and attempt < BUSY_RETRIES:
        queue = (self.request.delivery_info or {}).get("routing_key") or "detection"
        wearers_detect.apply_async(
            args=[run.busy], kwargs={"attempt": attempt + 1}, queue=queue, countdown=BUSY_COUNTDOWN_SECONDS
        )
    return run.found
