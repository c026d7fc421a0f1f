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
def _one_torch_thread_per_worker(**_: object) -> None:
    """Each prefork child scores with one thread (two children on two cores, not four threads
    fighting). PulseNet itself loads lazily on first use, after this fork."""
    import torch

    torch.set_num_threads(1)
