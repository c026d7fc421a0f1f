"""Garbage-collector settings for the long-running socket processes (Daphne, the watch simulator)
and the Celery worker children (pulsera/celery.py).

A Daphne process holding 2,000 watch sockets tracks some 600,000 objects. With CPython's default
thresholds (700, 10, 10), the objects of frames in flight (alive for the ~50 ms until their flush
commits) outlive the frequent young collections and are promoted to the oldest generation, so a full
collection ran every ~10 s, and each one stopped the event loop for ~0.5 s to scan every object:
those pauses were most of the ingest benchmark's p99 ack latency (docs/benchmarks.md). A larger
first threshold lets such objects die young, which makes full collections rare; objects created at
start-up (modules, settings, URL patterns) are frozen so full collections never scan them again.
"""

from __future__ import annotations

import gc


def gc_tune(thresholds: tuple[int, ...]) -> None:
    """Freeze what start-up created and set the collector's thresholds (an empty tuple: leave them)."""
    if not thresholds:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
