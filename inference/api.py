"""Service health: database and PulseNet, for load balancers and on-call."""

from __future__ import annotations

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .services import pulsenet_status


class HealthApi(APIView):
    """200 while Pulsera can take data and page people ('degraded' when PulseNet is missing and
    detection runs on the rule floor and baselines); 503 when the database is unreachable."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "pulsenet": serializers.DictField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = "ok"
        except DatabaseError:
            database = "unreachable"
        model = pulsenet_status()
        model.pop("checkpoint", None)  # no server paths to anonymous callers
        status = "down" if database != "ok" else model["status"]
        return Response(
            {"status": status, "database": database, "pulsenet": model}, status=503 if status == "down" else 200
        )
