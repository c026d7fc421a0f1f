from __future__ import annotations

from django.urls import path

from . import api

app_name = "accounts"
urlpatterns = [
    path("auth/token/", api.AuthTokenApi.as_view(), name="token"),
    path("me/", api.MeApi.as_view(), name="me"),
]
