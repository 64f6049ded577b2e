"""Database errors as Django raises them, for tests of how the hub answers them."""

from __future__ import annotations

from django.db import OperationalError


class _DeadlockDetected(Exception):
    """Stands for psycopg's ``errors.DeadlockDetected``: what the hub reads is its state."""

    sqlstate = "40P01"


def deadlock() -> OperationalError:
    """The OperationalError Django raises when PostgreSQL aborts a transaction in a deadlock
    (psycopg's error as its cause). A real one is in tests/test_conversation_merge.py."""
    try:
        raise OperationalError("deadlock detected") from _DeadlockDetected()
    except OperationalError as exc:
        return exc


def raises_deadlock(*args, **kwargs):
    raise deadlock()
