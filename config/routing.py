"""WebSocket routes. Channel apps add their own routes here as they land."""

from django.urls import path

from channels_chat.routing import websocket_urlpatterns as chat_websocket_urlpatterns
from hub.consumers import AgentEventsConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentEventsConsumer.as_asgi()),
]

# Public sockets (website visitors): routed around the agents' session auth and allowed-hosts
# origin check; each consumer checks its own per-endpoint origins and token.
public_websocket_urlpatterns = [*chat_websocket_urlpatterns]
