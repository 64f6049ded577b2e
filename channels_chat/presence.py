"""Whether a visitor is on the site now, kept in the shared cache (Redis) by the consumers.

``online`` counts a visitor's open sockets (tabs); its key expires ``PRESENCE_TTL`` after the last
heartbeat, so a web process that dies cannot keep a visitor online forever. ``seen`` is the last
moment any socket or HTTP poll of the visitor was alive: an HTTP-polling visitor is present for
``POLL_PRESENCE`` after each poll, and a reload (close, then open) does not flap.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from channels_chat.conf import setting

SEEN_TTL = 60 * 86400


def _online_key(identity_id: int) -> str:
    return f"chat:online:{identity_id}"


def _seen_key(identity_id: int) -> str:
    return f"chat:seen:{identity_id}"


def _ttl() -> int:
    return int(setting("PRESENCE_TTL_SECONDS"))


def socket_opened(identity_id: int) -> bool:
    """Count a new socket; True when it is the visitor's first."""
    key = _online_key(identity_id)
    cache.add(key, 0, timeout=_ttl())
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=_ttl())
        count = 1
    cache.touch(key, _ttl())
    cache.set(_seen_key(identity_id), time.time(), timeout=SEEN_TTL)
    return count == 1


def socket_alive(identity_id: int) -> None:
    """A heartbeat: the socket is still open."""
    key = _online_key(identity_id)
    if not cache.touch(key, _ttl()):
        cache.add(key, 1, timeout=_ttl())
    cache.set(_seen_key(identity_id), time.time(), timeout=SEEN_TTL)


def socket_closed(identity_id: int) -> bool:
    """Uncount a socket; True when the visitor has none left."""
    key = _online_key(identity_id)
    try:
        count = cache.decr(key)
    except ValueError:
        count = 0
    if count <= 0:
        cache.delete(key)
    cache.set(_seen_key(identity_id), time.time(), timeout=SEEN_TTL)
    return count <= 0


def polled(identity_id: int) -> None:
    cache.set(_seen_key(identity_id), time.time(), timeout=SEEN_TTL)


def last_seen(identity_id: int) -> float | None:
    value = cache.get(_seen_key(identity_id))
    return float(value) if value is not None else None


def sockets(identity_id: int) -> int:
    return int(cache.get(_online_key(identity_id)) or 0)


def away_seconds(identity_id: int) -> float | None:
    """None while the visitor is present; else how long ago they were last seen (inf: never)."""
    if sockets(identity_id) > 0:
        return None
    seen = last_seen(identity_id)
    if seen is None:
        return float("inf")
    away = time.time() - seen
    return None if away < int(setting("POLL_PRESENCE_SECONDS")) else away


def is_present(identity_id: int) -> bool:
    return away_seconds(identity_id) is None
