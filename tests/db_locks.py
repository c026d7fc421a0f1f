"""Holding a row lock from another connection, as another worker's run would (PostgreSQL tests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def detector_state_locked(wearer_id: int, *, timeout: float = 60) -> Iterator[threading.Event]:
    """While inside, another thread's transaction holds the wearer's detector-state row FOR UPDATE.
    Yields the event that releases it early (set it to let go before leaving the block)."""
    from inference.models import WearerDetectorState

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(WearerDetectorState.objects.select_for_update().filter(wearer_id=wearer_id))
                holding.set()
                release.wait(timeout)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30), "the lock was never taken"
        yield release
    finally:
        release.set()
        holder.join(30)
