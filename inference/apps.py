from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """PulseNet detection (and, later, the Gemini client). It reads vitals; it never stores them."""

    name = "inference"
    verbose_name = "Inference"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checkpoint check
