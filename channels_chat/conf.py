"""Configuration of the live chat channel.

Installation-wide values come from the ``HUB_CHAT`` Django setting (a dict; tests override it),
then ``HUB_CHAT_<NAME>`` environment variables, then the defaults below. Per-endpoint values live
in ``Endpoint.settings`` of the chat endpoint:

- ``allowed_origins``: origins whose pages may embed the widget, e.g.
  ``["https://shop.example", "https://*.shop.example"]`` (``"*"``: any). The hub's own origin
  is always allowed (the demo page). Empty: only the hub's own origin.
- ``prechat``: ``{"name": "optional", "email": "required"}``, each ``off`` / ``optional`` /
  ``required`` (default: both optional).
- ``continuity_delay_seconds``: how long an agent's reply may stay unseen, with the visitor
  gone, before it is emailed (default ``CONTINUITY_DELAY_SECONDS``); ``email_continuity``:
  ``false`` turns that off.
- ``max_message_chars``: longest visitor message (default ``MAX_MESSAGE_CHARS``).
- ``title``: the widget's header (default: the endpoint's name).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The visitor token lives this long (days); it is re-issued, same visitor, when half used.
    "TOKEN_MAX_AGE_DAYS": 400,
    # A file link in a reply's payload works this long (seconds); a resync makes new ones.
    "FILE_URL_MAX_AGE_SECONDS": 7 * 24 * 3600,
    "MAX_MESSAGE_CHARS": 5000,
    # A file the visitor sends (one per upload); 0 turns visitor uploads off.
    "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
    # Larger HTTP bodies get 413, larger socket frames close the socket with 1009.
    "MAX_BODY_BYTES": 32 * 1024,
    # Rate limits (fixed one-minute windows in the cache, i.e. Redis).
    "MESSAGES_PER_MINUTE": 30,  # per visitor
    "REQUESTS_PER_MINUTE_PER_IP": 600,  # HTTP calls of the widget API, per client address
    "SESSIONS_PER_MINUTE_PER_IP": 60,  # new visitor tokens, per client address
    "CONNECTS_PER_MINUTE_PER_IP": 120,  # socket handshakes, per client address
    "PAGE_VIEWS_PER_MINUTE": 30,  # per visitor
    "UPLOADS_PER_MINUTE": 10,  # per visitor
    "FRAMES_PER_10_SECONDS": 60,  # any socket frame, per socket (typing, pings...)
    # A socket must authenticate (send its hello) within this many seconds.
    "HELLO_TIMEOUT_SECONDS": 10,
    # Presence: the widget pings every HEARTBEAT; a socket silent for PRESENCE_TTL is gone; an
    # HTTP-polling visitor counts as present for POLL_PRESENCE seconds after each poll.
    "HEARTBEAT_SECONDS": 25,
    "PRESENCE_TTL_SECONDS": 75,
    "POLL_PRESENCE_SECONDS": 20,
    "POLL_INTERVAL_SECONDS": 3,
    "CONTINUITY_DELAY_SECONDS": 120,
}


def setting(name: str) -> Any:
    configured = getattr(settings, "HUB_CHAT", {}) or {}
    if name in configured:
        return configured[name]
    raw = os.environ.get(f"HUB_CHAT_{name}")
    default = DEFAULTS[name]
    if raw not in (None, ""):
        return type(default)(raw)
    return default


def endpoint_setting(endpoint, name: str, default: Any = None) -> Any:
    values = endpoint.settings if isinstance(endpoint.settings, dict) else {}
    return values.get(name, default)


PRECHAT_MODES = ("off", "optional", "required")


def prechat_fields(endpoint) -> dict[str, str]:
    """``{"name": mode, "email": mode}`` for the pre-chat form of ``endpoint``."""
    configured = endpoint_setting(endpoint, "prechat", {}) or {}
    if not isinstance(configured, dict):
        configured = {}
    fields = {}
    for name in ("name", "email"):
        mode = configured.get(name, "optional")
        fields[name] = mode if mode in PRECHAT_MODES else "optional"
    return fields


def max_message_chars(endpoint) -> int:
    value = endpoint_setting(endpoint, "max_message_chars")
    if isinstance(value, int) and 0 < value <= 100_000:
        return value
    return int(setting("MAX_MESSAGE_CHARS"))


def continuity_delay(endpoint) -> int | None:
    """Seconds before an unseen reply is emailed, or None when continuity is off."""
    if endpoint_setting(endpoint, "email_continuity", True) is False:
        return None
    value = endpoint_setting(endpoint, "continuity_delay_seconds")
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    return int(setting("CONTINUITY_DELAY_SECONDS"))
