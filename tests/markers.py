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

# What the hub does only on PostgreSQL (its timestamp loader in config/postgresql/, the sweep's
# asynchronous commit): SQLite has no such thing to test. `.ci/run` runs these on PostgreSQL.
postgresql_feature = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="tests a PostgreSQL-only part of the hub (set DATABASE_URL; .ci/run does)",
)
