from django.urls import path

from channels_email import views

app_name = "channels_email"
urlpatterns = [
    path("inbound/raw/", views.RawInboundView.as_view(), name="inbound-raw"),
    path("messages/<int:pk>/original/", views.original_message, name="original-message"),
]
