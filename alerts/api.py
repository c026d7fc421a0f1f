"""Alerts API: your alerts and their delivery receipts, acknowledging with a structured answer,
snoozes, your contact channels, each group's escalation chains, the changes-since-cursor feed, and
the SMS provider's status callback."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOutput
from episodes.models import Episode, EpisodeEvent
from episodes.selectors import episodes_responded_by, episodes_visible_to
from groups.models import Membership
from groups.selectors import groups_visible_to, responders_of, wearers_responded_by

from .escalation import episode_take, snooze_set
from .models import Alert, Channel, ContactMethod, Delivery, EscalationPolicy, EscalationStep, Snooze
from .notify import alert_send, delivery_receipt
from .policy import chain_problems, step_normalise
from .selectors import alerts_visible_to


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "channel", "address", "state", "provider_id", "error", "attempts", "created_at", "sent_at",
                  "delivered_at", "failed_at"]  # fmt: skip
        read_only_fields = fields


class AlertOutput(serializers.ModelSerializer):
    recipient = UserOutput(allow_null=True)
    contact = serializers.StringRelatedField(allow_null=True, help_text="An emergency contact (not a member).")
    deliveries = DeliveryOutput(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "episode", "recipient", "contact", "purpose", "level", "channel", "state", "message",
                  "attempts", "created_at", "sent_at", "acknowledged_at", "acknowledged_by", "response", "eta_at",
                  "step_position", "deliveries"]  # fmt: skip
        read_only_fields = fields


class AlertInput(serializers.Serializer):
    episode = serializers.IntegerField()
    recipient = serializers.IntegerField()
    level = serializers.ChoiceField(choices=Alert.Level.choices, default=Alert.Level.WARNING)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class AlertListCreateApi(generics.ListAPIView):
    """Alerts of the episodes you can see (`mine=true`: only yours), with delivery receipts; page a
    fellow responder by hand."""

    serializer_class = AlertOutput
    filterset_fields = ["episode", "state", "level", "channel", "recipient", "purpose"]

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = alerts_visible_to(self.request.user).prefetch_related("deliveries")
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
        if not episode.is_active():
            raise exceptions.ValidationError({"episode": ["This episode is resolved; it no longer alerts anyone."]})
        recipient = responders_of(episode.wearer).filter(id=data.validated_data["recipient"]).first()
        if recipient is None:
            raise exceptions.ValidationError({"recipient": ["Not a caregiver or clinician of this wearer."]})
        alert = alert_send(
            episode=episode, purpose=Alert.Purpose.PAGE, level=data.validated_data["level"], recipient=recipient,
            message=data.validated_data["message"] or f"{request.user} asks you to look at this episode.",
            created_by=request.user,
        )  # fmt: skip
        return Response(AlertOutput(alert).data, status=status.HTTP_201_CREATED)


class TakeInput(serializers.Serializer):
    response = serializers.ChoiceField(choices=Alert.Response.choices, required=False, allow_blank=True, default="")
    eta_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1440)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("eta_minutes") and attrs.get("response") != Alert.Response.ON_MY_WAY:
            raise serializers.ValidationError({"eta_minutes": "An ETA goes with 'on_my_way'."})
        return attrs


class AlertAcknowledgeOutput(serializers.Serializer):
    acknowledged = serializers.BooleanField(help_text="false: someone else was first, or you can't respond")
    alert = AlertOutput()


class AlertAcknowledgeApi(APIView):
    """Answer a page sent to you: on_my_way (+ eta_minutes), called_them, or cant_respond (the chain
    moves on). Idempotent."""

    @extend_schema(request=TakeInput, responses=AlertAcknowledgeOutput)
    def post(self, request: Request, alert_id: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), id=alert_id)
        if alert.recipient_id != request.user.id:
            raise exceptions.PermissionDenied("Only the person this alert was sent to can answer it.")
        data = TakeInput(data=request.data)
        data.is_valid(raise_exception=True)
        won = episode_take(episode=alert.episode, by=request.user, **data.validated_data)
        alert.refresh_from_db()
        return Response({"acknowledged": won, "alert": AlertOutput(alert).data})


class AlertReceivedApi(APIView):
    """The app showed the alert: its in-app delivery becomes `delivered` (the receipt)."""

    @extend_schema(request=None, responses=AlertOutput)
    def post(self, request: Request, alert_id: int) -> Response:
        alert = get_object_or_404(alerts_visible_to(request.user), id=alert_id)
        if alert.recipient_id != request.user.id:
            raise exceptions.PermissionDenied("Only the person this alert was sent to can confirm it.")
        for delivery in alert.deliveries.filter(channel=Channel.IN_APP, state=Delivery.State.SENT):
            delivery_receipt(delivery=delivery, delivered=True)
        Alert.objects.filter(id=alert.id, state=Alert.State.SENT).update(state=Alert.State.DELIVERED)
        alert.refresh_from_db()
        return Response(AlertOutput(alert).data)


# ---- snoozes -----------------------------------------------------------------------------------------


class SnoozeOutput(serializers.ModelSerializer):
    class Meta:
        model = Snooze
        fields = ["id", "wearer", "kind", "until", "created_at"]
        read_only_fields = fields


class SnoozeInput(serializers.Serializer):
    wearer = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Episode.Kind.choices)
    minutes = serializers.IntegerField(min_value=5, max_value=1440)


class SnoozeListCreateApi(generics.ListAPIView):
    """Your active snoozes; snooze one wearer's alarms of one kind (never SOS, falls or critical ones)."""

    serializer_class = SnoozeOutput
    queryset = Snooze.objects.none()  # for the schema; get_queryset() scopes it

    def get_queryset(self) -> QuerySet[Snooze]:
        return Snooze.objects.filter(user=self.request.user, until__gt=timezone.now())

    @extend_schema(request=SnoozeInput, responses={201: SnoozeOutput})
    def post(self, request: Request) -> Response:
        data = SnoozeInput(data=request.data)
        data.is_valid(raise_exception=True)
        wearer = wearers_responded_by(request.user).filter(id=data.validated_data["wearer"]).first()
        if wearer is None:
            raise exceptions.ValidationError({"wearer": ["No wearer with this id is in your care."]})
        snooze = snooze_set(user=request.user, wearer=wearer, kind=data.validated_data["kind"],
                            minutes_=data.validated_data["minutes"])  # fmt: skip
        return Response(SnoozeOutput(snooze).data, status=status.HTTP_201_CREATED)


class SnoozeDeleteApi(APIView):
    """End a snooze early."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, snooze_id: int) -> Response:
        get_object_or_404(Snooze.objects.filter(user=request.user), id=snooze_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- your channels ---------------------------------------------------------------------------------------


class ContactMethodSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=128)

    class Meta:
        model = ContactMethod
        fields = ["id", "channel", "address", "secret", "position", "enabled"]
        read_only_fields = ["id"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        method = ContactMethod(user=self.context["request"].user, **attrs)
        try:
            method.clean()
        except DjangoValidationError as exc:  # the model's own checks, as a 400 with field reasons
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class ContactMethodListCreateApi(generics.ListCreateAPIView):
    """How Pulsera reaches you beyond the app, tried in `position` order as fallbacks."""

    serializer_class = ContactMethodSerializer
    queryset = ContactMethod.objects.none()  # for the schema; get_queryset() scopes it

    def get_queryset(self) -> QuerySet[ContactMethod]:
        return ContactMethod.objects.filter(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(user=self.request.user)


class ContactMethodDetailApi(generics.RetrieveUpdateDestroyAPIView):
    serializer_class = ContactMethodSerializer
    queryset = ContactMethod.objects.none()  # for the schema; get_queryset() scopes it
    lookup_url_kwarg = "method_id"

    def get_queryset(self) -> QuerySet[ContactMethod]:
        return ContactMethod.objects.filter(user=self.request.user)


# ---- escalation chains ------------------------------------------------------------------------------------


class StepSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=EscalationStep.Action.choices)
    person = serializers.IntegerField(required=False, allow_null=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.IN_APP)
    wait_minutes = serializers.IntegerField(required=False, default=0, min_value=0, max_value=1440)
    repeat_times = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10)


class PolicySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, default="Default chain")
    reminder_minutes = serializers.IntegerField(min_value=0, max_value=1440, default=15)
    steps = StepSerializer(many=True)


class EscalationPolicyApi(APIView):
    """A group's chain for `distress` or `no_data` episodes. Group admins edit it; running episodes
    keep the copy they started with."""

    def _group(self, request: Request, group_id: int, *, write: bool) -> Any:
        group = get_object_or_404(groups_visible_to(request.user), id=group_id)
        if write and not (
            request.user.is_staff
            or Membership.objects.filter(group=group, user=request.user, role=Membership.Role.ADMIN).exists()
        ):
            raise exceptions.PermissionDenied("Only the group's admins can change its escalation chain.")
        return group

    @extend_schema(responses=PolicySerializer)
    def get(self, request: Request, group_id: int, purpose: str) -> Response:
        group = self._group(request, group_id, write=False)
        found = EscalationPolicy.objects.filter(group=group, purpose=purpose).prefetch_related("steps").first()
        if found is None:
            from .policy import snapshot_default

            snap = snapshot_default(purpose, group.id)
            steps = [
                {"person": s["person_id"], **{k: v for k, v in s.items() if k != "person_id"}} for s in snap["steps"]
            ]
            return Response({"name": snap["name"], "reminder_minutes": snap["reminder_minutes"], "default": True,
                             "steps": steps})  # fmt: skip
        steps = [{"position": s.position, "action": s.action, "person": s.person_id, "role": s.role,
                  "channel": s.channel, "wait_minutes": s.wait_minutes, "repeat_times": s.repeat_times}
                 for s in found.steps.order_by("position")]  # fmt: skip
        return Response({"name": found.name, "reminder_minutes": found.reminder_minutes, "default": False,
                         "steps": steps})  # fmt: skip

    @extend_schema(request=PolicySerializer, responses=PolicySerializer)
    def put(self, request: Request, group_id: int, purpose: str) -> Response:
        group = self._group(request, group_id, write=True)
        data = PolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        steps = data.validated_data["steps"]
        members = set(
            Membership.objects.filter(group=group, role__in=Membership.RESPONDER_ROLES).values_list(
                "user_id", flat=True
            )
        )
        errors: dict[str, Any] = {}
        for i, step in enumerate(steps):
            model = EscalationStep(position=i + 1, person_id=step.get("person"), **{
                k: v for k, v in step.items() if k != "person"})  # fmt: skip
            try:
                model.clean()
            except DjangoValidationError as exc:
                errors[f"steps[{i}]"] = exc.message_dict
            if step["action"] == EscalationStep.Action.NOTIFY_PERSON and step.get("person") not in members:
                errors[f"steps[{i}]"] = {"person": ["Not a caregiver or clinician of this group."]}
        normalised = [step_normalise({**s, "person_id": s.get("person")}, i + 1) for i, s in enumerate(steps)]
        if not errors and chain_problems(normalised):
            errors["steps"] = chain_problems(normalised)
        if errors:
            raise exceptions.ValidationError(errors)
        with transaction.atomic():
            found, _ = EscalationPolicy.objects.update_or_create(
                group=group, purpose=purpose,
                defaults={"name": data.validated_data["name"], "reminder_minutes": data.validated_data["reminder_minutes"]},
            )  # fmt: skip
            found.steps.all().delete()
            EscalationStep.objects.bulk_create(
                EscalationStep(policy=found, position=s["position"], action=s["action"], person_id=s["person_id"],
                               role=s["role"], channel=s["channel"], wait_minutes=s["wait_minutes"],
                               repeat_times=s["repeat_times"])
                for s in normalised
            )  # fmt: skip
        return self.get(request, group_id, purpose)


# ---- changes since a cursor ----------------------------------------------------------------------------------

# Event ids are allocated when a row is inserted, not when its transaction commits, so a row with a
# smaller id can become visible a moment after a larger one. The cursor only moves past rows older
# than this; newer rows are returned again on the next call (clients de-duplicate by event id).
SETTLE = timedelta(seconds=2)


class ChangesApi(APIView):
    """Everything that happened to the episodes you can see since `cursor` (timeline events: opened,
    check-ins and answers, pages and their receipts, acknowledgements, all-clears, resolutions), with
    each episode's current state. An app that was offline catches up from its last `next_cursor`."""

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", int, description="next_cursor of the previous call (0: from the start)"),
            OpenApiParameter("limit", int, description="at most this many events (1-500, default 200)"),
        ],
        responses=None,
    )
    def get(self, request: Request) -> Response:
        try:
            cursor = int(request.query_params.get("cursor", 0))
            limit = int(request.query_params.get("limit", 200))
        except ValueError as exc:
            raise exceptions.ValidationError({"cursor": ["cursor and limit are whole numbers."]}) from exc
        if cursor < 0 or not 1 <= limit <= 500:
            raise exceptions.ValidationError({"limit": ["cursor >= 0 and 1 <= limit <= 500."]})
        visible = episodes_visible_to(request.user)
        events = list(
            EpisodeEvent.objects.filter(episode__in=visible.values("id"), id__gt=cursor)
            .select_related("actor")
            .order_by("id")[:limit]
        )
        settled = timezone.now() - SETTLE
        next_cursor = cursor
        for event in events:
            if event.at > settled:
                break
            next_cursor = event.id
        episodes = {e.id: e for e in visible.filter(id__in={e.episode_id for e in events})}
        from episodes.api import EpisodeEventOutput, EpisodeOutput

        return Response(
            {
                "next_cursor": next_cursor,
                "more": len(events) == limit,
                "events": [{**EpisodeEventOutput(e).data, "episode_id": e.episode_id} for e in events],
                "episodes": [EpisodeOutput(episodes[i], context={"location_wearers": set()}).data
                             for i in sorted(episodes)],
            }
        )  # fmt: skip


# ---- the SMS provider's status callback ----------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by the sorted POST params."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class SmsStatusCallbackApi(APIView):
    """Twilio posts each message's status here (StatusCallback); signed with the account's token."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None, 403: None})
    def post(self, request: Request) -> Response:
        params = {k: request.POST.get(k, "") for k in request.POST}
        url = settings.PULSERA_PUBLIC_URL.rstrip("/") + request.path
        expected = twilio_signature(settings.TWILIO_AUTH_TOKEN, url, params)
        given = request.headers.get("X-Twilio-Signature", "")
        if not settings.TWILIO_AUTH_TOKEN or not hmac.compare_digest(expected, given):
            return Response({"error": {"code": "bad_signature", "message": "Signature mismatch."}},
                            status=status.HTTP_403_FORBIDDEN)  # fmt: skip
        delivery = Delivery.objects.filter(channel=Channel.SMS, provider_id=params.get("MessageSid", "")).first()
        state = params.get("MessageStatus", "")
        if delivery is not None and state in ("delivered", "failed", "undelivered"):
            delivery_receipt(delivery=delivery, delivered=state == "delivered",
                             error=f"{state} (error {params.get('ErrorCode', '?')})" if state != "delivered" else "")  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)
