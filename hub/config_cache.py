"""A process-local cache for small configuration tables read on every message (webhook
subscriptions, TTL policies, business hours, endpoints).

Reading them from the database on each ingest costs more than the rest of the lookup. Saves and
deletes in this process clear the cache at once (signals); other processes (more web servers,
workers) see a change within ``TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
TTL_SECONDS = 5.0

_lock = threading.Lock()
_values: dict[str, tuple[float, object]] = {}


def cached(key: str, load: Callable[[], T], *, keep_none: bool = True) -> T:
    """``load()``'s value, reused for ``TTL_SECONDS``. With ``keep_none=False`` a ``None`` is
    not remembered (a lookup by a caller-given key must not grow the cache with misses)."""
    now = time.monotonic()
    entry = _values.get(key)
    if entry is not None and now - entry[0] < TTL_SECONDS:
        return entry[1]  # type: ignore[return-value]
    value = load()
    if value is not None or keep_none:
        with _lock:
            _values[key] = (now, value)
    return value


def clear(*_args, **_kwargs) -> None:
    with _lock:
        _values.clear()


def watch(*models) -> None:
    """Clear the cache whenever one of ``models`` is saved or deleted in this process."""
    for model in models:
        post_save.connect(clear, sender=model, dispatch_uid=f"config_cache_save_{model.__name__}")
        post_delete.connect(clear, sender=model, dispatch_uid=f"config_cache_del_{model.__name__}")
