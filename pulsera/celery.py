"""The Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulsera.settings")

app = Celery("pulsera")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _worker_child_init(**_: object) -> None:
    """Each prefork child scores with one thread (two children on two cores, not four threads
    fighting); PulseNet itself loads lazily on first use, after this fork. The garbage collector gets
    the socket processes' thresholds: with torch loaded a child tracks ~10^5 objects, and the full
    collections that a detection run's allocations set off had doubled its time."""
    import torch
    from django.conf import settings

    from .gc_tuning import gc_tune

    torch.set_num_threads(1)
    gc_tune(settings.PULSERA_GC_THRESHOLDS)
