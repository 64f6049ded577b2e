"""Django's Redis cache, with one connection pool per process instead of one per thread.

Django keeps a cache object per thread (``caches`` is thread-local), each with its own redis-py
client and connection pool. Under ASGI every request runs in a thread of its own, so every
request that touched the cache (chat presence, rate limits) built a new pool and opened a new
TCP connection to Redis, with its handshake commands; measured on the live-chat benchmark that
was a tenth of the web process's CPU time on an agent's reply. redis-py's pools are
thread-safe, so the clients of one process share one pool per server and options.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, dict] = {}
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        key = (tuple(servers), repr(sorted(self._pool_options.items(), key=lambda kv: kv[0])))
        with _lock:
            self._pools = _pools.setdefault(key, {})

    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        pool = self._pools.get(index)
        if pool is None:
            with _lock:  # two threads must not both create the first pool
                pool = self._pools.get(index)
                if pool is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    self._pools[index] = pool
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
