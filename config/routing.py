"""WebSocket routes. Channel apps add their own routes here as they land."""

from django.urls import path

from hub.consumers import AgentEventsConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentEventsConsumer.as_asgi()),
]
