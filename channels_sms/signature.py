"""``X-Twilio-Signature`` validation, with the URL Twilio actually requested.

Twilio signs the full public URL it called (scheme, host, path, query) plus the POST parameters,
with the account's auth token (HMAC-SHA1). Behind a proxy the hub sees another URL, so the one
to validate against is configurable: an endpoint's exact ``twilio_inbound_url`` /
``twilio_status_url``, else ``HUB_PUBLIC_URL`` + the request path, else the request's own URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

from channels_sms import conf

SIGNATURE_META = "HTTP_X_TWILIO_SIGNATURE"


def is_valid_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, Any] | None,
    signature: str,
    *,
    body: str | None = None,
) -> bool:
    """Whether ``signature`` is Twilio's for this request.

    ``params`` are the form parameters (a QueryDict or MultiValueDict keeps repeated keys);
    ``body`` is the raw body of a JSON request, which Twilio signs through a ``bodySHA256``
    query parameter instead (without it such a request cannot be valid).
    """
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    if body is not None:
        if "bodySHA256" not in parse_qs(urlsplit(url).query):
            return False
        return validator.validate(url, body, signature)
    return validator.validate(url, params or {}, signature)


def configured_url(endpoint, which: str, path: str) -> str:
    """The public URL of the hub's ``path`` as configured (endpoint override, else
    ``HUB_PUBLIC_URL`` + path); empty when neither is set."""
    override = (endpoint.settings or {}).get(f"twilio_{which}_url") if endpoint else None
    if override:
        return override
    return conf.public_base_url() + path if conf.public_base_url() else ""


def public_url(request, endpoint, which: str) -> str:
    """The URL Twilio requested for this ``request`` (``which``: "inbound" or "status")."""
    base = configured_url(endpoint, which, request.path)
    if not base:
        return request.build_absolute_uri()
    query = request.META.get("QUERY_STRING", "")
    return f"{base}?{query}" if query else base


def request_is_signed(request, endpoint, which: str) -> bool:
    return is_valid_signature(
        conf.webhook_auth_token(endpoint),
        public_url(request, endpoint, which),
        request.POST,
        request.META.get(SIGNATURE_META, ""),
    )
