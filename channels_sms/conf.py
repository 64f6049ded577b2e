"""Configuration of the SMS/WhatsApp channel: Django settings first (tests override them), then the
environment, then defaults. Per-endpoint values live in ``Endpoint.settings``:

- ``twilio_account_sid``, ``twilio_auth_token``: the Twilio account of this number (else the
  ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN`` environment variables);
- ``twilio_messaging_service_sid``: routes webhooks that name a Messaging Service but no ``To``;
- ``twilio_inbound_url``, ``twilio_status_url``: the exact public URLs set in the Twilio console,
  when a proxy rewrites paths (else ``HUB_PUBLIC_URL`` + the hub's own path);
- ``sms_long_reply_segments`` (default 3), ``whatsapp_long_reply_chars`` (default 1000): above
  these the composer suggests a link or a move to email.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from django.conf import settings


def setting(name: str, default: Any = None) -> Any:
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name, "")
    return default if value in (None, "") else value


def public_base_url() -> str:
    """The URL under which the hub's paths are public (``HUB_PUBLIC_URL``), without a trailing
    slash; empty when unset (webhook validation then trusts the request's own Host/scheme)."""
    return str(setting("HUB_PUBLIC_URL", "")).rstrip("/")


def twilio_credentials(endpoint) -> tuple[str, str] | None:
    """(account sid, auth token) for sending from ``endpoint``, or None: the local outbox."""
    values = endpoint.settings if endpoint is not None else {}
    sid = values.get("twilio_account_sid") or setting("TWILIO_ACCOUNT_SID")
    token = values.get("twilio_auth_token") or setting("TWILIO_AUTH_TOKEN")
    return (sid, token) if sid and token else None


def local_auth_token() -> str:
    """The signing token used when no Twilio auth token is configured anywhere.

    Derived from ``SECRET_KEY``, so it is secret to this installation: ``simulate_sms`` can sign
    webhooks with it, while forged requests still fail. Twilio itself cannot produce it, so a
    production hub must configure its real auth token (webhooks then fail with 403 until it does).
    """
    digest = hmac.new(
        settings.SECRET_KEY.encode(), b"channels_sms.local-twilio-auth-token", hashlib.sha256
    )
    return digest.hexdigest()[:32]


def webhook_auth_token(endpoint) -> str:
    """The token Twilio signs this endpoint's webhooks with: the endpoint's, the environment's,
    else the local one (no credentials configured: development and ``simulate_sms``)."""
    values = endpoint.settings if endpoint is not None else {}
    return values.get("twilio_auth_token") or setting("TWILIO_AUTH_TOKEN") or local_auth_token()


def http_timeout() -> float:
    return float(setting("TWILIO_HTTP_TIMEOUT", 15))


def media_max_bytes() -> int:
    return int(setting("TWILIO_MEDIA_MAX_BYTES", 20 * 1024 * 1024))


def media_hosts() -> list[str]:
    """Hosts inbound media may be fetched from (``*.`` matches subdomains)."""
    raw = setting("TWILIO_MEDIA_HOSTS", "api.twilio.com,*.twilio.com,*.twiliocdn.com")
    if isinstance(raw, str):
        raw = raw.split(",")
    return [host.strip().lower() for host in raw if host.strip()]


def media_url_max_age() -> int:
    """Seconds a signed attachment URL handed to Twilio stays valid."""
    return int(setting("TWILIO_MEDIA_URL_MAX_AGE", 3600))
