"""People: log in for an API token, log out, and `me`."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import User
from .services import api_token_issue, api_token_revoke, user_update


class UserOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "display_name", "phone", "time_zone"]
        read_only_fields = fields


class MeOutput(UserOutput):
    class Meta(UserOutput.Meta):
        fields = [*UserOutput.Meta.fields, "quiet_hours_start", "quiet_hours_end"]
        read_only_fields = fields


class TokenInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    user = UserOutput()


class AuthTokenApi(APIView):
    """Exchange an email and password for an API token (send it as `Authorization: Bearer <token>`)."""

    permission_classes = [AllowAny]
    throttle_scope = "login"

    def get_throttles(self):
        from rest_framework.throttling import ScopedRateThrottle

        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(request=TokenInput, responses={200: TokenOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["email"], password=data.validated_data["password"])
        if user is None or not user.is_active:
            return Response(
                {"error": {"code": "invalid_credentials", "message": "Email or password is wrong."}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token = api_token_issue(user=user)
        return Response({"token": token.key, "user": UserOutput(user).data})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Log out: the token stops working."""
        if not request.user.is_authenticated:
            return Response(
                {"error": {"code": "not_authenticated", "message": "Log in first."}},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    phone = serializers.RegexField(
        r"^\+[1-9]\d{6,14}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "Use E.164, e.g. +34600111222."},
    )
    time_zone = serializers.CharField(max_length=64, required=False)
    quiet_hours_start = serializers.TimeField(
        required=False, allow_null=True, help_text="Local time; non-urgent pages wait until quiet_hours_end."
    )
    quiet_hours_end = serializers.TimeField(required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if ("quiet_hours_start" in attrs) != ("quiet_hours_end" in attrs):
            raise serializers.ValidationError(
                {"quiet_hours_end": "Set quiet_hours_start and quiet_hours_end together."}
            )
        return attrs


class MeApi(APIView):
    """The person behind the token."""

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)

    @extend_schema(request=MeInput, responses=MeOutput)
    def patch(self, request: Request) -> Response:
        data = MeInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = user_update(user=request.user, data=data.validated_data)
        return Response(MeOutput(user).data)
