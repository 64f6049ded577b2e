from django.urls import path

from channels_sms import views

app_name = "channels_sms"

urlpatterns = [
    path("twilio/inbound/", views.twilio_inbound, name="twilio-inbound"),
    path("twilio/status/", views.twilio_status, name="twilio-status"),
    path("media/<str:token>/<str:filename>", views.signed_media, name="media"),
]
