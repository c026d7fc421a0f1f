"""Alerts: create one for a responder of an episode, list them, acknowledge your own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOutput
from accounts.models import User
from episodes.selectors import episodes_responded_by

from .models import Alert
from .selectors import alerts_visible_to
from .services import alert_acknowledge, alert_create


class AlertOutput(serializers.ModelSerializer):
    recipient = UserOutput()

    class Meta:
        model = Alert
        fields = [
            "id",
            "episode",
            "recipient",
            "level",
            "channel",
            "state",
            "message",
            "attempts",
            "created_at",
            "sent_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields


class AlertInput(serializers.Serializer):
    episode = serializers.IntegerField()
    recipient = serializers.IntegerField()
    level = serializers.ChoiceField(choices=Alert.Level.choices, default=Alert.Level.WARNING)
    channel = serializers.ChoiceField(choices=Alert.Channel.choices, default=Alert.Channel.IN_APP)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class AlertListCreateApi(generics.ListAPIView):
    """Alerts of the episodes you can see (filter `mine=true` for your own); page a fellow responder."""

    serializer_class = AlertOutput
    filterset_fields = ["episode", "state", "level", "channel", "recipient"]

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = alerts_visible_to(self.request.user)
        if self.request.query_params.get("mine") in ("1", "true"):
            alerts = alerts.filter(recipient=self.request.user)
        return alerts

    @extend_schema(request=AlertInput, responses={201: AlertOutput})
    def post(self, request: Request) -> Response:
        data = AlertInput(data=request.data)
        data.is_valid(raise_exception=True)
        episode = episodes_responded_by(request.user).filter(id=data.validated_data["episode"]).first()
        if episode is None:
            raise exceptions.ValidationError({"episode": ["No episode with this id is in your care."]})
        recipient = User.objects.filter(id=data.validated_data["recipient"]).first()
        if recipient is None:
            raise exceptions.ValidationError({"recipient": ["No such person."]})
        alert = alert_create(
            episode=episode,
            recipient=recipient,
            level=data.validated_data["level"],
            channel=data.validated_data["channel"],
            message=data.validated_data["message"],
            created_by=request.user,
        )
        return Response(AlertOutput(alert).data, status=status.HTTP_201_CREATED)


class AlertAcknowledgeOutput(serializers.Serializer):
    acknowledged = serializers.BooleanField()
    alert = AlertOutput()


class AlertAcknowledgeApi(APIView):
    """Acknowledge an alert sent to you; its episode is acknowledged too. Idempotent."""

    @extend_schema(request=None, responses=AlertAcknowledgeOutput)
    def post(self, request: Request, alert_id: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), id=alert_id)
        if alert.recipient_id != request.user.id and not request.user.is_staff:
            raise exceptions.PermissionDenied("Only the person this alert was sent to can acknowledge it.")
        won = alert_acknowledge(alert=alert, by=request.user)
        return Response({"acknowledged": won, "alert": AlertOutput(alert).data})
