"""Email continuity: a chat reply the visitor never saw because they left is emailed with the
conversation's reply token, and their email answer lands in the same conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from unittest import mock

import pytest
import time_machine
from asgiref.sync import sync_to_async

from channels_chat import continuity, leads, presence, services
from hub.models import Conversation, LocalDelivery, Message
from hub.services import ingest, send_reply
from tests.chat_helpers import chat_endpoint, chat_limits, hello, socket, visitor
from tests.factories import EndpointFactory, UserFactory, inbound

pytestmark = pytest.mark.django_db
__all__ = ["chat_limits"]
T0 = datetime.fromisoformat("2026-05-04T09:00:00+00:00")


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


@pytest.fixture
def chat():
    endpoint = chat_endpoint(continuity_delay_seconds=60)
    EndpointFactory(team=endpoint.team, channel="email", address="help@shop.example")
    return endpoint


@pytest.fixture
def agent(chat):
    user = UserFactory(first_name="Sara")
    chat.team.members.add(user)
    return user


def _chatting(chat, email="anna@example.com", name="Anna Rossi"):
    """A visitor who wrote at T0 (over HTTP, so last seen then) and gave their email."""
    token, who = visitor(chat, language="it")
    with time_machine.travel(T0, tick=False):
        conversation = services.send_message(who, "Avete la taglia M?", "m1").conversation
        presence.polled(who.identity.pk)
        if email:
            leads.capture_details(who, name=name, email=email)
        services.record_page_view(who, "https://shop.example/p/42", "Maglia")
    return token, who, conversation


def test_unseen_reply_is_emailed_with_the_reply_token_then_the_answer_threads(
    chat, agent, on_commit
):
    _, who, conversation = _chatting(chat)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), on_commit():
        reply = send_reply(conversation, text="Sì, la M arriva domani.", author=agent)
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"  # no socket open: pushed to nobody
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert continuity.email_unseen_replies(conversation.pk) == "too_early"
    with time_machine.travel(T0 + timedelta(seconds=75), tick=False), on_commit():
        assert continuity.email_unseen_replies(conversation.pk) == "emailed"
    with time_machine.travel(T0 + timedelta(seconds=76), tick=False), on_commit():
        assert continuity.email_unseen_replies(conversation.pk) == "nothing"  # idempotent

    conversation.refresh_from_db()
    assert conversation.channel == "email"
    assert conversation.messages.filter(event_type="handoff").get().metadata["reason"] == (
        "visitor_left"
    )
    email = Message.objects.get(conversation=conversation, channel="email", direction="out")
    assert email.metadata["chat"]["continuity_of"] == [reply.pk]
    assert "Sì, la M arriva domani." in email.text and email.text.startswith("Ciao Anna")
    assert "https://shop.example/p/42" in email.text
    assert email.delivery_status == "sent"
    sent = LocalDelivery.objects.get(message=email)
    assert sent.recipient == "anna@example.com"
    assert sent.payload["reply_to"] == [f"help+{conversation.reply_token}@shop.example"]
    reply.refresh_from_db()
    assert reply.metadata["chat"]["continuity"] == {
        "emailed_as": email.pk,
        "to": "anna@example.com",
    }

    # The visitor answers the email: the hub threads it by the reply token.
    mailbox = conversation.endpoint
    answer = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            text="Perfetto, la ordino.",
            conversation_token=conversation.reply_token,
            subject="Re: Avete la taglia M?",
        )
    )
    assert answer.conversation_id == conversation.pk
    # Back on the site, the widget shows the email too, and writing brings the thread to chat.
    state = services.history(who)
    assert [m["text"] for m in state["messages"]] == [
        "Avete la taglia M?",
        "Sì, la M arriva domani.",
        "Perfetto, la ordino.",
    ]  # the email copy of the reply is not shown twice
    services.send_message(who, "Ah, e la L?", "m2")
    conversation.refresh_from_db()
    assert conversation.channel == "chat" and conversation.endpoint_id == chat.pk
    assert Conversation.objects.count() == 1


def test_the_email_answer_through_the_email_channel(chat, agent, on_commit):
    from channels_email import services as email_services

    _, _, conversation = _chatting(chat)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), on_commit():
        send_reply(conversation, text="Sì, arriva domani.", author=agent)
    with time_machine.travel(T0 + timedelta(seconds=75), tick=False), on_commit():
        assert continuity.email_unseen_replies(conversation.pk) == "emailed"
    sent = LocalDelivery.objects.get(channel="email", message__isnull=False)  # not the code
    raw = EmailMessage()
    raw["From"] = "Anna Rossi <anna@example.com>"
    raw["To"] = sent.payload["reply_to"][0]
    raw["Subject"] = f"Re: {sent.subject}"
    raw["Message-ID"] = "<answer-1@example.com>"
    raw["In-Reply-To"] = sent.payload["headers"]["Message-ID"]
    raw["Date"] = "Mon, 04 May 2026 09:05:00 +0000"
    raw.set_content("Grazie, la ordino.\n\nOn Mon someone wrote:\n> Sì, arriva domani.\n")
    email_services.ingest_raw_email(raw.as_bytes(), source="test")
    answer = Message.objects.filter(direction="in", channel="email").get()
    assert answer.conversation_id == conversation.pk
    assert answer.text.startswith("Grazie, la ordino.")


def test_nothing_is_emailed_while_the_visitor_is_present_or_has_seen_it(chat, agent, on_commit):
    _, who, conversation = _chatting(chat)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), on_commit():
        reply = send_reply(conversation, text="Un attimo…", author=agent)
    presence.socket_opened(who.identity.pk)
    try:
        with time_machine.travel(T0 + timedelta(seconds=90), tick=False):
            assert continuity.email_unseen_replies(conversation.pk) == "present"
    finally:
        presence.socket_closed(who.identity.pk)
    services.mark_seen(who, reply.pk)
    reply.refresh_from_db()
    assert reply.delivery_status == "read"
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert continuity.email_unseen_replies(conversation.pk) == "nothing"
    assert not LocalDelivery.objects.filter(message__isnull=False).exists()  # (the code aside)


def test_without_an_email_address_the_agents_are_told_once(chat, agent, on_commit):
    _, _, conversation = _chatting(chat, email="")
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), on_commit():
        send_reply(conversation, text="Eccomi!", author=agent)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert continuity.email_unseen_replies(conversation.pk) == "no_address"
        assert continuity.email_unseen_replies(conversation.pk) == "nothing"
    assert conversation.messages.filter(event_type="chat_continuity_unavailable").count() == 1
    conversation.refresh_from_db()
    assert conversation.channel == "chat"


def test_continuity_can_be_turned_off(chat, agent, on_commit):
    chat.settings = {"email_continuity": False}
    chat.save()
    _, _, conversation = _chatting(chat)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False), on_commit():
        send_reply(conversation, text="Eccomi!", author=agent)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert continuity.email_unseen_replies(conversation.pk) == "off"


def test_a_reply_schedules_the_check_after_the_delay(chat, agent, on_commit):
    _, _, conversation = _chatting(chat)
    patched = mock.patch("channels_chat.tasks.email_unseen_replies.apply_async")
    with patched as scheduled, on_commit():
        send_reply(conversation, text="Eccomi!", author=agent)
    scheduled.assert_called_once_with((conversation.pk,), countdown=60)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_last_socket_closing_with_unseen_replies_schedules_the_check(chat, agent):
    token, _, conversation = await sync_to_async(_chatting)(chat)
    await sync_to_async(send_reply)(conversation, text="Risposta", author=agent)
    ws = await socket(chat)
    ready = await hello(ws, token)
    assert ready["messages"][-1]["seen"] is False
    with mock.patch("channels_chat.tasks.email_unseen_replies.apply_async") as scheduled:
        await ws.disconnect()
    scheduled.assert_called_once_with((conversation.pk,), countdown=60)


def test_compose_notices_say_whether_the_visitor_is_there(chat, agent):
    from hub.services import check_reply

    _, who, conversation = _chatting(chat)
    presence.socket_opened(who.identity.pk)
    try:
        notices = check_reply(conversation, "Ciao").notices
        assert [n.code for n in notices] == ["visitor_online"]
    finally:
        presence.socket_closed(who.identity.pk)
    with time_machine.travel(datetime.now().astimezone() + timedelta(minutes=10)):
        notice = check_reply(conversation, "Ciao").notices[0]
    assert notice.code == "visitor_offline" and "anna@example.com" in notice.message
