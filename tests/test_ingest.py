"""hub.services.ingest: the one way in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Contact, Identity
from hub.inbound import InboundAttachment
from hub.models import Conversation, Message, WebhookDelivery, WebhookSubscription
from hub.services import ingest, ingest_with_outcome, resolve, snooze
from hub.services.ingestion import InvalidInbound
from tests.factories import inbound

pytestmark = pytest.mark.django_db


def test_new_sender_gets_contact_identity_conversation_and_message(endpoint_for):
    sms = endpoint_for("sms")
    message = ingest(inbound(sms, "+39 347 123 4567", text="Ciao, è arrivato?", sender_name="Anna"))

    identity = Identity.objects.get()
    assert (identity.kind, identity.value) == ("phone", "+393471234567")
    assert identity.contact.name == "Anna"
    conversation = message.conversation
    assert conversation.contact == identity.contact
    assert conversation.endpoint == sms and conversation.channel == "sms"
    assert conversation.team == sms.team
    assert conversation.status == Conversation.Status.OPEN
    assert message.direction == "in" and message.sender_identity == identity
    assert message.text == "Ciao, è arrivato?"
    assert message.delivery_status == "received"


def test_same_provider_message_id_is_stored_once(api_endpoint):
    first = ingest_with_outcome(inbound(api_endpoint, provider_message_id="abc-1"))
    again = ingest_with_outcome(inbound(api_endpoint, provider_message_id="abc-1", text="retry"))
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.filter(kind="message").count() == 1
    assert Message.objects.get(kind="message").text == "Hello, I have a question."


def test_same_provider_id_on_another_endpoint_is_another_message(team, endpoint_for):
    from tests.factories import EndpointFactory

    one = EndpointFactory(team=team)
    two = EndpointFactory(team=team)
    ingest(inbound(one, provider_message_id="same"))
    ingest(inbound(two, provider_message_id="same"))
    assert Message.objects.filter(kind="message").count() == 2


def test_chat_like_channels_continue_the_contacts_conversation(endpoint_for):
    sms = endpoint_for("sms")
    a = ingest(inbound(sms, "+393471234567", text="one"))
    b = ingest(inbound(sms, "+393471234567", text="two"))
    c = ingest(inbound(sms, "+393479999999", text="someone else"))
    assert a.conversation_id == b.conversation_id
    assert c.conversation_id != a.conversation_id


def test_email_without_threading_hints_opens_a_new_conversation(endpoint_for):
    mailbox = endpoint_for("email")
    a = ingest(inbound(mailbox, "Anna@Example.com", subject="Order 1", provider_message_id="m1@x"))
    b = ingest(inbound(mailbox, "anna@example.com", subject="Invoice", provider_message_id="m2@x"))
    assert a.conversation_id != b.conversation_id
    assert a.conversation.contact_id == b.conversation.contact_id  # one person, lower-cased


def test_email_references_thread_into_the_earlier_conversation_in_any_order(endpoint_for):
    mailbox = endpoint_for("email")
    first = ingest(inbound(mailbox, "anna@example.com", provider_message_id="a@x", subject="Q"))
    # The reply names only an older ancestor in References (In-Reply-To points to a mail we
    # never saw): it still threads.
    reply = ingest(
        inbound(
            mailbox, "bob@example.com", provider_message_id="c@x", references=["b@unknown", "a@x"]
        )
    )
    assert reply.conversation_id == first.conversation_id


def test_reply_token_threads_whoever_writes(endpoint_for):
    mailbox = endpoint_for("email")
    first = ingest(inbound(mailbox, "anna@example.com", provider_message_id="t1@x"))
    token = first.conversation.reply_token
    cc = ingest(
        inbound(
            mailbox, "colleague@example.com", provider_message_id="t2@x", conversation_token=token
        )
    )
    assert cc.conversation_id == first.conversation_id
    assert cc.sender_identity.value == "colleague@example.com"


def test_subject_reference_threads_only_the_same_contact(endpoint_for):
    mailbox = endpoint_for("email")
    first = ingest(inbound(mailbox, "anna@example.com", provider_message_id="s1@x"))
    same = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            provider_message_id="s2@x",
            conversation_ref=first.conversation_id,
        )
    )
    stranger = ingest(
        inbound(
            mailbox,
            "mallory@example.com",
            provider_message_id="s3@x",
            conversation_ref=first.conversation_id,
        )
    )
    assert same.conversation_id == first.conversation_id
    assert stranger.conversation_id != first.conversation_id


def test_resolved_conversation_reopens_within_the_window(endpoint_for, settings):
    settings.HUB = {**settings.HUB, "REOPEN_WINDOW": timedelta(days=7)}
    sms = endpoint_for("sms")
    first = ingest(inbound(sms, "+393471234567"))
    resolve(first.conversation)
    again = ingest(inbound(sms, "+393471234567", text="still broken"))
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert again.conversation_id == conversation.pk
    assert conversation.status == "open" and conversation.resolved_at is None
    assert conversation.messages.filter(kind="event", event_type="reopened").exists()


def test_resolved_conversation_past_the_window_leaves_room_for_a_new_one(endpoint_for, settings):
    settings.HUB = {**settings.HUB, "REOPEN_WINDOW": timedelta(days=7)}
    sms = endpoint_for("sms")
    first = ingest(inbound(sms, "+393471234567"))
    resolve(first.conversation)
    Conversation.objects.filter(pk=first.conversation_id).update(
        resolved_at=timezone.now() - timedelta(days=8)
    )
    again = ingest(inbound(sms, "+393471234567", text="new topic"))
    assert again.conversation_id != first.conversation_id
    assert Conversation.objects.get(pk=first.conversation_id).status == "resolved"
    assert again.conversation.contact_id == first.conversation.contact_id


def test_auto_reply_neither_reopens_nor_starts_the_clock(endpoint_for):
    mailbox = endpoint_for("email")
    first = ingest(inbound(mailbox, "anna@example.com", provider_message_id="o1@x"))
    resolve(first.conversation)
    ooo = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            provider_message_id="o2@x",
            references=["o1@x"],
            is_auto_reply=True,
            text="Out of office",
        )
    )
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert ooo.conversation_id == conversation.pk
    assert ooo.is_auto_reply
    assert conversation.status == "resolved"
    assert conversation.waiting_since is None and conversation.due_at is None


def test_person_message_starts_the_ttl_clock_from_the_channel_default(endpoint_for):
    sms = endpoint_for("sms")
    received = timezone.now() - timedelta(minutes=5)
    message = ingest(inbound(sms, "+393471234567", received_at=received))
    conversation = message.conversation
    assert conversation.waiting_since == received
    assert conversation.due_at == received + timedelta(hours=1)
    # A second message while waiting does not push the due time back.
    ingest(inbound(sms, "+393471234567", text="hello??"))
    conversation.refresh_from_db()
    assert conversation.waiting_since == received


def test_snoozed_conversation_wakes_up_on_a_new_message(endpoint_for):
    sms = endpoint_for("sms")
    first = ingest(inbound(sms, "+393471234567"))
    snooze(first.conversation, until=timezone.now() + timedelta(days=1))
    ingest(inbound(sms, "+393471234567", text="any news?"))
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.status == "open" and conversation.snoozed_until is None


def test_timeline_is_ordered_by_when_messages_happened_not_arrival(endpoint_for):
    sms = endpoint_for("sms")
    now = timezone.now()
    late = ingest(inbound(sms, "+393471234567", text="second", received_at=now))
    early = ingest(
        inbound(sms, "+393471234567", text="first", received_at=now - timedelta(minutes=3))
    )
    texts = list(late.conversation.messages.filter(kind="message").values_list("text", flat=True))
    assert texts == ["first", "second"]
    assert early.conversation.last_activity_at == now


def test_html_is_sanitised_and_text_derived_when_missing(api_endpoint):
    message = ingest(
        inbound(
            api_endpoint,
            text="",
            html='<p onclick="steal()">Ciao <b>Anna</b><script>alert(1)</script></p>'
            '<img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">x</a>'
            '<form action="https://evil.example"><input name="pw"></form>',
        )
    )
    assert "<script" not in message.html and "onclick" not in message.html
    assert "tracker.example" not in message.html
    assert "javascript:" not in message.html
    assert "<form" not in message.html and "<input" not in message.html
    assert "<b>Anna</b>" in message.html
    assert message.text == "Ciao Anna\nx"


def test_attachments_are_stored_with_their_bytes(api_endpoint):
    content = b"%PDF-1.4 fake but bytes are bytes \x00\xff"
    message = ingest(
        inbound(
            api_endpoint,
            attachments=[
                InboundAttachment("fattura.pdf", "application/pdf", content),
                InboundAttachment("../../etc/passwd", "", b"root:x", content_id="<img1>"),
            ],
        )
    )
    stored = list(message.attachments.order_by("id"))
    assert [a.filename for a in stored] == ["fattura.pdf", ".._.._etc_passwd"]
    assert stored[0].size == len(content) and stored[0].file.read() == content
    assert stored[1].content_id == "img1"
    assert "etc/passwd" not in stored[1].file.name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "", "html": ""}, "text"),
        ({"provider_message_id": "x" * 256}, "provider_message_id"),
        ({"text": "x" * 100_001}, "text"),
    ],
)
def test_invalid_inbound_is_refused_and_nothing_is_stored(api_endpoint, kwargs, field):
    with pytest.raises(InvalidInbound) as excinfo:
        ingest(inbound(api_endpoint, **kwargs))
    assert excinfo.value.field == field
    assert not Message.objects.exists() and not Contact.objects.exists()


def test_invalid_sender_address_is_refused_without_partial_rows(endpoint_for):
    with pytest.raises(InvalidInbound) as excinfo:
        ingest(inbound(endpoint_for("email"), "not-an-address"))
    assert excinfo.value.field == "sender"
    assert not Contact.objects.exists() and not Conversation.objects.exists()


def test_inactive_endpoint_is_refused(api_endpoint):
    api_endpoint.is_active = False
    api_endpoint.save()
    with pytest.raises(InvalidInbound):
        ingest(inbound(api_endpoint))


def test_side_effects_wait_for_commit(api_endpoint, on_commit, http_mock):
    http_mock.post("https://integrator.example/hook", status=204)
    WebhookSubscription.objects.create(url="https://integrator.example/hook")
    with on_commit() as callbacks:
        ingest(inbound(api_endpoint, provider_message_id="p1"))
        assert len(http_mock.calls) == 0  # nothing leaves before commit
        # Webhook deliveries are outbox rows written in the same transaction.
        assert set(WebhookDelivery.objects.values_list("event_type", flat=True)) == {
            "conversation.created",
            "message.created",
        }
    assert callbacks
    # ...and after commit the worker task delivered both events.
    assert len(http_mock.calls) == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_whatsapp_and_sms_from_the_same_phone_stay_distinct_identities(endpoint_for):
    sms = ingest(inbound(endpoint_for("sms"), "+393471234567"))
    wa = ingest(inbound(endpoint_for("whatsapp"), "whatsapp:+393471234567"))
    assert wa.sender_identity.value == "+393471234567"
    assert wa.sender_identity.kind == "whatsapp" and sms.sender_identity.kind == "phone"


def test_html_that_sanitises_to_nothing_is_an_empty_message(api_endpoint):
    with pytest.raises(InvalidInbound):
        ingest(inbound(api_endpoint, text="", html="<script>alert(1)</script><p></p>"))
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_imported_history_neither_reopens_nor_starts_the_clock(endpoint_for):
    mailbox = endpoint_for("email")
    old = timezone.now() - timedelta(days=400)
    first = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            provider_message_id="h1@x",
            received_at=old,
            is_historical=True,
        )
    )
    assert first.conversation.waiting_since is None and first.conversation.next_check_at is None
    resolve(first.conversation)
    again = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            provider_message_id="h2@x",
            references=["h1@x"],
            received_at=old,
            is_historical=True,
        )
    )
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert again.conversation_id == conversation.pk and conversation.status == "resolved"
    assert not again.is_auto_reply


@pytest.mark.parametrize("flag", ["is_historical", "is_auto_reply"])
def test_a_conversation_opened_by_a_message_nobody_answers_is_written_once(api_endpoint, flag):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        message = ingest(inbound(api_endpoint, "old-1", **{flag: True}))
    writes = [q["sql"] for q in queries if "hub_conversation" in q["sql"].split(" WHERE")[0]]
    assert [sql.split()[0] for sql in writes if not sql.startswith("SELECT")] == ["INSERT"]
    assert message.conversation.waiting_since is None
