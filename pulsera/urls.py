from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from pulsera.lib.api_errors import api_not_found

admin.site.site_header = "Pulsera clinical admin"
admin.site.site_title = "Pulsera admin"
admin.site.index_title = "Wearers, care groups, episodes and alerts"

urlpatterns = [
    path("", include("pulsera.home")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("pulsera.api_v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Anything else under /api/ answers a JSON 404, not Django's HTML page.
    path("api/<path:rest>", api_not_found),
]
