"""`manage.py check` reports a missing or broken PulseNet checkpoint (detection still runs on rules)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Warning, register


@register()
def pulsenet_checkpoint(app_configs: Any, **kwargs: Any) -> list[Warning]:
    from inference.services import pulsenet

    loaded = pulsenet(reload=True)
    if loaded.model is not None:
        return []
    return [
        Warning(
            f"PulseNet is unavailable: {loaded.error}",
            hint="Detection falls back to the rule floor and personal baselines. "
            "Restore the committed checkpoint or run `manage.py pulsenet_train`.",
            id="inference.W001",
        )
    ]
