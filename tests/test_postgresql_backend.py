"""``config.postgresql``: Django's backend, timestamps read through ``datetime.fromisoformat``.

Every value must come back exactly as Django's own loader gives it (same instant, same
``tzinfo`` object), and whatever the fast path does not handle must fail or succeed as it does
in Django.
"""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from django.test.utils import CaptureQueriesContext

from config.postgresql.base import FastTzLoader
from tests.markers import postgresql_feature

pytestmark = [pytest.mark.django_db, postgresql_feature]

VALUES = [
    "2026-11-23 15:44:49.094974+00",
    "2026-11-23 15:44:49+00",
    "2026-03-29 02:30:00+02",  # the hour Rome skips, given with an offset
    "2026-10-25 02:30:00+01",  # the hour Rome repeats
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2024-02-29 12:00:00.5+00",
    "1970-01-01 00:00:00+00",
]
FAILING = ["infinity", "-infinity", "0044-03-15 00:00:00+00 BC"]


def _stock_connection() -> psycopg.Connection:
    """A plain psycopg connection set up as Django's stock backend sets up its own."""
    params = connection.get_connection_params()
    params.pop("pool", None)
    params["context"] = get_adapters_template(True, UTC)
    conn = psycopg.connect(**params)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def _load(cursor, text: str):
    cursor.execute("SELECT %s::timestamptz", [text])
    return cursor.fetchone()[0]


def test_the_project_uses_the_backend_and_its_loader():
    assert connection.settings_dict["ENGINE"] == "config.postgresql"
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, psycopg.pq.Format.TEXT)
    assert issubclass(loader, FastTzLoader)
    assert loader.timezone is UTC


def test_timestamps_equal_djangos_own_loader_value_and_tzinfo():
    with _stock_connection() as stock, stock.cursor() as theirs, connection.cursor() as ours:
        for text in VALUES:
            expected = _load(theirs, text)
            got = _load(ours, text)
            assert got == expected, text
            assert got.tzinfo is expected.tzinfo is UTC, text
            assert got.isoformat() == expected.isoformat(), text


def test_values_outside_pythons_range_fail_as_in_django():
    with _stock_connection() as stock:
        for text in FAILING:
            with stock.cursor() as theirs, pytest.raises(psycopg.DataError) as expected:
                _load(theirs, text)
            stock.rollback()
            with connection.cursor() as ours, pytest.raises(Exception) as got:
                _load(ours, text)
            assert got.value.__cause__.__class__ is psycopg.DataError or isinstance(
                got.value, psycopg.DataError
            ), text
            assert str(expected.value) in str(got.value), text


def test_another_session_time_zone_takes_djangos_path():
    with _stock_connection() as stock, stock.cursor() as theirs, connection.cursor() as ours:
        theirs.execute("SET TIME ZONE 'Europe/Rome'")
        ours.execute("SET TIME ZONE 'Europe/Rome'")
        try:
            for text in VALUES[:4]:
                expected = _load(theirs, text)
                got = _load(ours, text)
                assert (got, got.tzinfo) == (expected, expected.tzinfo), text
        finally:
            ours.execute("SET TIME ZONE 'UTC'")


def test_deletes_and_bulk_inserts_split_below_the_parameter_limit_of_server_binding(monkeypatch):
    """Server-side binding limits a statement to 65,535 parameters; the backend splits what
    Django would otherwise send in one statement (a cascading delete, a bulk insert)."""
    from django.db.models.deletion import Collector

    from config.postgresql import base
    from crm.models import Contact
    from hub.models import Conversation
    from tests.factories import ConversationFactory, EndpointFactory

    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    assert connection.ops.bulk_batch_size(["conversation"], range(200_000)) == 65_535
    assert connection.ops.bulk_batch_size(["a", "b", "c"], range(200_000)) == 21_845
    assert connection.ops.bulk_batch_size(["conversation"], range(10)) == 10

    monkeypatch.setattr(base, "MAX_QUERY_PARAMS", 7)  # split a small cascade the same way
    endpoint = EndpointFactory()
    for _ in range(20):
        ConversationFactory(endpoint=endpoint)
    collector = Collector(using="default")
    batches = collector.get_del_batches(
        list(Conversation.objects.all()), [Conversation._meta.get_field("endpoint")]
    )
    assert [len(batch) for batch in batches] == [7, 7, 6]
    Conversation.objects.filter(endpoint=endpoint).delete()
    assert not Conversation.objects.filter(endpoint=endpoint).exists()
    monkeypatch.setattr(base, "MAX_QUERY_PARAMS", 17)  # 8 columns a contact: 2 rows a batch
    with CaptureQueriesContext(connection) as queries:
        Contact.objects.bulk_create([Contact(name=f"bulk {n}") for n in range(20)])
    assert len([q for q in queries if q["sql"].startswith("INSERT")]) == 10
    assert Contact.objects.filter(name__startswith="bulk ").count() == 20
