"""The widget's HTTP API (session, resync, polling fallback), CORS per endpoint, limits, page
views, lead capture, the agent's email request, the demo page and the widget file itself."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from django.test import Client

from channels_chat import services, tokens
from crm.models import Identity
from crm.selectors import recent_page_views
from hub import adapters
from hub.models import Conversation, Message
from hub.services import add_note, request_email, send_reply
from tests.chat_helpers import chat_endpoint, chat_limits, one_rate_window, visitor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
__all__ = ["chat_limits"]
WIDGET = Path(__file__).resolve().parent.parent / "channels_chat" / "static" / "chat" / "widget.js"


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


def call(path, body, origin=None, **extra):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return Client().post(
        f"/chat/api/{path}/",
        json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        **headers,
        **extra,
    )


@pytest.fixture
def endpoint():
    return chat_endpoint(allowed_origins=["https://shop.example"])


def start(endpoint, **body):
    response = call("session", {"endpoint": endpoint.public_key, **body})
    assert response.status_code == 200, response.content
    return response.json()


def test_session_issues_a_token_and_keeps_the_visitor(endpoint):
    first = start(endpoint, language="it-IT")
    data = tokens.read(first["token"])
    assert data.endpoint_id == endpoint.pk
    identity = Identity.objects.get(kind="chat_visitor", value=data.visitor_id)
    assert identity.contact.language == "it"
    assert first["prechat"] == {"name": "optional", "email": "optional"}
    again = start(endpoint, token=first["token"])
    assert tokens.read(again["token"]).visitor_id == data.visitor_id
    forged = start(endpoint, token=first["token"] + "x")
    assert tokens.read(forged["token"]).visitor_id != data.visitor_id


def test_an_old_token_is_reissued_for_the_same_visitor(endpoint, settings):
    import time_machine

    with time_machine.travel("2025-01-01 10:00Z", tick=False):
        token = start(endpoint)["token"]
    with time_machine.travel("2025-09-01 10:00Z", tick=False):  # past half of 400 days
        fresh = start(endpoint, token=token)["token"]
        assert fresh != token
        assert tokens.read(fresh).visitor_id == tokens.read(token).visitor_id
    with time_machine.travel("2026-03-01 10:00Z", tick=False), pytest.raises(tokens.InvalidToken):
        tokens.read(token)  # the original expired


def test_cors_follows_the_endpoints_allowed_origins(endpoint):
    allowed = call("session", {"endpoint": endpoint.public_key}, origin="https://shop.example")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Origin" in allowed["Vary"]

    visitors = Identity.objects.filter(kind="chat_visitor").count()
    refused = call("session", {"endpoint": endpoint.public_key}, origin="https://evil.example")
    assert refused.status_code == 403 and refused.json()["error"] == "origin_not_allowed"
    assert not refused.has_header("Access-Control-Allow-Origin")
    assert Identity.objects.filter(kind="chat_visitor").count() == visitors

    same_site = call("session", {"endpoint": endpoint.public_key}, origin="http://testserver")
    assert same_site.status_code == 200

    preflight = Client().options(
        "/chat/api/send/",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]


def test_send_and_sync_through_http(endpoint):
    agent = UserFactory(first_name="Marco")
    token = start(endpoint)["token"]
    sent = call(
        "send",
        {
            "endpoint": endpoint.public_key,
            "token": token,
            "text": "Hi <b>there</b>",
            "client_id": "abc",
            "page_url": "https://shop.example/p/1",
        },
    )
    assert sent.status_code == 200, sent.content
    message = sent.json()["message"]
    assert message["text"] == "Hi <b>there</b>" and message["client_id"] == "abc"
    stored = Message.objects.get(pk=message["id"])
    assert stored.metadata["chat"]["page_url"] == "https://shop.example/p/1"
    conversation = stored.conversation
    assert conversation.channel == "chat" and conversation.subject == "Hi <b>there</b>"

    add_note(conversation, author=agent, text="internal only")
    send_reply(conversation, text="Hello from Marco", author=agent)
    synced = call("sync", {"endpoint": endpoint.public_key, "token": token, "after": message["id"]})
    assert synced.status_code == 200
    body = synced.json()
    assert [m["text"] for m in body["messages"] if m["id"] > message["id"]] == ["Hello from Marco"]
    assert body["messages"][-1]["author"] == "Marco"
    assert body["cursor"] > message["id"] and body["typing"] is False
    assert all("internal" not in m["text"] for m in body["messages"])

    seen = call("seen", {"endpoint": endpoint.public_key, "token": token, "up_to": body["cursor"]})
    assert seen.json() == {"updated": 1}
    reply = Message.objects.get(text="Hello from Marco")
    assert reply.delivery_status == "read"


def test_refusals_are_clear_4xx(endpoint, settings):
    token = start(endpoint)["token"]
    key = endpoint.public_key
    assert call("send", {"endpoint": "nope", "token": token, "text": "x"}).status_code == 404
    assert call("send", {"endpoint": key, "token": "forged", "text": "x"}).status_code == 401
    other = chat_endpoint()
    assert (
        call("send", {"endpoint": other.public_key, "token": token, "text": "x"}).status_code == 401
    )
    too_long = call("send", {"endpoint": key, "token": token, "text": "x" * 5001})
    assert too_long.status_code == 413 and too_long.json()["error"] == "too_long"
    empty = call("send", {"endpoint": key, "token": token, "text": "  \u0000 "})
    assert empty.status_code == 400 and empty.json()["error"] == "empty"
    not_json = Client().post("/chat/api/send/", b"{nope", content_type="text/plain")
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_json"
    huge = Client().post("/chat/api/send/", b"[" + b"1," * 20000 + b"1]", content_type="text/plain")
    assert huge.status_code == 413
    assert Client().get("/chat/api/send/").status_code == 405
    assert call("seen", {"endpoint": key, "token": token, "up_to": "all"}).status_code == 400
    assert call("send", {"endpoint": key, "token": token, "text": ["list"]}).status_code == 400

    settings.HUB_CHAT = {**settings.HUB_CHAT, "REQUESTS_PER_MINUTE_PER_IP": 3}
    with one_rate_window():
        statuses = [
            call("sync", {"endpoint": key, "token": token}, REMOTE_ADDR="203.0.113.9").status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = call("sync", {"endpoint": key, "token": token}, REMOTE_ADDR="203.0.113.9")
    assert int(limited["Retry-After"]) >= 1 and limited.json()["error"] == "rate_limited"


def test_new_visitors_per_address_are_limited(endpoint, settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "SESSIONS_PER_MINUTE_PER_IP": 2}
    with one_rate_window():
        statuses = [
            call(
                "session", {"endpoint": endpoint.public_key}, REMOTE_ADDR="203.0.113.50"
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_required_prechat_fields_come_before_the_first_message():
    endpoint = chat_endpoint(prechat={"name": "required", "email": "off"})
    token = start(endpoint)["token"]
    key = endpoint.public_key
    refused = call("send", {"endpoint": key, "token": token, "text": "Hello"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "details_required" and refused.json()["fields"] == ["name"]
    assert (
        call("details", {"endpoint": key, "token": token, "name": "Anna Rossi"}).status_code == 200
    )
    assert call("send", {"endpoint": key, "token": token, "text": "Hello"}).status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.contact.name == "Anna Rossi"


def test_page_views_and_time_on_page(endpoint):
    token = start(endpoint)["token"]
    key = endpoint.public_key
    first = call(
        "pageview",
        {
            "endpoint": key,
            "token": token,
            "url": "https://shop.example/",
            "title": "Home",
            "referrer": "https://search.example/?q=x",
        },
    )
    assert first.status_code == 200
    call(
        "pageview",
        {
            "endpoint": key,
            "token": token,
            "url": "https://shop.example/pricing",
            "title": "Pricing",
            "referrer": "javascript:alert(1)",
        },
    )
    left = call(
        "pageview/leave",
        {"endpoint": key, "token": token, "page_view": first.json()["page_view"], "seconds": 42},
    )
    assert left.json() == {"updated": True}
    bad = call("pageview", {"endpoint": key, "token": token, "url": "javascript:alert(1)"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_url"

    contact = Identity.objects.get(value=tokens.read(token).visitor_id).contact
    views = recent_page_views(contact, 10)
    assert [v.title for v in views] == ["Pricing", "Home"]
    assert views[0].referrer == ""  # only http(s) links are kept
    assert views[1].duration_seconds == 42 and views[1].referrer.startswith("https://search")
    assert len(recent_page_views(contact, 1)) == 1

    stranger = start(endpoint)["token"]
    sneaky = call(
        "pageview/leave",
        {"endpoint": key, "token": stranger, "page_view": views[0].pk, "seconds": 5},
    )
    assert sneaky.json() == {"updated": False}


def test_captured_email_becomes_an_identity(endpoint):
    token, who = visitor(endpoint)
    services.send_message(who, "Do you ship to Rome?", "m1")
    response = call(
        "details",
        {
            "endpoint": endpoint.public_key,
            "token": token,
            "name": "Anna",
            "email": " Anna@Example.com ",
        },
    )
    assert response.json() == {
        "name": True,
        "email": True,
        "merged": False,
        "verify": {"email": "anna@example.com", "sent": True},
    }
    contact = Identity.objects.get(pk=who.identity.pk).contact
    email = contact.identities.get(kind="email")
    assert email.value == "anna@example.com" and not email.is_verified
    conversation = Conversation.objects.get()
    event = conversation.messages.get(kind="event", event_type="chat_contact_details")
    assert "anna@example.com" in event.text
    bad = call(
        "details", {"endpoint": endpoint.public_key, "token": token, "email": "not-an-email"}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_email"


def test_agent_requests_the_email_and_the_widget_shows_a_form(endpoint):
    agent = UserFactory()
    token, who = visitor(endpoint)
    conversation = services.send_message(who, "Can you call me back?", "m1").conversation
    ask = request_email(conversation, by=agent)  # the hub-level hook the agent UI calls
    assert ask.direction == "out" and ask.metadata["chat"] == {"form": "email"}
    assert ask.author == agent
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None  # asking is not answering

    state = call("sync", {"endpoint": endpoint.public_key, "token": token}).json()
    shown = state["messages"][-1]
    assert shown["form"] == "email" and shown["answered"] is False
    call("details", {"endpoint": endpoint.public_key, "token": token, "email": "v@example.com"})
    state = call("sync", {"endpoint": endpoint.public_key, "token": token}).json()
    assert state["messages"][-1]["answered"] is True

    email_endpoint = chat_endpoint()
    email_endpoint.channel = "email"
    email_endpoint.address = "help@example.com"
    email_endpoint.save()
    conversation.channel = "email"
    conversation.save()
    with pytest.raises(adapters.OutboundRefused):
        request_email(conversation, by=agent)


def test_the_sla_expectation_asking_for_an_email_gets_the_form(endpoint):
    token, who = visitor(endpoint)
    conversation = services.send_message(who, "Hi", "m1").conversation
    send_reply(
        conversation,
        text="Which email address can we send the answer to?",
        metadata={"sla": "expectation", "asks_for": "email"},
        counts_as_response=False,
    )
    state = call("sync", {"endpoint": endpoint.public_key, "token": token}).json()
    assert state["messages"][-1]["form"] == "email"


def test_demo_page_embeds_the_widget_of_the_website_endpoint():
    endpoint = chat_endpoint()
    endpoint.address = "website"
    endpoint.save()
    page = Client().get("/chat/demo/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-endpoint="{endpoint.public_key}"' in html
    assert 'src="http://testserver/static/chat/widget.js"' in html
    assert '<html lang="en">' in html
    assert '<html lang="it">' in Client().get("/chat/demo/?lang=it").content.decode()
    assert Client().get("/static/chat/widget.js").status_code == 200


def test_demo_page_without_the_endpoint_says_what_to_do():
    page = Client().get("/chat/demo/")
    assert page.status_code == 404 and b"bootstrap_hub" in page.content


def test_widget_is_small_and_renders_text_only():
    source = WIDGET.read_bytes()
    assert len(gzip.compress(source, compresslevel=9)) < 30 * 1024
    text = source.decode()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text)
    assert "attachShadow" in text and "textContent" in text
    assert '"it"' in text and "Scrivi un messaggio" in text
