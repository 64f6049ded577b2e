"""Marks shared by the test modules."""

import pytest
from django.db import connection

# Races between transactions (row locks, SKIP LOCKED, unique constraints under concurrent
# inserts) are PostgreSQL behaviour; SQLite serialises every writer, so there is nothing to race.
# `make test` without DATABASE_URL runs on SQLite; `.ci/run` runs on PostgreSQL, where these run.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrency races need PostgreSQL (set DATABASE_URL; .ci/run does)",
)
