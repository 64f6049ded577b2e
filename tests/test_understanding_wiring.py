"""The understanding layer in the hub: every channel's inbound message stores its analysis, the
contact learns its language (a choice wins), automatic messages follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from channels_chat import services as chat_services
from channels_email.services import ingest_raw_email
from crm.models import Contact
from crm.services import add_identity
from hub.models import Message, TtlPolicy
from hub.services import ingest
from hub.services import sla as sla_service
from hub.services.understanding import VERSION, language_for
from tests.chat_helpers import chat_endpoint, visitor
from tests.factories import EndpointFactory, inbound
from tests.sms_fixtures import (
    INBOUND_PATH,
    WHATSAPP_NUMBER,
    inbound_params,
    signed_post,
    sms_endpoint,
    whatsapp_endpoint,
)
from understanding import analyse

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday
WHY_IT = "Perché il mio ordine è in ritardo?"
WHEN_EN = "What time do you open tomorrow?"


def _email(endpoint, text: str, sender="anna@example.com", message_id="<m1@example.com>"):
    raw = EmailMessage()
    raw["From"] = f"Anna Rossi <{sender}>"
    raw["To"] = endpoint.address
    raw["Subject"] = "Ordine"
    raw["Message-ID"] = message_id
    raw["Date"] = "Tue, 24 Nov 2026 09:00:00 +0000"
    raw.set_content(text)
    ingest_raw_email(raw.as_bytes(), source="test")
    return Message.objects.get(channel="email", provider_message_id__contains=message_id[1:-1])


def _twilio(client, text: str, *, whatsapp: bool, sid="SM" + "2" * 32):
    params = inbound_params(body=text, sid=sid)
    if whatsapp:
        params.update(From="whatsapp:+393471234567", To=f"whatsapp:{WHATSAPP_NUMBER}")
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    return Message.objects.get(provider_message_id=sid)


def _api(endpoint, agent, text: str, address="ext-1"):
    client = APIClient()
    client.force_authenticate(agent)
    response = client.post(
        "/api/v1/inbound/",
        {"endpoint": endpoint.pk, "sender": {"address": address}, "text": text},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    return Message.objects.get(pk=response.json()["message"]["id"]), response.json()


@pytest.fixture
def inbound_on(endpoint_for, client, agent):
    """``inbound_on(channel, text)``: the stored message of ``text`` arriving on that channel
    through the channel's own way in."""

    def arrive(channel: str, text: str) -> Message:
        if channel == "email":
            return _email(endpoint_for("email"), text)
        if channel == "sms":
            sms_endpoint(endpoint_for)
            return _twilio(client, text, whatsapp=False)
        if channel == "whatsapp":
            whatsapp_endpoint(endpoint_for)
            return _twilio(client, text, whatsapp=True)
        if channel == "chat":
            _, who = visitor(chat_endpoint())
            return chat_services.send_message(who, text, "c1")
        return _api(endpoint_for("api"), agent, text)[0]

    return arrive


@pytest.mark.parametrize("channel", ["email", "sms", "whatsapp", "chat", "api"])
def test_every_channel_stores_the_analysis_and_teaches_the_language(inbound_on, channel):
    message = inbound_on(channel, WHY_IT)
    message.refresh_from_db()
    analysis = message.analysis
    assert analysis["version"] == VERSION
    assert analysis["language"] == "it" and analysis["language_confidence"] >= 0.8
    assert [(q["text"], q["kind"]) for q in analysis["questions"]] == [(WHY_IT, "why")]
    assert analysis["temperature"] in ("calm", "urgent", "annoyed", "angry")
    contact = message.sender_identity.contact
    assert (contact.language, contact.language_source) == ("it", "learned")


def test_an_english_question_over_the_api_is_read_as_english_when(api_endpoint, agent):
    message, body = _api(api_endpoint, agent, WHEN_EN)
    assert body["message"]["analysis"]["language"] == "en"
    assert [q["kind"] for q in body["message"]["analysis"]["questions"]] == ["when"]
    assert message.analysis == body["message"]["analysis"]


def test_outbound_messages_notes_and_events_have_no_analysis(api_endpoint, agent):
    from hub.services import add_note, send_reply

    message, _ = _api(api_endpoint, agent, WHEN_EN)
    reply = send_reply(message.conversation, text="At nine.", author=agent)
    note = add_note(message.conversation, author=agent, text="Asked for hours")
    assert reply.analysis is None and note.analysis is None


def test_a_short_text_reads_with_the_contacts_language_and_teaches_nothing(api_endpoint):
    first = ingest(inbound(api_endpoint, "ext-9", text="Hello, I wrote yesterday about my order"))
    contact = first.sender_identity.contact
    assert (contact.language, contact.language_source) == ("en", "learned")
    ok = ingest(inbound(api_endpoint, "ext-9", text="ok"))
    assert ok.analysis == analyse("ok", language_prior="en", channel="api").as_dict()
    assert ok.analysis["language"] == "en"  # the prior, not a guess
    ingest(inbound(api_endpoint, "ext-9", text="ok grazie"))
    contact.refresh_from_db()
    assert (contact.language, contact.language_source) == ("en", "learned")


def test_a_short_text_of_someone_new_uses_the_endpoints_language_else_unknown(endpoint_for):
    plain = endpoint_for("api")
    italian = EndpointFactory(channel="api", address="it-source", settings={"language": "it"})
    assert ingest(inbound(plain, "new-1", text="ok")).analysis["language"] == ""
    stored = ingest(inbound(italian, "new-2", text="ok"))
    assert stored.analysis["language"] == "it"
    contact = stored.sender_identity.contact
    assert (contact.language, contact.language_source) == ("", "")  # nothing learned from "ok"


def test_an_explicit_language_wins_over_what_the_messages_say(api_endpoint, agent):
    message, _ = _api(api_endpoint, agent, "Hello, I wrote yesterday about my order")
    contact = message.sender_identity.contact
    client = APIClient()
    client.force_authenticate(agent)
    response = client.patch(f"/api/v1/contacts/{contact.pk}/", {"language": "de"}, format="json")
    assert response.status_code == 200
    assert (response.json()["language"], response.json()["language_source"]) == (
        "de",
        "explicit",
    )
    _api(api_endpoint, agent, "Ciao, ho scritto ieri per il mio ordine e nessuno risponde")
    contact.refresh_from_db()
    assert (contact.language, contact.language_source) == ("de", "explicit")
    assert Message.objects.filter(direction="in").last().analysis["language"] == "it"


def test_the_chat_widgets_language_is_a_choice_over_a_learned_one():
    chat = chat_endpoint()
    token, who = visitor(chat)
    chat_services.send_message(who, "Buongiorno, vorrei sapere quando arriva il mio ordine", "a")
    contact = Contact.objects.get(pk=who.identity.contact_id)
    assert (contact.language, contact.language_source) == ("it", "learned")
    chat_services.start_session(chat, token, language="en-GB")
    contact.refresh_from_db()
    assert (contact.language, contact.language_source) == ("en", "explicit")


def test_language_for_automatic_messages_chosen_then_learned_then_endpoint(endpoint_for):
    endpoint = EndpointFactory(channel="sms", address="+390200000001", settings={"language": "it"})
    contact = Contact.objects.create()
    assert language_for(contact, endpoint) == "it"
    contact.language, contact.language_source = "en", "learned"
    assert language_for(contact, endpoint) == "en"
    contact.language = "fr"  # no template language: the endpoint's
    assert language_for(contact, endpoint) == "it"


def test_an_italian_whatsapp_writer_gets_the_italian_expectation_message(
    endpoint_for, client, on_commit
):
    """The reported bug: the expectation message went out in English."""
    whatsapp_endpoint(endpoint_for)
    endpoint_for("email")
    TtlPolicy.objects.update_or_create(
        channel="whatsapp",
        endpoint=None,
        defaults={
            "first_response": timedelta(minutes=10),
            "handoff_mode": TtlPolicy.HandoffMode.AUTOMATIC,
            "handoff_channels": ["email"],
        },
    )
    with time_machine.travel(T0, tick=False):
        message = _twilio(
            client, "Buongiorno, vorrei sapere quando arriva il mio ordine", whatsapp=True
        )
    contact = message.sender_identity.contact
    add_identity(contact, "email", "mario@example.com")
    with on_commit(), time_machine.travel(T0 + timedelta(minutes=8), tick=False):
        assert sla_service.sweep().handoffs == 1
    expectation = Message.objects.get(direction="out", metadata__sla="expectation")
    assert expectation.channel == "whatsapp"
    assert expectation.text.startswith("Ci serve ancora un po' di tempo per verificare")


def test_analyse_messages_recomputes_old_analyses_and_the_contacts_language(api_endpoint):
    message = ingest(inbound(api_endpoint, "ext-5", text="Ciao, vorrei sapere dove siete"))
    contact = message.sender_identity.contact
    Message.objects.filter(pk=message.pk).update(
        analysis={**message.analysis, "version": "2000.1.1", "language": "en", "questions": []}
    )
    Contact.objects.filter(pk=contact.pk).update(language="en", language_source="learned")
    other = ingest(inbound(api_endpoint, "ext-6", text="Hello, where are you based?"))

    call_command("analyse_messages", "--since", "2000-01-01", "--version-below", "2001.1")
    message.refresh_from_db()
    contact.refresh_from_db()
    assert message.analysis["version"] == VERSION and message.analysis["language"] == "it"
    assert [q["kind"] for q in message.analysis["questions"]] == ["where"]
    assert (contact.language, contact.language_source) == ("it", "learned")
    assert Message.objects.get(pk=other.pk).analysis == other.analysis
    # Idempotent: run again (every version): nothing is written.
    with CaptureQueriesContext(connection) as queries:
        call_command("analyse_messages", "--since", "2000-01-01")
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]


def test_analyse_messages_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("analyse_messages", "--since", "yesterday")


def test_languages_set_before_the_upgrade_are_kept_as_choices():
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    widget = Contact.objects.create(language="it")  # as the chat widget set it before
    unknown = Contact.objects.create()
    learned = Contact.objects.create(language="en", language_source="learned")
    migration = importlib.import_module("crm.migrations.0007_existing_languages_are_choices")
    migration.mark_chosen(apps, SimpleNamespace(connection=connection))
    sources = dict(Contact.objects.values_list("pk", "language_source"))
    assert sources == {widget.pk: "explicit", unknown.pk: "", learned.pk: "learned"}
