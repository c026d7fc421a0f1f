"""Episodes: start one (manual or SOS), list and filter history, acknowledge, resolve, timeline."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOutput
from accounts.models import User
from groups.selectors import wearers_responded_by, wearers_visible_to

from .models import Episode, EpisodeEvent
from .selectors import episodes_visible_to
from .services import episode_open


class EpisodeOutput(serializers.ModelSerializer):
    wearer = UserOutput()
    acknowledged_by = UserOutput(allow_null=True)
    resolved_by = UserOutput(allow_null=True)
    location = serializers.SerializerMethodField(help_text="null unless the wearer shares their location with you")

    class Meta:
        model = Episode
        fields = [
            "id",
            "wearer",
            "kind",
            "severity",
            "state",
            "source",
            "score",
            "explanation",
            "started_at",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
            "resolution_note",
            "location",
            "zone",
            "last_evidence_at",
            "checkin_deadline",
            "wearer_answer",
            "wearer_answered_at",
        ]
        read_only_fields = fields

    def get_location(self, obj: Episode) -> dict[str, Any] | None:
        allowed: set[int] = self.context.get("location_wearers", set())
        return obj.location if obj.wearer_id in allowed else None


def _location_context(user: User) -> dict[str, Any]:
    """The wearers whose location `user` may see (self, consented, clinician's, staff)."""
    return {"location_wearers": set(wearers_visible_to(user, scope="location").values_list("id", flat=True))}


class EpisodeFilter(filters.FilterSet):
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    active = filters.BooleanFilter(method="filter_active")

    class Meta:
        model = Episode
        fields = ["wearer", "kind", "severity", "state", "source"]

    def filter_active(self, queryset: QuerySet[Episode], name: str, value: bool) -> QuerySet[Episode]:
        return (
            queryset.exclude(state=Episode.State.RESOLVED) if value else queryset.filter(state=Episode.State.RESOLVED)
        )


class EpisodeStartInput(serializers.Serializer):
    wearer = serializers.IntegerField(required=False, help_text="Defaults to you.")
    kind = serializers.ChoiceField(choices=Episode.Kind.choices, default=Episode.Kind.OTHER)
    severity = serializers.ChoiceField(choices=Episode.Severity.choices, default=Episode.Severity.HIGH)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    location = serializers.JSONField(
        required=False, allow_null=True, help_text='{"type": "Point", "coordinates": [lon, lat]}'
    )


class EpisodeListCreateApi(generics.ListAPIView):
    """Episodes you can see, newest first; start one by hand (kind `sos` for an SOS).

    A second start for the same wearer and kind while one is active adds evidence to it (200).
    """

    serializer_class = EpisodeOutput
    filterset_class = EpisodeFilter

    def get_queryset(self) -> QuerySet[Episode]:
        return episodes_visible_to(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **_location_context(self.request.user)}

    @extend_schema(request=EpisodeStartInput, responses={201: EpisodeOutput, 200: EpisodeOutput})
    def post(self, request: Request) -> Response:
        user: User = request.user
        data = EpisodeStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        wearer_id = data.validated_data.get("wearer", user.id)
        if wearer_id == user.id:
            wearer = user
        else:
            wearer = wearers_responded_by(user).filter(id=wearer_id).first()
            if wearer is None:
                raise exceptions.ValidationError({"wearer": ["No wearer with this id is in your care."]})
        kind = data.validated_data["kind"]
        episode, created = episode_open(
            wearer=wearer,
            kind=kind,
            source=Episode.Source.SOS if kind == Episode.Kind.SOS else Episode.Source.MANUAL,
            severity=Episode.Severity.CRITICAL if kind == Episode.Kind.SOS else data.validated_data["severity"],
            actor=user,
            explanation=data.validated_data["note"],
            location=data.validated_data.get("location"),
        )
        body = EpisodeOutput(episode, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class WearerEpisodesApi(EpisodeListCreateApi):
    """One wearer's episode history, newest first."""

    http_method_names = ["get", "head", "options"]
    queryset = Episode.objects.none()  # for the schema; get_queryset() scopes it

    def get_queryset(self) -> QuerySet[Episode]:
        wearer = get_object_or_404(wearers_visible_to(self.request.user), id=self.kwargs["wearer_id"])
        return episodes_visible_to(self.request.user).filter(wearer=wearer)


def _visible_episode(request: Request, episode_id: int) -> Episode:
    return get_object_or_404(episodes_visible_to(request.user), id=episode_id)


def _responded_episode(request: Request, episode_id: int) -> Episode:
    episode = _visible_episode(request, episode_id)
    if not wearers_responded_by(request.user).filter(id=episode.wearer_id).exists():
        raise exceptions.PermissionDenied("Only the wearer's caregivers and clinicians can do that.")
    return episode


class EpisodeDetailApi(APIView):
    @extend_schema(responses=EpisodeOutput)
    def get(self, request: Request, episode_id: int) -> Response:
        episode = _visible_episode(request, episode_id)
        return Response(EpisodeOutput(episode, context=_location_context(request.user)).data)


class AcknowledgeInput(serializers.Serializer):
    response = serializers.ChoiceField(
        choices=[("on_my_way", "On my way"), ("called_them", "I called them"), ("cant_respond", "Can't respond")],
        required=False,
        allow_blank=True,
        default="",
        help_text="cant_respond moves the escalation to its next step instead of acknowledging",
    )
    eta_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1440)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("eta_minutes") and attrs.get("response") != "on_my_way":
            raise serializers.ValidationError({"eta_minutes": "An ETA goes with 'on_my_way'."})
        return attrs


class AcknowledgeOutput(serializers.Serializer):
    acknowledged = serializers.BooleanField(help_text="false: someone acknowledged it before you")
    episode = EpisodeOutput()


class EpisodeAcknowledgeApi(APIView):
    """Take the episode ("on my way" with an ETA, "I called them"): escalation stops, reminders follow.
    "can't respond" moves the chain on instead. Idempotent; a resolved episode answers 409."""

    @extend_schema(request=AcknowledgeInput, responses=AcknowledgeOutput)
    def post(self, request: Request, episode_id: int) -> Response:
        from alerts.escalation import episode_take

        episode = _responded_episode(request, episode_id)
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        won = episode_take(episode=episode, by=request.user, **data.validated_data)
        episode.refresh_from_db()
        context = _location_context(request.user)
        return Response({"acknowledged": won, "episode": EpisodeOutput(episode, context=context).data})


class ResolveInput(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Episode.Resolution.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class EpisodeResolveApi(APIView):
    """Close the episode with a resolution. Resolving a resolved episode answers 409."""

    @extend_schema(request=ResolveInput, responses=EpisodeOutput)
    def post(self, request: Request, episode_id: int) -> Response:
        from alerts.escalation import episode_close

        episode = _responded_episode(request, episode_id)
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not episode_close(episode=episode, by=request.user, **data.validated_data):
            who = episode.resolved_by or "the system"
            return Response(
                {
                    "error": {
                        "code": "already_resolved",
                        "message": f"Already resolved ({episode.resolution}) by {who}.",
                    }
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(EpisodeOutput(episode, context=_location_context(request.user)).data)


class RespondInput(serializers.Serializer):
    answer = serializers.ChoiceField(choices=Episode.Answer.choices)


class RespondOutput(serializers.Serializer):
    recorded = serializers.BooleanField(help_text="false: this answer was already recorded")
    episode = EpisodeOutput()


class EpisodeRespondApi(APIView):
    """The wearer answers "are you OK?": ok (re-measured after a calming window), help, or sos."""

    @extend_schema(request=RespondInput, responses=RespondOutput)
    def post(self, request: Request, episode_id: int) -> Response:
        from alerts.escalation import episode_respond

        episode = _visible_episode(request, episode_id)
        if episode.wearer_id != request.user.id:
            raise exceptions.PermissionDenied("Only the wearer answers 'are you OK?'.")
        data = RespondInput(data=request.data)
        data.is_valid(raise_exception=True)
        recorded = episode_respond(episode=episode, answer=data.validated_data["answer"], by=request.user)
        episode.refresh_from_db()
        context = _location_context(request.user)
        return Response({"recorded": recorded, "episode": EpisodeOutput(episode, context=context).data})


class EpisodeEventOutput(serializers.ModelSerializer):
    actor = UserOutput(allow_null=True)

    class Meta:
        model = EpisodeEvent
        fields = ["id", "at", "kind", "actor", "source", "from_state", "to_state", "message", "data"]
        read_only_fields = fields


class EpisodeEventsApi(generics.ListAPIView):
    """The episode's timeline, oldest first."""

    serializer_class = EpisodeEventOutput
    queryset = EpisodeEvent.objects.none()  # for the schema; get_queryset() scopes it
    filterset_fields = ["kind"]

    def get_queryset(self) -> QuerySet[EpisodeEvent]:
        episode = _visible_episode(self.request, self.kwargs["episode_id"])
        return episode.events.select_related("actor").order_by("at", "id")
