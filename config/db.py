"""Database connection helpers that are not Django's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

# psycopg's own default: a statement is prepared on its sixth execution on a connection.
PREPARE_THRESHOLD = 5


@contextmanager
def prepared_statements(
    alias: str = "default", threshold: int = PREPARE_THRESHOLD
) -> Iterator[None]:
    """Let psycopg prepare the statements this thread's connection repeats, for the block.

    Django keeps psycopg's prepared statements off for every connection (see the settings);
    a long single-connection job such as ``import_mail`` runs the same few statements thousands
    of times, and preparing them spares the server parsing and planning each one. Only with
    server-side binding on PostgreSQL (a client-side-binding cursor never prepares). The
    connection gets its previous threshold back afterwards; if Django reconnected meanwhile,
    the new connection never had it changed.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql" or not connection.settings_dict.get("OPTIONS", {}).get(
        "server_side_binding"
    ):
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.prepare_threshold
    raw.prepare_threshold = threshold
    try:
        yield
    finally:
        raw.prepare_threshold = previous
