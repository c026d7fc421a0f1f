from __future__ import annotations

from django.urls import path

from . import api

app_name = "alerts"
urlpatterns = [
    path("alerts/", api.AlertListCreateApi.as_view(), name="list"),
    path("alerts/<int:alert_id>/acknowledge/", api.AlertAcknowledgeApi.as_view(), name="acknowledge"),
]
