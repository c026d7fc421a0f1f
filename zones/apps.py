from __future__ import annotations

from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "zones"
    verbose_name = "Community zones"
