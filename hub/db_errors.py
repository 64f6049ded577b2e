"""Which database errors a retry cures: a deadlock, a serialization failure, a lock timeout.

The transaction was rolled back and nothing was stored, so the caller answers "retry" (503 with
``Retry-After``) rather than a server error; providers' webhooks and integrators retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL's deadlock_detected, serialization_failure and lock_not_available.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
# Attempts after the first for work that met one (another writer held the same rows).
TRANSIENT_RETRIES = 3


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and (
        getattr(exc.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


def retrying(attempt: Callable[[], T], *, retries: int = TRANSIENT_RETRIES) -> T:
    """``attempt()``, run again (up to ``retries`` times) when it met a deadlock or
    serialization failure: its transaction rolled back whole. Not inside a caller's
    transaction, which the error aborted too: then, and after the last try, it raises."""
    tried = 0
    while True:
        try:
            return attempt()
        except Exception as exc:
            if tried >= retries or not is_transient(exc) or connection.in_atomic_block:
                raise
            tried += 1
            logger.info("%s; trying again (%d of %d)", exc, tried, retries)
