from __future__ import annotations

from django.apps import AppConfig


class VitalsConfig(AppConfig):
    name = "vitals"
    verbose_name = "Vitals"
