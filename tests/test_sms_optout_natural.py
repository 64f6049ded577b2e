"""Natural-language opt-out and opt-in by SMS and WhatsApp (issue 17): clear requests take
effect with a confirmation in the person's language; unsure ones become a suggestion an agent
confirms or dismisses in one click, and hold the number out of automatic messages meanwhile."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Identity
from hub import adapters
from hub.models import Conversation, Message
from hub.services import check_reply, send_reply
from hub.services import sla as sla_service
from hub.services.handoff import target_address
from tests.api_helpers import client_for
from tests.factories import TeamFactory, UserFactory
from tests.inbox_helpers import htmx
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


def sms_from_person(client, body, n=1):
    params = inbound_params(sender=PERSON, body=body, sid=f"SM{n:032d}")
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    return Message.objects.get(provider_message_id=f"SM{n:032d}")


def whatsapp_from_person(client, body, n=1):
    params = inbound_params(sender=f"whatsapp:{PERSON}", to=f"whatsapp:{WHATSAPP_NUMBER}",
                            body=body, sid=f"SM{n:032d}")
    assert signed_post(client, INBOUND_PATH, params).status_code == 200
    return Message.objects.get(provider_message_id=f"SM{n:032d}")


def events(kind):
    return Message.objects.filter(kind="event", event_type=kind)


def confirmations():
    return Message.objects.filter(direction=Message.Direction.OUTBOUND, metadata__has_key="consent")


def phone():
    return Identity.objects.get(kind="phone", value=PERSON)


@pytest.mark.parametrize(
    "text",
    [
        "please quit texting me",
        "niente più sms per favore",
        "toglietemi dai vostri contatti",
        "remove my number from your list",
    ],
)
def test_natural_opt_outs_from_the_issue(client, sms, text):
    first = sms_from_person(client, "Ciao", 1)
    request = sms_from_person(client, text, 2)
    assert phone().opted_out_at is not None
    event = events("opted_out").get()
    assert event.conversation_id == first.conversation_id
    assert event.metadata["message_id"] == request.pk and event.metadata["rule"]
    assert check_reply(first.conversation, "Ciao?").code == "opted_out"
    # The confirmation went out before the opt-out took effect, and nothing waits on an agent.
    assert confirmations().get().metadata["consent"] == "opt_out_confirmation"
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.waiting_since is not None  # still the "Ciao" clock, not restarted
    assert not events("opt_out_suggested").exists()


@pytest.mark.parametrize("text", ["potete rimettermi gli avvisi?", "ok send me updates again"])
def test_natural_opt_ins_from_the_issue(client, whatsapp, text):
    whatsapp_from_person(client, "Stop", 1)
    whatsapp_identity = Identity.objects.get(kind="whatsapp")
    assert whatsapp_identity.opted_out_at is not None
    whatsapp_from_person(client, text, 2)
    whatsapp_identity.refresh_from_db()
    assert whatsapp_identity.opted_out_at is None
    assert events("opted_in").count() == 1
    sent = confirmations().order_by("pk")
    assert [m.metadata["consent"] for m in sent] == ["opt_out_confirmation", "opt_in_confirmation"]


@pytest.mark.parametrize(
    "text", ["the mixer won't stop making noise", "fermate la consegna, cambio indirizzo"]
)
def test_a_message_merely_containing_the_word_is_not_an_opt_out(client, sms, text):
    message = sms_from_person(client, text)
    assert phone().opted_out_at is None and phone().opt_out_pending_at is None
    assert not events("opted_out").exists() and not events("opt_out_suggested").exists()
    assert Conversation.objects.get(pk=message.conversation_id).waiting_since is not None


def test_confirmation_in_italian_for_an_italian_contact(client, sms):
    sms_from_person(client, "Ciao", 1)
    contact = phone().contact
    contact.language = "it"
    contact.save()
    sms_from_person(client, "please stop sending me messages", 2)
    assert confirmations().get().text.startswith("Non riceverai più messaggi SMS da noi")


def test_confirmation_in_english_by_default_and_in_the_endpoints_language(client, endpoint_for):
    endpoint = sms_endpoint(endpoint_for, language="it")
    sms_from_person(client, "no more texts pls", 1)
    assert confirmations().get().text.startswith("Non riceverai")
    endpoint.settings.pop("language")
    endpoint.save()
    sms_from_person(client, "START", 2)  # Twilio answers its own keywords on SMS
    assert confirmations().count() == 1
    sms_from_person(client, "basta sms", 3)
    assert confirmations().latest("pk").text.startswith("You will receive no more SMS messages")


def test_twilio_keywords_on_sms_get_no_second_confirmation_but_on_whatsapp_do(client, sms,
                                                                              whatsapp):
    sms_from_person(client, "STOP", 1)
    assert phone().opted_out_at is not None and not confirmations().exists()
    whatsapp_from_person(client, "STOP", 2)
    assert confirmations().get().channel == "whatsapp"


@pytest.fixture
def unsure(client, sms):
    """An SMS conversation whose person asked how to stop the texts."""
    sms_from_person(client, "Ciao", 1)
    conversation = Conversation.objects.get()
    send_reply(conversation, text="Buongiorno!")
    question = sms_from_person(client, "how do I stop the promo texts?", 2)
    return SimpleNamespace(conversation=Conversation.objects.get(), message=question)


def test_an_unsure_message_is_a_suggestion_that_holds_automatic_messages(unsure):
    identity = phone()
    assert identity.opted_out_at is None and identity.opt_out_pending_at is not None
    suggestion = events("opt_out_suggested").get()
    assert suggestion.metadata["state"] == "pending"
    assert suggestion.metadata["message_id"] == unsure.message.pk
    assert unsure.conversation.waiting_since is not None  # an agent must answer it
    with pytest.raises(adapters.OutboundRefused) as refused:
        send_reply(unsure.conversation, text="We will answer soon", automatic=True)
    assert refused.value.code == "opt_out_pending"
    assert target_address(unsure.conversation, "sms", automatic=True) is None
    # The SLA sweep's expectation message is one of those automatic messages.
    sla_service.hand_off_in_time(
        unsure.conversation, SimpleNamespace(handoff_channels=["email"]), None
    )
    assert "may have asked to opt out" in events("handoff_failed").get().text
    # An agent may still write, with a warning in the composer.
    check = check_reply(unsure.conversation, "Hello")
    assert check.allowed
    assert [n.code for n in check.notices if n.level == "warning"] == ["opt_out_pending"]
    send_reply(unsure.conversation, text="You can reply STOP")


def post_decision(client, conversation, decision, identity=None):
    return client.post(
        reverse("inbox:opt-out", args=[conversation.pk]),
        {"identity": identity or phone().pk, "decision": decision},
        **htmx(),
    )


def test_an_agent_confirms_the_suggestion_in_one_click(agent, unsure):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    page = client.get(reverse("inbox:conversation", args=[unsure.conversation.pk]))
    html = page.content.decode()
    assert "Looks like an opt-out: confirm?" in html
    assert reverse("inbox:opt-out", args=[unsure.conversation.pk]) in html
    assert post_decision(client, unsure.conversation, "confirm").status_code == 403  # no CSRF
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    response = client.post(
        reverse("inbox:opt-out", args=[unsure.conversation.pk]),
        {"identity": phone().pk, "decision": "confirm"},
        HTTP_X_CSRFTOKEN=token,
        **htmx(),
    )
    assert response.status_code == 200
    identity = phone()
    assert identity.opted_out_at is not None and identity.opt_out_pending_at is None
    assert events("opted_out").get().author_id == agent.pk
    assert events("opt_out_suggested").get().metadata["state"] == "confirmed"
    assert events("opt_out_confirmed").exists()
    assert confirmations().get().metadata["consent"] == "opt_out_confirmation"
    again = client.post(
        reverse("inbox:opt-out", args=[unsure.conversation.pk]),
        {"identity": identity.pk, "decision": "confirm"},
        HTTP_X_CSRFTOKEN=token,
        **htmx(),
    )
    assert again.status_code == 422  # nothing left to decide


def test_an_agent_dismisses_the_suggestion(agent, unsure):
    client = Client()
    client.force_login(agent)
    assert post_decision(client, unsure.conversation, "dismiss").status_code == 200
    identity = phone()
    assert identity.opted_out_at is None and identity.opt_out_pending_at is None
    assert events("opt_out_suggested").get().metadata["state"] == "dismissed"
    send_reply(unsure.conversation, text="We will answer soon", automatic=True)
    assert not confirmations().exists()


def test_another_teams_agent_gets_404(unsure):
    outsider = UserFactory()
    TeamFactory().members.add(outsider)
    client = Client()
    client.force_login(outsider)
    assert post_decision(client, unsure.conversation, "confirm").status_code == 404
    api = client_for(outsider)
    url = f"/api/v1/conversations/{unsure.conversation.pk}/opt-out/"
    assert api.post(url, {"identity": phone().pk, "decision": "confirm"}).status_code == 404
    assert phone().opt_out_pending_at is not None and phone().opted_out_at is None


def test_the_api_confirms_or_dismisses(agent, unsure):
    api = client_for(agent)
    url = f"/api/v1/conversations/{unsure.conversation.pk}/opt-out/"
    bad = api.post(url, {"identity": phone().pk, "decision": "maybe"}, format="json")
    assert bad.status_code == 400 and "decision" in bad.json()
    wrong = api.post(url, {"identity": 999999, "decision": "dismiss"}, format="json")
    assert wrong.status_code == 400
    response = api.post(url, {"identity": phone().pk, "decision": "dismiss"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == unsure.conversation.pk
    assert phone().opt_out_pending_at is None
    again = api.post(url, {"identity": phone().pk, "decision": "confirm"}, format="json")
    assert again.status_code == 400


def test_an_unsure_opt_in_from_an_opted_out_person_is_suggested(client, sms, agent):
    sms_from_person(client, "STOP", 1)
    sms_from_person(client, "why am I not getting your texts any more?", 2)
    assert phone().opted_out_at is not None
    suggestion = events("opt_out_suggested").get()
    assert suggestion.metadata["intent"] == "opt_in"
    api = client_for(agent)
    url = f"/api/v1/conversations/{suggestion.conversation_id}/opt-out/"
    assert api.post(url, {"identity": phone().pk, "decision": "confirm"}).status_code == 200
    assert phone().opted_out_at is None


def test_an_italian_agent_sees_the_suggestion_in_italian(agent, unsure):
    from inbox.models import AgentProfile

    AgentProfile.objects.create(user=agent, language="it", time_zone="Europe/Rome")
    client = Client()
    client.force_login(agent)
    html = client.get(reverse("inbox:conversation", args=[unsure.conversation.pk])).content
    html = html.decode()
    assert "Sembra una richiesta di disiscrizione: confermi?" in html
    assert "Conferma disiscrizione" in html and "Ignora" in html
    wrong = client.post(reverse("inbox:opt-out", args=[unsure.conversation.pk]),
                        {"identity": phone().pk, "decision": "maybe"}, **htmx())
    assert wrong.status_code == 422 and "Scegli se confermare o ignorare." in wrong.content.decode()


def test_a_clear_request_after_a_suggestion_settles_it(client, unsure):
    sms_from_person(client, "STOP", 3)
    identity = phone()
    assert identity.opted_out_at is not None and identity.opt_out_pending_at is None
    assert events("opt_out_suggested").get().metadata["state"] == "superseded"
