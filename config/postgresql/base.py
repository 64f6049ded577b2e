"""Django's PostgreSQL backend (psycopg 3), reading ``timestamptz`` values in C.

Django registers its own ``timestamptz`` loader on every connection, a Python subclass of
psycopg's pure-Python loader (``psycopg_any.BaseTzLoader``), so that values come back with the
connection's ``tzinfo``. That bypasses psycopg's C loader: every timestamp of every row is parsed
in Python (about 7 us each; a page of 50 conversations holds 350 of them, over a millisecond per
request). The loader below gives the same values (the session time zone is UTC, as Django sets
it, and the result carries ``self.timezone``) through ``datetime.fromisoformat``, which is C,
and falls back to Django's path for anything else (another offset, ``infinity``, BC dates).

With server-side binding (``OPTIONS["server_side_binding"]``, see config/settings.py) a
statement carries at most 65,535 parameters, a limit client-side binding does not have and
Django's PostgreSQL backend does not know: a delete that cascades to 100,000 rows, or a
``bulk_create`` of many rows, would fail. ``DatabaseOperations.bulk_batch_size`` then splits
those statements as Django's SQLite backend does for SQLite's own limit.

Used as ``ENGINE = "config.postgresql"``; everything else is Django's backend unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapt

_fromisoformat = datetime.fromisoformat


class FastTzLoader(BaseTzLoader):
    def load(self, data):
        tz = self.timezone
        if tz is UTC:
            try:
                value = _fromisoformat(bytes(data).decode())
            except ValueError:
                pass
            else:
                if value.tzinfo is UTC:
                    return value
        return super().load(data)


@lru_cache
def adapters_with_fast_tzloader(template: adapt.AdaptersMap, tz) -> adapt.AdaptersMap:
    """``template`` (Django's adapters map for ``tz``) with the loader above for ``tz``."""
    ctx = adapt.AdaptersMap(template)
    ctx.register_loader("timestamptz", type("FastTzLoaderFor", (FastTzLoader,), {"timezone": tz}))
    return ctx


MAX_QUERY_PARAMS = 65535  # PostgreSQL's protocol: a 16-bit count of parameters


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        if not self.connection.settings_dict["OPTIONS"].get("server_side_binding"):
            return super().bulk_batch_size(fields, objs)
        fields = list(fields)
        columns = sum(len(getattr(field, "fields", None) or [field]) for field in fields)
        return max(1, min(len(objs) or 1, MAX_QUERY_PARAMS // max(columns, 1)))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = adapters_with_fast_tzloader(params["context"], self.timezone)
        return params
