"""Celery entry points for detection (the `detection` queue; `urgent` for red flags and readings
worth a prompt look, vitals.services.samples_stored_notify)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

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
        try:
            wearers_detect.apply_async(
                args=[run.busy], kwargs={"attempt": attempt + 1}, queue=queue, countdown=BUSY_COUNTDOWN_SECONDS
            )
        except Exception:  # the broker is down: the wearers' next store enqueues them again
            logger.exception("could not enqueue detection again for %d busy wearers", len(run.busy))
    return run.found
