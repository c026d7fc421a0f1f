from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """PulseNet detection and the Gemini client (issue 5). It reads vitals; it never stores them."""

    name = "inference"
    verbose_name = "Inference"
