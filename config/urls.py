from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hub.views import attachment_download, healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("app/", include("inbox.urls")),
    path("api/v1/knowledge/", include("knowledge.urls")),
    path("api/v1/", include("hub.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("anymail/", include("channels_email.webhooks")),  # Anymail's, authenticated
    path("channels/email/", include("channels_email.urls")),
    path("channels/sms/", include("channels_sms.urls")),
    path("chat/", include("channels_chat.urls")),
    path("attachments/<int:pk>/", attachment_download, name="attachment-download"),
]
