"""Proactive greeting rules: which page, which language, once per visitor, and on the timeline
(as an outbound bot message, before the answer) when the visitor answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from channels_chat import greetings, services
from channels_chat.models import GreetingDisplay, GreetingRule
from hub.models import Message
from tests.chat_helpers import chat_endpoint, chat_limits, visitor

pytestmark = pytest.mark.django_db
__all__ = ["chat_limits"]


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


@pytest.fixture
def endpoint():
    return chat_endpoint()


def rule(endpoint, **kwargs):
    kwargs.setdefault("name", "Pricing")
    kwargs.setdefault("url_pattern", "/pricing*")
    kwargs.setdefault("delay_seconds", 8)
    kwargs.setdefault("message_en", "Questions about our plans?")
    kwargs.setdefault("message_it", "Domande sui nostri piani?")
    return GreetingRule.objects.create(endpoint=endpoint, **kwargs)


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("*", "https://shop.example/", True),
        ("/pricing*", "https://shop.example/pricing", True),
        ("/pricing*", "https://shop.example/pricing/teams?x=1", True),
        ("/pricing*", "https://shop.example/about", False),
        ("/products/*/reviews", "https://shop.example/products/42/reviews", True),
        ("/checkout?step=2", "https://shop.example/checkout?step=2", True),
        ("https://blog.example/*", "https://blog.example/post", True),
        ("https://blog.example/*", "https://shop.example/post", False),
    ],
)
def test_url_patterns(endpoint, pattern, url, expected):
    assert rule(endpoint, url_pattern=pattern).matches(url) is expected


def test_a_rule_needs_a_message_and_a_chat_endpoint(endpoint):
    with pytest.raises(ValidationError):
        GreetingRule(endpoint=endpoint, name="x", message_en=" ", message_it="").clean()
    mailbox = chat_endpoint()
    mailbox.channel = "email"
    mailbox.save()
    with pytest.raises(ValidationError):
        GreetingRule(endpoint=mailbox, name="x", message_en="Hi").clean()


def test_offered_per_page_and_language_and_shown_once(endpoint):
    pricing = rule(endpoint)
    rule(endpoint, name="Off", is_active=False, url_pattern="*")
    rule(chat_endpoint(), name="Other site", url_pattern="*")
    only_en = rule(endpoint, name="Docs", url_pattern="/docs*", message_it="", position=1)
    _, who = visitor(endpoint)

    assert greetings.eligible(who, "https://shop.example/about", "en") == []
    offers = greetings.eligible(who, "https://shop.example/pricing", "it")
    assert offers == [{"id": pricing.pk, "delay": 8, "text": "Domande sui nostri piani?"}]
    assert greetings.eligible(who, "https://shop.example/docs", "it")[0]["text"] == (
        only_en.message_en
    )

    shown = greetings.mark_shown(who, pricing.pk, "https://shop.example/pricing", "it")
    assert shown["text"] == "Domande sui nostri piani?"
    assert greetings.mark_shown(who, pricing.pk, "https://shop.example/pricing", "it") is None
    assert greetings.eligible(who, "https://shop.example/pricing", "it") == []
    assert GreetingDisplay.objects.count() == 1
    _, someone_else = visitor(endpoint)
    assert len(greetings.eligible(someone_else, "https://shop.example/pricing", "en")) == 1


def test_no_greeting_while_the_visitor_is_chatting(endpoint):
    rule(endpoint, url_pattern="*")
    _, who = visitor(endpoint)
    services.send_message(who, "Hi", "m1")
    assert greetings.eligible(who, "https://shop.example/", "en") == []


def test_answered_greeting_is_stored_before_the_answer(endpoint):
    pricing = rule(endpoint)
    _, who = visitor(endpoint, language="it")
    with time_machine.travel("2026-03-02 10:00:00Z", tick=False):
        greetings.mark_shown(who, pricing.pk, "https://shop.example/pricing", "it")
    with time_machine.travel("2026-03-02 10:00:30Z", tick=False):
        answer = services.send_message(who, "Sì, quanto costa il piano Pro?", "m1")
    conversation = answer.conversation
    stored = Message.objects.get(conversation=conversation, direction="out")
    assert stored.text == "Domande sui nostri piani?"
    assert stored.metadata["bot"] == "greeting"
    assert stored.metadata["chat"]["greeting_rule"] == pricing.pk
    assert stored.occurred_at < answer.occurred_at
    assert stored.delivery_status == "delivered" and stored.author is None
    timeline = list(conversation.messages.filter(kind="message").values_list("text", flat=True))
    assert timeline == ["Domande sui nostri piani?", "Sì, quanto costa il piano Pro?"]
    conversation.refresh_from_db()
    assert conversation.last_outbound_at is None  # a greeting is not the team's first response
    assert GreetingDisplay.objects.get().message == stored
    # Visible to the visitor on resync; stored once.
    state = services.history(who)
    assert [m.get("greeting", False) for m in state["messages"]] == [True, False]
    services.send_message(who, "E il piano Team?", "m2")
    assert Message.objects.filter(metadata__bot="greeting").count() == 1


def test_a_greeting_seen_long_ago_is_not_stored(endpoint):
    pricing = rule(endpoint)
    _, who = visitor(endpoint)
    with time_machine.travel("2026-03-01 10:00Z", tick=False):
        greetings.mark_shown(who, pricing.pk, "https://shop.example/pricing", "en")
    with time_machine.travel("2026-03-01 10:00Z", tick=False) as clock:
        clock.shift(timedelta(days=2))
        services.send_message(who, "Hello", "m1")
    assert not Message.objects.filter(direction="out").exists()


def test_the_widget_api_offers_and_records_greetings(endpoint):
    pricing = rule(endpoint, url_pattern="/pricing")
    client = Client()

    def call(path, body):
        return client.post(f"/chat/api/{path}/", json.dumps(body), content_type="text/plain")

    token = call("session", {"endpoint": endpoint.public_key}).json()["token"]
    view = call(
        "pageview",
        {
            "endpoint": endpoint.public_key,
            "token": token,
            "url": "https://shop.example/pricing",
            "language": "en",
        },
    )
    assert view.json()["greetings"] == [
        {"id": pricing.pk, "delay": 8, "text": "Questions about our plans?"}
    ]
    body = {
        "endpoint": endpoint.public_key,
        "token": token,
        "rule": pricing.pk,
        "url": "https://shop.example/pricing",
        "language": "en",
    }
    assert call("greeting", body).json()["shown"] is True
    assert call("greeting", body).json() == {"shown": False}
    assert call("greeting", {**body, "rule": 999999}).status_code == 404


def test_admin_edits_rules(admin_client, endpoint):
    response = admin_client.post(
        "/admin/channels_chat/greetingrule/add/",
        {
            "endpoint": endpoint.pk,
            "name": "Home",
            "url_pattern": "/",
            "delay_seconds": 5,
            "message_en": "Hello!",
            "message_it": "Ciao!",
            "position": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert GreetingRule.objects.get().message_it == "Ciao!"
    assert admin_client.get("/admin/channels_chat/greetingdisplay/").status_code == 200
