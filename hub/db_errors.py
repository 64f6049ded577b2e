"""Which database errors a retry cures: a deadlock, a serialization failure, a lock timeout.

The transaction was rolled back and nothing was stored, so the caller answers "retry" (503 with
``Retry-After``) rather than a server error; providers' webhooks and integrators retry.
"""

from __future__ import annotations

from django.db import OperationalError

# PostgreSQL's deadlock_detected, serialization_failure and lock_not_available.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and (
        getattr(exc.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES
    )
