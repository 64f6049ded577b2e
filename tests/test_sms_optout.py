"""Opt-out and opt-in keywords received by SMS and WhatsApp: the identity of that channel is
opted out or back in, the timeline says so, and sends are refused meanwhile."""

from __future__ import annotations

import pytest

from crm.models import Identity
from hub import adapters
from hub.models import Message
from hub.services import check_reply, send_reply
from tests.sms_fixtures import (
    INBOUND_PATH,
    WHATSAPP_NUMBER,
    inbound_params,
    signed_post,
    sms_endpoint,
    whatsapp_endpoint,
)

pytestmark = pytest.mark.django_db

PERSON = "+393471234567"


@pytest.fixture
def sms(endpoint_for):
    return sms_endpoint(endpoint_for)


@pytest.fixture
def whatsapp(endpoint_for):
    return whatsapp_endpoint(endpoint_for)


def sms_from_person(client, body, n):
    params = inbound_params(sender=PERSON, body=body, sid=f"SM{n:032d}")
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    return Message.objects.get(provider_message_id=f"SM{n:032d}")


def events(kind):
    return Message.objects.filter(kind="event", event_type=kind)


@pytest.mark.parametrize(
    "keyword",
    [
        "STOP",
        "unsubscribe",
        "Cancel",
        "END",
        "quit",
        "STOPALL",
        "Revoke",
        "OPTOUT",
        "Arresta",
        "BASTA",
        "Disiscrivi",
    ],
)
def test_opt_out_keyword(client, sms, keyword):
    first = sms_from_person(client, "Ciao", 1)
    stop = sms_from_person(client, keyword, 2)
    identity = Identity.objects.get(kind="phone", value=PERSON)
    assert identity.opted_out_at is not None
    assert stop.text == keyword  # the message itself stays on the timeline
    event = events("opted_out").get()
    assert event.conversation_id == first.conversation_id
    assert event.metadata["keyword"] == keyword.upper()
    assert "opted out of SMS messages" in event.text
    check = check_reply(first.conversation, "Ciao?")
    assert not check.allowed and check.code == "opted_out"
    with pytest.raises(adapters.OutboundRefused):
        send_reply(first.conversation, text="Ciao?")


@pytest.mark.parametrize("keyword", ["START", "yes", "UNSTOP", "Iscrivi", "riprendi"])
def test_opt_in_keyword_clears_the_opt_out(client, sms, keyword):
    first = sms_from_person(client, "STOP", 1)
    sms_from_person(client, keyword, 2)
    assert Identity.objects.get(kind="phone").opted_out_at is None
    assert events("opted_in").count() == 1
    assert check_reply(first.conversation, "Bentornato!").allowed


def test_keywords_only_when_alone_and_only_once(client, sms):
    sms_from_person(client, "please stop sending the parcel to my old address", 1)
    assert Identity.objects.get().opted_out_at is None
    sms_from_person(client, "START", 2)  # not opted out: nothing to record
    assert not events("opted_in").exists()
    sms_from_person(client, "stop", 3)
    sms_from_person(client, "STOP", 4)
    assert events("opted_out").count() == 1
    # Twilio's retry of the STOP message changes nothing more.
    params = inbound_params(sender=PERSON, body="STOP", sid=f"SM{4:032d}")
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    assert events("opted_out").count() == 1


def test_opt_out_is_per_channel(client, sms, whatsapp):
    sms_from_person(client, "Ciao", 1)
    wa = inbound_params(
        sender=f"whatsapp:{PERSON}",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        sid="SM" + "w" * 32,
        body="Ciao da WhatsApp",
    )
    assert signed_post(client, INBOUND_PATH, wa).status_code == 200
    sms_from_person(client, "STOP", 2)
    phone = Identity.objects.get(kind="phone")
    on_whatsapp = Identity.objects.get(kind="whatsapp")
    assert phone.contact_id == on_whatsapp.contact_id
    assert phone.opted_out_at is not None and on_whatsapp.opted_out_at is None
    wa_conversation = Message.objects.get(provider_message_id="SM" + "w" * 32).conversation
    assert check_reply(wa_conversation, "Ciao").allowed


def test_whatsapp_stop_opts_out_the_whatsapp_identity(client, whatsapp):
    params = inbound_params(
        sender=f"whatsapp:{PERSON}", to=f"whatsapp:{WHATSAPP_NUMBER}", body="Stop"
    )
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    identity = Identity.objects.get(kind="whatsapp")
    assert identity.opted_out_at is not None
    assert "opted out of WhatsApp messages" in events("opted_out").get().text


def test_keywords_neither_start_the_reply_clock_nor_reopen(client, sms):
    from hub.models import Conversation
    from hub.services import resolve

    first = sms_from_person(client, "Ciao", 1)
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.waiting_since is not None  # a real message waits for an answer
    send_reply(conversation, text="Eccoci")
    conversation.refresh_from_db()
    assert conversation.waiting_since is None
    sms_from_person(client, "STOP", 2)
    conversation.refresh_from_db()
    assert conversation.waiting_since is None and conversation.due_at is None
    resolve(conversation)
    sms_from_person(client, "START", 3)
    conversation.refresh_from_db()
    assert conversation.status == "resolved"  # nothing to answer: no reopening
    assert Message.objects.filter(provider_message_id=f"SM{3:032d}").exists()
