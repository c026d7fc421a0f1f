"""Devices, bulk ingest of samples, and a wearer's vitals (latest and history)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from groups.selectors import wearers_visible_to
from pulsera.lib.api_errors import error_body

from .authentication import DeviceTokenAuthentication
from .models import Device, VitalSample
from .selectors import devices_visible_to, latest_vitals_of, samples_of
from .services import batch_from_payload, device_register, device_revoke, device_token_rotate, samples_ingest
from .validation import RANGES, BatchError

# ---- devices -----------------------------------------------------------------------------------


class DeviceOutput(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Device
        fields = [
            "id",
            "wearer",
            "name",
            "kind",
            "token_prefix",
            "active",
            "created_at",
            "token_rotated_at",
            "revoked_at",
            "last_seen_at",
            "last_sample_at",
            "battery_pct",
        ]
        read_only_fields = fields


class DeviceWithTokenOutput(DeviceOutput):
    token = serializers.CharField(read_only=True, help_text="Shown once. Send as 'Authorization: Device <token>'.")

    class Meta(DeviceOutput.Meta):
        fields = [*DeviceOutput.Meta.fields, "token"]
        read_only_fields = fields


class DeviceInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=Device.Kind.choices, default=Device.Kind.WATCH)


def _owned_device(request: Request, device_id: int) -> Device:
    device = get_object_or_404(devices_visible_to(request.user), id=device_id)
    if device.wearer_id != request.user.id and not request.user.is_staff:
        raise exceptions.PermissionDenied("Only the wearer manages their devices.")
    return device


class DeviceListCreateApi(generics.ListAPIView):
    """Your devices and those of the people you look after; register a device of your own."""

    serializer_class = DeviceOutput
    filterset_fields = ["wearer", "kind"]

    def get_queryset(self) -> QuerySet[Device]:
        return devices_visible_to(self.request.user).order_by("wearer_id", "name", "id")

    @extend_schema(request=DeviceInput, responses={201: DeviceWithTokenOutput})
    def post(self, request: Request) -> Response:
        data = DeviceInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, token = device_register(wearer=request.user, **data.validated_data)
        device.token = token
        return Response(DeviceWithTokenOutput(device).data, status=status.HTTP_201_CREATED)


class DeviceDetailApi(APIView):
    @extend_schema(responses=DeviceOutput)
    def get(self, request: Request, device_id: int) -> Response:
        return Response(DeviceOutput(get_object_or_404(devices_visible_to(request.user), id=device_id)).data)


class DeviceTokenRotateApi(APIView):
    """Issue a new token for the device; the old one stops working at once."""

    @extend_schema(request=None, responses=DeviceWithTokenOutput)
    def post(self, request: Request, device_id: int) -> Response:
        device = _owned_device(request, device_id)
        device.token = device_token_rotate(device=device)
        return Response(DeviceWithTokenOutput(device).data)


class DeviceRevokeApi(APIView):
    """Revoke the device's token (a lost watch). Rotating the token re-activates it."""

    @extend_schema(request=None, responses=DeviceOutput)
    def post(self, request: Request, device_id: int) -> Response:
        device = _owned_device(request, device_id)
        device_revoke(device=device)
        return Response(DeviceOutput(device).data)


# ---- ingest ------------------------------------------------------------------------------------


class SampleSchema(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=0)
    timestamp = serializers.DateTimeField()
    heart_rate = serializers.FloatField(required=False)
    hrv_ms = serializers.FloatField(required=False)
    spo2 = serializers.FloatField(required=False)
    respiratory_rate = serializers.FloatField(required=False)
    skin_temp_c = serializers.FloatField(required=False)
    steps = serializers.IntegerField(required=False)
    motion_g = serializers.FloatField(required=False)


class BatchSchema(serializers.Serializer):
    samples = SampleSchema(many=True)
    battery_pct = serializers.IntegerField(required=False, min_value=0, max_value=100)


class RejectionSchema(serializers.Serializer):
    index = serializers.IntegerField()
    sequence = serializers.IntegerField(allow_null=True)
    reason = serializers.ChoiceField(choices=["malformed", "out_of_range", "in_the_future", "too_old"])
    errors = serializers.DictField(child=serializers.CharField())


class IngestResultSchema(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Samples stored by this request.")
    duplicates = serializers.IntegerField(help_text="Samples already stored earlier: acknowledged, not stored again.")
    rejected = RejectionSchema(many=True)
    acked = serializers.ListField(child=serializers.IntegerField(), help_text="Sequences durably stored.")


class IngestApi(APIView):
    """Bulk-ingest a device's samples. Authenticate as the device: `Authorization: Device <token>`.

    Idempotent: resending a batch stores nothing new and reports its samples as `duplicates`.
    Bad samples are rejected one by one with a reason; the good ones of the same batch are kept.
    """

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=BatchSchema,
        responses={200: IngestResultSchema, 201: IngestResultSchema},
        examples=[
            OpenApiExample(
                "A two-sample batch",
                request_only=True,
                value={
                    "battery_pct": 81,
                    "samples": [
                        {"sequence": 1041, "timestamp": "2026-11-23T18:00:00Z", "heart_rate": 72, "spo2": 97},
                        {"sequence": 1042, "timestamp": "2026-11-23T18:00:05Z", "heart_rate": 74, "steps": 3},
                    ],
                },
            )
        ],
        description=f"Plausible ranges: {', '.join(f'{k} {lo}-{hi}' for k, (lo, hi) in RANGES.items())}.",
    )
    def post(self, request: Request) -> Response:
        device = request.auth
        if not isinstance(device, Device):
            raise exceptions.NotAuthenticated("Authenticate as a device: 'Authorization: Device <token>'.")
        try:
            batch = batch_from_payload(request.data)
        except BatchError as exc:
            return Response(error_body(exc.code, exc.message), status=status.HTTP_400_BAD_REQUEST)
        result = samples_ingest(device=device, batch=batch)
        return Response(result.to_dict(), status=status.HTTP_201_CREATED if result.accepted else status.HTTP_200_OK)


# ---- a wearer's vitals -------------------------------------------------------------------------


def _wearer_with_scope(request: Request, wearer_id: int, scope: str) -> User:
    """404 if the wearer is invisible to the requester; 403 if visible but not sharing `scope`."""
    user: User = request.user
    wearer = get_object_or_404(wearers_visible_to(user), id=wearer_id)
    if not wearers_visible_to(user, scope=scope).filter(id=wearer.id).exists():
        raise exceptions.PermissionDenied(f"{wearer} does not share {scope.replace('_', ' ')} with you.")
    return wearer


class LatestVitalsOutput(serializers.Serializer):
    wearer_id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField(allow_null=True)
    values = serializers.DictField(help_text='{"heart_rate": {"value": 72.0, "at": "..."}, ...}')


class WearerLatestVitalsApi(APIView):
    """A wearer's newest value of every metric (needs the wearer's live-vitals consent)."""

    @extend_schema(responses=LatestVitalsOutput)
    def get(self, request: Request, wearer_id: int) -> Response:
        wearer = _wearer_with_scope(request, wearer_id, "live_vitals")
        latest = latest_vitals_of(wearer)
        return Response(
            {
                "wearer_id": wearer.id,
                "recorded_at": latest.recorded_at if latest else None,
                "values": latest.values if latest else {},
            }
        )


class SampleOutput(serializers.ModelSerializer):
    class Meta:
        model = VitalSample
        fields = [
            "device",
            "sequence",
            "recorded_at",
            "heart_rate",
            "hrv_ms",
            "spo2",
            "respiratory_rate",
            "skin_temp_c",
            "steps",
            "motion_g",
        ]
        read_only_fields = fields


class SampleFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="lt")

    class Meta:
        model = VitalSample
        fields = ["device"]


class WearerSamplesApi(generics.ListAPIView):
    """A wearer's samples, newest first (needs the wearer's history consent). Filter with since/until."""

    serializer_class = SampleOutput
    queryset = VitalSample.objects.none()  # for the schema; get_queryset() scopes it
    filterset_class = SampleFilter

    def get_queryset(self) -> QuerySet[VitalSample]:
        return samples_of(_wearer_with_scope(self.request, self.kwargs["wearer_id"], "history"))
