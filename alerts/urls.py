from __future__ import annotations

from django.urls import path, re_path

from . import api

app_name = "alerts"
urlpatterns = [
    path("alerts/", api.AlertListCreateApi.as_view(), name="list"),
    path("alerts/<int:alert_id>/acknowledge/", api.AlertAcknowledgeApi.as_view(), name="acknowledge"),
    path("alerts/<int:alert_id>/received/", api.AlertReceivedApi.as_view(), name="received"),
    path("alerts/sms-status/", api.SmsStatusCallbackApi.as_view(), name="sms-status"),
    path("snoozes/", api.SnoozeListCreateApi.as_view(), name="snoozes"),
    path("snoozes/<int:snooze_id>/", api.SnoozeDeleteApi.as_view(), name="snooze"),
    path("me/contact-methods/", api.ContactMethodListCreateApi.as_view(), name="contact-methods"),
    path("me/contact-methods/<int:method_id>/", api.ContactMethodDetailApi.as_view(), name="contact-method"),
    re_path(
        r"^groups/(?P<group_id>[0-9]+)/escalation-policies/(?P<purpose>distress|no_data)/$",
        api.EscalationPolicyApi.as_view(),
        name="escalation-policy",
    ),
    path("changes/", api.ChangesApi.as_view(), name="changes"),
]
