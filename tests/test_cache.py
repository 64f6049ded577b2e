"""The Redis cache shares one connection pool per process (config/cache.py)."""

from __future__ import annotations

import threading

from django.core.cache import cache, caches


def _in_new_threads(count: int, work) -> list:
    """Run ``work`` in ``count`` fresh threads, one after another (as ASGI requests are)."""
    results = []
    for _ in range(count):
        thread = threading.Thread(target=lambda: results.append(work()))
        thread.start()
        thread.join()
    return results


def test_each_thread_has_its_own_cache_object_but_one_pool_and_one_connection():
    def use_cache():
        own = caches["default"]
        own.set("shared-pool-test", "è sempre lo stesso", 30)
        assert own.get("shared-pool-test") == "è sempre lo stesso"
        return id(own), own._cache._get_connection_pool(write=True)

    results = _in_new_threads(8, use_cache)
    assert len({cache_id for cache_id, _ in results}) > 1  # Django's per-thread objects
    pools = {id(pool) for _, pool in results}
    assert len(pools) == 1
    pool = results[0][1]
    assert pool._created_connections == 1  # sequential users: one connection, reused
    cache.delete("shared-pool-test")
