"""/api/v1/: every app's API in one versioned namespace."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("groups.urls")),
    path("", include("vitals.urls")),
    path("", include("episodes.urls")),
    path("", include("alerts.urls")),
    path("", include("zones.urls")),
    path("", include("inference.urls")),
]
