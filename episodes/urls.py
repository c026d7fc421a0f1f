from __future__ import annotations

from django.urls import path

from . import api

app_name = "episodes"
urlpatterns = [
    path("episodes/", api.EpisodeListCreateApi.as_view(), name="list"),
    path("episodes/<int:episode_id>/", api.EpisodeDetailApi.as_view(), name="detail"),
    path("episodes/<int:episode_id>/acknowledge/", api.EpisodeAcknowledgeApi.as_view(), name="acknowledge"),
    path("episodes/<int:episode_id>/respond/", api.EpisodeRespondApi.as_view(), name="respond"),
    path("episodes/<int:episode_id>/resolve/", api.EpisodeResolveApi.as_view(), name="resolve"),
    path("episodes/<int:episode_id>/events/", api.EpisodeEventsApi.as_view(), name="events"),
    path("wearers/<int:wearer_id>/episodes/", api.WearerEpisodesApi.as_view(), name="wearer-episodes"),
]
