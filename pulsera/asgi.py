"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by Daphne)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulsera.settings")
django_asgi_app = get_asgi_application()  # populate the app registry before importing consumers

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from .gc_tuning import gc_tune  # noqa: E402
from .lib.ws_origin import BrowserOriginValidator  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

gc_tune(settings.PULSERA_GC_THRESHOLDS)  # after start-up: freeze what it created
