"""Email threads do not depend on the order mail arrives in.

A webhook provider retries late, an import reads folders in name order, a reply can overtake the
message it answers: whatever the order, the messages of one thread end up in one conversation
(peers thread a reply that arrives before its parent into a conversation of its own).
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from django.db import connection

from channels_email import services
from hub.models import Conversation, Message, MessageReference
from tests.test_email_flow import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def ingest(raw: bytes):
    outcome = services.ingest_raw_email(raw, source="test")
    assert outcome.status == "ingested", outcome
    return outcome.message


def test_a_reply_that_arrives_before_its_parent_shares_its_conversation(support):
    reply = ingest(
        mail(
            subject="Re: Ordine 42",
            message_id="<r1@example.it>",
            In_Reply_To="<p1@example.it>",
            Date="Mon, 03 Mar 2025 10:00:00 +0000",
        )
    )
    parent = ingest(
        mail(
            subject="Ordine 42",
            message_id="<p1@example.it>",
            Date="Mon, 03 Mar 2025 09:00:00 +0000",
        )
    )
    assert parent.conversation_id == reply.conversation_id
    assert Conversation.objects.count() == 1
    # The timeline reads in the order the messages were written, not received.
    assert list(
        Message.objects.filter(conversation=parent.conversation_id, kind=Message.Kind.MESSAGE)
        .order_by("occurred_at", "id")
        .values_list("provider_message_id", flat=True)
    ) == ["p1@example.it", "r1@example.it"]


def test_replies_to_the_same_message_share_a_conversation_before_it_arrives(support):
    first = ingest(
        mail(
            message_id="<s1@example.it>",
            In_Reply_To="<root@example.it>",
            References="<root@example.it>",
        )
    )
    second = ingest(  # the same person adds something, still before the root arrives
        mail(
            message_id="<s2@example.it>",
            In_Reply_To="<root@example.it>",
            References="<root@example.it>",
        )
    )
    root = ingest(mail(message_id="<root@example.it>"))
    assert first.conversation_id == second.conversation_id == root.conversation_id


def test_an_id_anyone_can_name_does_not_join_two_peoples_mail(support):
    newsletter = "<newsletter-2025-03@marketing.example>"  # never stored by the hub
    alice = ingest(
        mail(sender="alice@a.example", message_id="<a1@a.example>", In_Reply_To=newsletter)
    )
    bob = ingest(mail(sender="bob@b.example", message_id="<b1@b.example>", In_Reply_To=newsletter))
    assert alice.conversation_id != bob.conversation_id
    assert bob.conversation.contact_id != alice.conversation.contact_id
    # Nor a message that claims an id Alice's mail refers to.
    claimer = ingest(mail(sender="eve@e.example", message_id=newsletter))
    assert claimer.conversation_id not in {alice.conversation_id, bob.conversation_id}


def test_the_same_mail_to_two_mailboxes_stays_in_each(support, endpoint_for, team):
    from tests.factories import EndpointFactory

    sales = EndpointFactory(channel="email", address="sales@shop.example", team=team)
    to_sales = ingest(
        mail(to=sales.address, message_id="<x1@example.it>", In_Reply_To="<up@example.it>")
    )
    to_support = ingest(
        mail(to=support.address, message_id="<x2@example.it>", In_Reply_To="<up@example.it>")
    )
    assert to_sales.endpoint_id == sales.pk and to_support.endpoint_id == support.pk
    assert to_sales.conversation_id != to_support.conversation_id


def test_the_references_are_stored_per_message(support):
    message = ingest(
        mail(
            message_id="<c@example.it>",
            In_Reply_To="<b@example.it>",
            References="<a@example.it> <b@example.it>",
        )
    )
    assert sorted(
        MessageReference.objects.filter(message=message).values_list(
            "channel", "provider_message_id"
        )
    ) == [("email", "a@example.it"), ("email", "b@example.it")]


def test_unrelated_messages_stay_apart(support):
    one = ingest(mail(message_id="<u1@example.it>", In_Reply_To="<x@example.it>"))
    two = ingest(mail(message_id="<u2@example.it>", In_Reply_To="<y@example.it>"))
    assert one.conversation_id != two.conversation_id


def _threads(seed: int, count: int, *, with_references: bool = True) -> list[tuple[str, bytes]]:
    """``count`` messages in threads as mail clients write them (References: the parent's
    References plus the parent's Message-ID), each (thread name, raw bytes), in writing order.
    Six people, each with several threads of their own. ``with_references=False``: only
    In-Reply-To, as some clients and gateways write (then a message that arrives late is the
    only link between the messages before and after it)."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    written: list[dict] = []
    out = []
    for n in range(count):
        parent = rng.choice(written) if written and rng.random() < 0.6 else None
        message = EmailMessage()
        # A customer's thread: the same person writes again; each person has several threads.
        person = parent["person"] if parent else f"cliente{rng.randrange(6)}@example.it"
        message["From"] = person
        message["To"] = "support@shop.example"
        message["Subject"] = f"Re: {parent['subject']}" if parent else f"Richiesta {n}"
        message["Message-ID"] = f"<t{seed}-{n}@example.it>"
        message["Date"] = format_datetime(start + timedelta(minutes=n))
        references = [*parent["references"], parent["id"]] if parent else []
        if parent:
            message["In-Reply-To"] = parent["id"]
            if with_references:
                message["References"] = " ".join(references)
        message.set_content(f"Messaggio {n}: è così, perché?")
        entry = {
            "id": message["Message-ID"],
            "references": references,
            "subject": parent["subject"] if parent else message["Subject"],
            "person": person,
            "thread": parent["thread"] if parent else n,
        }
        written.append(entry)
        out.append((f"thread-{entry['thread']}", bytes(message)))
    return out


def _partition(support) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for conversation_id, provider_id in Message.objects.filter(endpoint=support).values_list(
        "conversation_id", "provider_message_id"
    ):
        groups.setdefault(conversation_id, set()).add(provider_id)
    return {frozenset(group) for group in groups.values()}


@pytest.mark.parametrize("references", [True, False], ids=["references", "in-reply-to-only"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_same_threads(support, seed, references):
    messages = _threads(seed, 40, with_references=references)
    expected = {
        frozenset(raw.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode() for _, raw in group)
        for _, group in itertools.groupby(sorted(messages, key=lambda m: m[0]), key=lambda m: m[0])
    }
    orders = {
        "as written": list(messages),
        "reversed": list(reversed(messages)),
        "shuffled": random.Random(seed).sample(messages, len(messages)),
    }
    for name, order in orders.items():
        Message.objects.filter(endpoint=support).delete()
        Conversation.objects.filter(endpoint=support).delete()
        for _, raw in order:
            ingest(raw)
        assert _partition(support) == expected, name


def test_the_migration_fills_the_references_of_stored_email(support):
    """Mail stored before the references table existed threads its late parents too."""
    import importlib

    from django.apps import apps

    older = ingest(
        mail(
            message_id="<old-reply@example.it>",
            In_Reply_To="<old-parent@example.it>",
            References="<old-root@example.it> <old-parent@example.it>",
        )
    )
    MessageReference.objects.all().delete()  # as before migration 0007
    migration = importlib.import_module("hub.migrations.0008_backfill_message_references")
    editor = SimpleNamespace(connection=connection)
    migration.backfill(apps, editor)
    migration.backfill(apps, editor)  # again: nothing doubles
    assert sorted(
        MessageReference.objects.filter(message=older).values_list("provider_message_id", flat=True)
    ) == ["old-parent@example.it", "old-root@example.it"]
    parent = ingest(mail(message_id="<old-parent@example.it>"))
    assert parent.conversation_id == older.conversation_id


def test_a_late_message_joins_the_threads_before_and_after_it(support):
    """C answers B and B answers A, by In-Reply-To only; C, then A, then B arrive. A and C
    were apart until B came: B's arrival joins them into one conversation."""
    answer = ingest(mail(message_id="<c@example.it>", In_Reply_To="<b@example.it>"))
    first = ingest(mail(message_id="<a@example.it>"))
    assert answer.conversation_id != first.conversation_id
    bridge = ingest(mail(message_id="<b@example.it>", In_Reply_To="<a@example.it>"))
    assert bridge.conversation_id == first.conversation_id
    assert set(
        Message.objects.filter(kind=Message.Kind.MESSAGE).values_list("conversation_id", flat=True)
    ) == {first.conversation_id}
