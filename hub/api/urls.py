from django.urls import include, path
from rest_framework.routers import DefaultRouter

from hub.api import views

router = DefaultRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("endpoints", views.EndpointViewSet, basename="endpoint")
router.register("teams", views.TeamViewSet, basename="team")
router.register("webhooks", views.WebhookSubscriptionViewSet, basename="webhook")
router.register("ttl-policies", views.TtlPolicyViewSet, basename="ttl-policy")
router.register("business-hours", views.BusinessHoursViewSet, basename="business-hours")

urlpatterns = [
    path("inbound/", views.InboundView.as_view(), name="inbound"),
    path("reports/sla/", views.SlaReportView.as_view(), name="sla-report"),
    path("", include(router.urls)),
]
