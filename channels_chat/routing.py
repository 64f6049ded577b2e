"""The visitor's WebSocket route. It is not behind the agents' session auth and allowed-hosts
origin check: the consumer checks the endpoint's own allowed origins and the visitor token."""

from django.urls import path

from channels_chat.consumers import VisitorConsumer

websocket_urlpatterns = [
    path("ws/chat/<str:public_key>/", VisitorConsumer.as_asgi()),
]
