"""Watches authenticate with their own token: `Authorization: Device <token>`.

The wearer is whoever the device belongs to; ids in payloads are never trusted.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .models import Device
from .services import device_by_token

KEYWORD = b"device"


class DeviceTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Device] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the device token as 'Authorization: Device <token>'.")
        device = device_by_token(parts[1].decode(errors="replace"))
        if device is None:
            raise exceptions.AuthenticationFailed("Unknown device token.", code="device_token_invalid")
        if not device.is_active():
            raise exceptions.AuthenticationFailed(
                "This device's token was revoked; register the device again.", code="device_token_revoked"
            )
        if not device.wearer.is_active:
            raise exceptions.AuthenticationFailed("The wearer's account is disabled.", code="wearer_inactive")
        return device.wearer, device

    def authenticate_header(self, request: Request) -> str:
        return "Device"


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "vitals.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Device <device token>"}
