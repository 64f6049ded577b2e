"""Replies without thread headers (no In-Reply-To/References, no ``[#id]``) join by subject:
the same person's conversation on the same mailbox, in a window, in any arrival order; never
another person's, never for a generic subject, never two new mails of one subject. The rule
that threaded each message is recorded."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_email import services
from hub.models import Conversation, Message
from hub.services.thread_rules import is_reply_subject, subject_key
from tests.test_email_flow import mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def ingest(raw: bytes) -> Message:
    outcome = services.ingest_raw_email(raw, source="test")
    assert outcome.status == "ingested", outcome
    return outcome.message


def rule(message: Message) -> str:
    message.refresh_from_db()
    return message.metadata["threading"]["rule"]


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("Re: RE: AW: [Ticket 7] Problema con il router X200!", "problema con il router x200"),
        ("R: Fwd: I: Inoltro: TR: RIF: SV: Fattura 12/2026 ", "fattura 12/2026"),
        ("re[2]:  Spedizione   in ritardo ", "spedizione in ritardo"),
        ("Risposta automatica: Spedizione in ritardo", "spedizione in ritardo"),
        ("Re: Ciao", ""),
        ("Info", ""),
        ("R: Domanda", ""),
        ("Re: Richiesta", ""),
        ("Fwd: Help!", ""),
        ("Ordine", ""),
        ("Re: ok", ""),
        ("", ""),
    ],
)
def test_the_subject_key_strips_prefixes_and_tags_and_refuses_generic_subjects(subject, key):
    assert subject_key(subject) == key


def test_reply_prefixes_are_told_from_forwards():
    assert is_reply_subject("[ext] R: x") and is_reply_subject("AW: x")
    assert not is_reply_subject("Fwd: x") and not is_reply_subject("Inoltro: x")
    assert not is_reply_subject("Fattura marzo")


def _thread(sender="lucia@example.it") -> list[bytes]:
    """A new mail, a reply with no thread headers, and a reply with headers to the first."""
    return [
        mail(sender=sender, subject="Spedizione in ritardo", message_id="<n1@example.it>",
             Date="Mon, 03 Mar 2025 09:00:00 +0000"),
        mail(sender=sender, subject="R: Spedizione in ritardo", message_id="<n2@example.it>",
             Date="Mon, 03 Mar 2025 10:00:00 +0000"),
        mail(sender=sender, subject="Re: Re: Spedizione in ritardo",
             message_id="<n3@example.it>", In_Reply_To="<n1@example.it>",
             References="<n1@example.it>", Date="Mon, 03 Mar 2025 11:00:00 +0000"),
    ]  # fmt: skip


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_reply_without_headers_joins_its_thread_in_any_arrival_order(support, order):
    raws = _thread()
    messages = [ingest(raws[i]) for i in order]
    assert len({m.conversation_id for m in messages}) == 1
    conversation = Conversation.objects.get(endpoint=support)
    # The conversation reads as the thread, whichever message opened it.
    assert conversation.subject == "Spedizione in ritardo"


def test_the_rule_that_threaded_each_message_is_recorded(support):
    first, headerless, answered = (ingest(raw) for raw in _thread())
    assert rule(first) == "new"
    assert rule(headerless) == "subject"
    assert rule(answered) == "references"
    token = ingest(mail(subject=f"Re: altro [#{first.conversation_id}]", message_id="<n4@x>"))
    assert rule(token) == "subject_ref"


def test_never_across_people(support):
    lucia = ingest(mail(subject="Spedizione in ritardo", message_id="<l1@example.it>"))
    marco = ingest(
        mail(sender="marco@example.it", subject="Re: Spedizione in ritardo", message_id="<k1@x>")
    )
    assert marco.conversation_id != lucia.conversation_id
    assert rule(marco) == "new"


@pytest.mark.parametrize("subject", ["Ciao", "Info", "Question", "Domanda", "Ordine", "Help"])
def test_never_for_a_generic_subject(support, subject):
    first = ingest(mail(subject=subject, message_id="<g1@example.it>"))
    reply = ingest(mail(subject=f"Re: {subject}", message_id="<g2@example.it>"))
    assert reply.conversation_id != first.conversation_id


def test_two_new_mails_with_one_subject_stay_two_conversations(support):
    # e.g. a monthly "Invoice" mail: a subject is no proof that it is the same thread
    march = ingest(mail(subject="Fattura mensile", message_id="<f1@example.it>"))
    april = ingest(mail(subject="Fattura mensile", message_id="<f2@example.it>"))
    assert march.conversation_id != april.conversation_id


def test_references_win_over_the_subject(support):
    older = ingest(mail(subject="Spedizione in ritardo", message_id="<o1@example.it>"))
    newer = ingest(mail(subject="Spedizione in ritardo", message_id="<o2@example.it>"))
    reply = ingest(
        mail(subject="Re: Spedizione in ritardo", message_id="<o3@example.it>",
             In_Reply_To="<o1@example.it>", References="<o1@example.it>")
    )  # fmt: skip
    assert reply.conversation_id == older.conversation_id != newer.conversation_id
    # A reply whose headers name a message we never stored does not join a thread that has
    # headers of its own: its references would have met them.
    stray = ingest(
        mail(subject="Re: Spedizione in ritardo", message_id="<o4@example.it>",
             In_Reply_To="<elsewhere@example.it>", References="<elsewhere@example.it>")
    )  # fmt: skip
    assert stray.conversation_id not in {older.conversation_id, newer.conversation_id}


def test_only_within_the_window_and_while_open_or_recently_resolved(support, settings):
    settings.HUB = {**settings.HUB, "SUBJECT_THREAD_WINDOW": timedelta(days=10)}
    first = ingest(mail(subject="Spedizione in ritardo", message_id="<w1@example.it>",
                        Date="Mon, 03 Mar 2025 09:00:00 +0000"))  # fmt: skip
    late = ingest(mail(subject="Re: Spedizione in ritardo", message_id="<w2@example.it>",
                       Date="Mon, 24 Mar 2025 09:00:00 +0000"))  # fmt: skip
    assert late.conversation_id != first.conversation_id

    now = timezone.now()
    resolved = Conversation.objects.get(pk=late.conversation_id)
    resolved.status = Conversation.Status.RESOLVED
    resolved.resolved_at = now - settings.HUB["REOPEN_WINDOW"] - timedelta(hours=1)
    resolved.last_activity_at = now - timedelta(days=1)
    resolved.save()
    again = ingest(mail(subject="Re: Spedizione in ritardo", message_id="<w3@example.it>"))
    assert again.conversation_id not in {first.conversation_id, late.conversation_id}
    recent = Conversation.objects.get(pk=again.conversation_id)
    recent.status = Conversation.Status.RESOLVED
    recent.resolved_at = now - timedelta(hours=1)
    recent.save()
    reopened = ingest(mail(subject="R: Spedizione in ritardo", message_id="<w4@example.it>"))
    assert reopened.conversation_id == again.conversation_id
    assert Conversation.objects.get(pk=again.conversation_id).status == "open"


def test_the_rule_shows_in_the_api_and_the_agent_timeline(support, agent, client):
    from tests.test_api import client_for

    first, headerless, _ = (ingest(raw) for raw in _thread())
    response = client_for(agent).get(f"/api/v1/conversations/{first.conversation_id}/timeline/")
    assert response.status_code == 200
    items = [item for item in response.json()["results"] if item["kind"] == "message"]
    rules = {item["id"]: item["metadata"]["threading"]["rule"] for item in items}
    assert rules[headerless.pk] == "subject" and rules[first.pk] == "new"

    from django.test import Client

    from inbox.models import AgentProfile

    url = f"/app/c/{first.conversation_id}/"
    client.force_login(agent)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Why in this conversation" in page and "its subject (no thread headers)" in page
    AgentProfile.objects.create(user=agent, language="it", time_zone="Europe/Rome")
    italian = Client()
    italian.force_login(agent)
    page = italian.get(url).content.decode()
    assert "Perché in questa conversazione" in page and "il suo oggetto" in page


def test_a_reply_without_headers_never_joins_a_thread_that_started_after_it(support):
    # Imported newest first: the person's later thread of the same subject is already there.
    later = ingest(mail(subject="Spedizione in ritardo", message_id="<x2@example.it>",
                        Date="Mon, 10 Mar 2025 09:00:00 +0000"))  # fmt: skip
    earlier_reply = ingest(mail(subject="Re: Spedizione in ritardo", message_id="<x1r@example.it>",
                                Date="Tue, 04 Mar 2025 09:00:00 +0000"))  # fmt: skip
    earlier = ingest(mail(subject="Spedizione in ritardo", message_id="<x1@example.it>",
                          Date="Mon, 03 Mar 2025 09:00:00 +0000"))  # fmt: skip
    assert earlier_reply.conversation_id != later.conversation_id
    assert earlier.conversation_id == earlier_reply.conversation_id
