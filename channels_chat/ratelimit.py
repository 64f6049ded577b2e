"""Fixed-window rate limits in the shared cache (Redis), so every web process counts together."""

from __future__ import annotations

import time

from django.core.cache import cache


class Limited(Exception):
    """Over the limit; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, what: str = ""):
        super().__init__(f"rate limited ({what}), retry after {retry_after} s")
        self.retry_after = retry_after
        self.what = what


def hit(scope: str, key: str, limit: int, window: int = 60) -> None:
    """Count one hit of ``key`` in ``scope``; raise ``Limited`` past ``limit`` per ``window``.

    A limit of 0 or less disables it. A cache outage lets the request through (the limit is a
    protection, not a reason to drop a visitor's message).
    """
    if limit <= 0:
        return
    now = time.time()
    bucket = int(now // window)
    cache_key = f"chat:rl:{scope}:{key}:{bucket}"
    try:
        cache.add(cache_key, 0, timeout=window + 1)
        count = cache.incr(cache_key)
    except Exception:
        return
    if count > limit:
        raise Limited(retry_after=max(1, int((bucket + 1) * window - now) + 1), what=scope)
