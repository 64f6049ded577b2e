"""ASGI entry point: HTTP (Django) and WebSockets (Channels) in one server process."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.handlers import get_asgi_application

django_asgi_app = get_asgi_application()

import understanding  # noqa: E402

# The language model loads now (about a second), not on the first message a person sends.
understanding.warm_up()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from config.routing import public_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                *public_websocket_urlpatterns,
                re_path(
                    r"^",  # a prefix: the agents' routes resolve inside
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                    ),
                ),
            ]
        ),
    }
)
