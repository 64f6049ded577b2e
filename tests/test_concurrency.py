"""Ingest under concurrent provider retries, on a real PostgreSQL (threads, separate connections).

SQLite serialises every writer, so these races cannot happen there; the tests need PostgreSQL
(CI and `.ci/run` provide it through DATABASE_URL).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from crm.models import Contact, Identity
from crm.services import resolve_identity
from hub.models import Conversation, Message
from hub.services import ingest_with_outcome
from tests.factories import EndpointFactory, TeamFactory, inbound
from tests.markers import postgresql_only

pytestmark = [
    pytest.mark.django_db(transaction=True),
    postgresql_only,
]


def run_concurrently(count: int, work):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results.append(work(i))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_concurrent_retries_of_one_provider_message_store_one_row():
    endpoint = EndpointFactory(team=TeamFactory())
    results, errors = run_concurrently(
        8, lambda i: ingest_with_outcome(inbound(endpoint, "cust-1", provider_message_id="dup-1"))
    )
    assert errors == []
    assert Message.objects.filter(kind="message").count() == 1
    assert sum(outcome.created for outcome in results) == 1
    assert len({outcome.message.pk for outcome in results}) == 1
    assert Conversation.objects.count() == 1
    assert Contact.objects.count() == 1 and Identity.objects.count() == 1


def test_concurrent_first_messages_of_a_known_person_open_one_conversation(monkeypatch):
    """The contact exists (e.g. created through the API) but has no conversation yet."""
    from hub.services import ingestion

    original = ingestion._threaded_conversation

    def slow_lookup(*args, **kwargs):
        # Widen the race window between "no conversation yet" and "open one".
        found = original(*args, **kwargs)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(ingestion, "_threaded_conversation", slow_lookup)
    endpoint = EndpointFactory(team=TeamFactory())
    resolve_identity("api", "new-person")
    results, errors = run_concurrently(
        8,
        lambda i: ingest_with_outcome(inbound(endpoint, "new-person", provider_message_id=f"m{i}")),
    )
    assert errors == []
    assert Message.objects.filter(kind="message").count() == 8
    assert Identity.objects.count() == 1 and Contact.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert sum(outcome.conversation_created for outcome in results) == 1
