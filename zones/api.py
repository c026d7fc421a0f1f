"""Community zones and their status."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Zone
from .selectors import zones_visible_to


class ZoneOutput(serializers.ModelSerializer):
    class Meta:
        model = Zone
        fields = ["id", "name", "kind", "group", "geometry", "radius_m", "status", "risk_score", "status_changed_at"]
        read_only_fields = fields


class ZoneStatusOutput(serializers.ModelSerializer):
    class Meta:
        model = Zone
        fields = ["id", "name", "status", "risk_score", "status_reason", "status_changed_at", "updated_at"]
        read_only_fields = fields


class ZoneListApi(generics.ListAPIView):
    """Zones watched by the communities you belong to."""

    serializer_class = ZoneOutput
    filterset_fields = ["group", "status", "kind"]

    def get_queryset(self) -> QuerySet[Zone]:
        return zones_visible_to(self.request.user)


class ZoneStatusApi(APIView):
    """A zone's current status and risk score."""

    @extend_schema(responses=ZoneStatusOutput)
    def get(self, request: Request, zone_id: int) -> Response:
        return Response(ZoneStatusOutput(get_object_or_404(zones_visible_to(request.user), id=zone_id)).data)
