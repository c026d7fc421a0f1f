from __future__ import annotations

from django.urls import path

from . import api

app_name = "groups"
urlpatterns = [
    path("groups/", api.GroupListCreateApi.as_view(), name="list"),
    path("groups/<int:group_id>/", api.GroupDetailApi.as_view(), name="detail"),
    path("groups/<int:group_id>/members/", api.GroupMembersApi.as_view(), name="members"),
    path("groups/<int:group_id>/members/<int:membership_id>/", api.GroupMemberDetailApi.as_view(), name="member"),
    path("groups/<int:group_id>/invitations/", api.GroupInvitationsApi.as_view(), name="invitations"),
    path(
        "groups/<int:group_id>/invitations/<int:invitation_id>/",
        api.GroupInvitationRevokeApi.as_view(),
        name="invitation",
    ),
    path("groups/<int:group_id>/consents/", api.GroupConsentsApi.as_view(), name="consents"),
    path("groups/<int:group_id>/consents/<int:consent_id>/", api.GroupConsentDetailApi.as_view(), name="consent"),
    path("invitations/join/", api.InvitationJoinApi.as_view(), name="join"),
    path("invitations/<str:code>/", api.InvitationPreviewApi.as_view(), name="invitation-preview"),
    path("wearers/", api.WearerListApi.as_view(), name="wearers"),
]
