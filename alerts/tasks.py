"""Celery entry points of the alerting loop. Thin: each calls one service; the database holds the state."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def escalations_tick() -> dict[str, int]:
    """django-celery-beat runs this every PULSERA_ESCALATION_TICK_SECONDS (the durable path)."""
    from alerts.escalation import escalations_tick

    return escalations_tick()


@shared_task(ignore_result=True)
def escalation_run(escalation_id: int, token: str) -> str:
    """The fast path: run one escalation claimed by a service, right after its commit."""
    from alerts.escalation import escalation_run

    return escalation_run(escalation_id=escalation_id, token=token)


@shared_task(ignore_result=True)
def delivery_send(delivery_id: int, token: str) -> str:
    """Send one claimed delivery. No Celery retries: a failure is re-queued in the row with backoff,
    and the tick re-claims it, so a retry can never race the first attempt."""
    from alerts.notify import delivery_send

    return delivery_send(delivery_id=delivery_id, token=token)


@shared_task(ignore_result=True)
def wearers_check_silent() -> int:
    """Open (and clear) "no data" episodes; beat runs it every minute."""
    from alerts.no_data import wearers_check_silent

    return wearers_check_silent()
