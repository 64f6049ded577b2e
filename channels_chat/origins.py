"""Which web pages may talk to a chat endpoint: its ``allowed_origins`` and the hub itself.

Browsers always send ``Origin`` on WebSocket handshakes and on cross-origin POSTs, so a page of
another site is refused. A request without ``Origin`` comes from a non-browser client, which could
send any ``Origin`` it likes anyway: it is let through, and the visitor token remains the
credential (it only ever opens its own visitor's conversation).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or origin pattern, or None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _matches(pattern: str, origin: tuple[str, str, int]) -> bool:
    if pattern.strip() == "*":
        return True
    wildcard = "://*." in pattern
    wanted = normalise_origin(pattern.replace("://*.", "://", 1) if wildcard else pattern)
    if wanted is None:
        return False
    scheme, host, port = wanted
    if origin[0] != scheme or origin[2] != port:
        return False
    return origin[1].endswith("." + host) if wildcard else origin[1] == host


def is_same_origin(origin: tuple[str, str, int], host_header: str) -> bool:
    """The page is served by the hub itself (the Host it was asked for, an allowed host)."""
    domain, port = split_domain_port(host_header.lower())
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    port_number = int(port) if port.isdigit() else _DEFAULT_PORTS[origin[0]]
    host = domain[1:-1] if domain.startswith("[") else domain
    return origin[1] == host and origin[2] == port_number


def origin_allowed(endpoint, origin: str | None, host_header: str = "") -> bool:
    if not origin:
        return True
    parsed = normalise_origin(origin)
    if parsed is None:  # "null" (sandboxed iframes, file://) and garbage
        return False
    if host_header and is_same_origin(parsed, host_header):
        return True
    values = endpoint.settings if isinstance(endpoint.settings, dict) else {}
    patterns = values.get("allowed_origins") or []
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(isinstance(p, str) and _matches(p, parsed) for p in patterns)
