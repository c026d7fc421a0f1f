from __future__ import annotations

from django.urls import path

from . import api

app_name = "vitals"
urlpatterns = [
    path("devices/", api.DeviceListCreateApi.as_view(), name="devices"),
    path("devices/<int:device_id>/", api.DeviceDetailApi.as_view(), name="device"),
    path("devices/<int:device_id>/rotate-token/", api.DeviceTokenRotateApi.as_view(), name="device-rotate"),
    path("devices/<int:device_id>/revoke/", api.DeviceRevokeApi.as_view(), name="device-revoke"),
    path("ingest/", api.IngestApi.as_view(), name="ingest"),
    path("wearers/<int:wearer_id>/vitals/latest/", api.WearerLatestVitalsApi.as_view(), name="latest"),
    path("wearers/<int:wearer_id>/vitals/", api.WearerSamplesApi.as_view(), name="samples"),
]
