from __future__ import annotations

from django.urls import path

from . import api

app_name = "zones"
urlpatterns = [
    path("zones/", api.ZoneListApi.as_view(), name="list"),
    path("zones/<int:zone_id>/status/", api.ZoneStatusApi.as_view(), name="status"),
]
