"""Which stores are worth a detection run. Pure, thread-safe, one per process.

Detection judges whole minutes: a wearer's minute is judged once a sample of a later minute exists
(`inference.services.wearers_detect_run`). A watch sends a frame every few seconds, so most stores only
add to the minute that is still filling, and a detection run for them would find nothing to do
(a Celery message, a task, a few queries; under the closed-loop ingest benchmark the worker spent
35-54 % of a core on such runs, on the same two cores as Daphne).

The gate lets a wearer through when its newest stored sample is in a later minute than at its last
run, or when that run was enqueued `requeue_seconds` ago or more (a safety net: a message lost with
a broker is redone within that time). A wearer that another run was judging at that moment is
judged again a second later by the task itself (inference/tasks.py).

Only an optimisation: it forgets everything on restart, each process keeps its own, and a wearer it
has never seen always passes; red-flag readings never go through it.
"""

from __future__ import annotations

import threading
from datetime import datetime


class DetectionGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, tuple[int, float]] = {}  # wearer -> (minute of newest sample, enqueued at)

    def due(self, newest_by_wearer: dict[int, datetime], *, now: float, requeue_seconds: float) -> list[int]:
        """The wearers (sorted) whose new samples may complete a minute, or whose last run is old."""
        with self._lock:
            due = []
            for wearer_id, newest in newest_by_wearer.items():
                last = self._last.get(wearer_id)
                if last is None or _minute(newest) > last[0] or now - last[1] >= requeue_seconds:
                    due.append(wearer_id)
            return sorted(due)

    def enqueued(self, newest_by_wearer: dict[int, datetime], wearer_ids: list[int], *, now: float) -> None:
        """Remember a run enqueued for these wearers (call only once the broker took it)."""
        with self._lock:
            for wearer_id in wearer_ids:
                minute = _minute(newest_by_wearer[wearer_id])
                last = self._last.get(wearer_id)
                self._last[wearer_id] = (max(minute, last[0]) if last else minute, now)

    def forget(self) -> None:
        with self._lock:
            self._last.clear()


def _minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)
