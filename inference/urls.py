from __future__ import annotations

from django.urls import path

from . import api

app_name = "inference"
urlpatterns = [
    path("health/", api.HealthApi.as_view(), name="health"),
]
