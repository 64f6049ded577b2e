"""Agent UI views with the Django test client: permissions, CSRF, the actions (each calls its hub
service and leaves its event on the timeline), the composer's channel rules, and the inbox's
filters, sort, search, unread counts, pagination and query counts."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Company, Identity
from hub.models import Conversation, Message
from hub.services import ingest
from hub.services.ingestion import store_attachment
from inbox import selectors as inbox_selectors
from inbox.models import ReadMarker
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    EndpointFactory,
    MessageFactory,
    UserFactory,
    inbound,
)
from tests.inbox_helpers import PASSWORD, htmx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.inbox_fixtures"]


def url(name, conversation=None, **query):
    path = reverse(f"inbox:{name}", args=[conversation.pk] if conversation else [])
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query, doseq=True)
    return path


def events(conversation, event_type=None):
    items = Message.objects.filter(conversation=conversation, kind=Message.Kind.EVENT)
    if event_type:
        items = items.filter(event_type=event_type)
    return list(items)


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="row-(\d+)"', html)]


# --- authentication and permissions ------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(url("inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("inbox:login"))


def test_login_and_logout(client, agent):
    page = client.get(reverse("inbox:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        reverse("inbox:login"), {"username": agent.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("inbox:inbox")
    assert client.get(url("inbox")).status_code == 200
    assert client.post(reverse("inbox:logout")).status_code == 302
    assert client.get(url("inbox")).status_code == 302


@pytest.mark.parametrize(
    "name, method",
    [
        ("conversation", "get"),
        ("header", "get"),
        ("timeline", "get"),
        ("check", "post"),
        ("compose", "post"),
        ("assign", "post"),
        ("resolve", "post"),
        ("reopen", "post"),
        ("pending", "post"),
        ("snooze", "post"),
        ("handoff", "post"),
    ],
)
def test_another_teams_conversation_is_a_404(agent_client, other_team_conversation, name, method):
    data = {"text": "hello", "assignee": "me", "preset": "1h", "channel": "email"}
    response = getattr(agent_client, method)(url(name, other_team_conversation), data)
    assert response.status_code == 404
    other_team_conversation.refresh_from_db()
    assert other_team_conversation.status == Conversation.Status.OPEN
    assert other_team_conversation.assignee_id is None
    assert not Message.objects.filter(
        conversation=other_team_conversation, direction=Message.Direction.OUTBOUND
    ).exists()


def test_another_teams_conversation_is_not_listed(agent_client, other_team_conversation):
    response = agent_client.get(url("inbox", status="all"))
    assert other_team_conversation.pk not in row_ids(response.content.decode())
    row = agent_client.get(reverse("inbox:row", args=[other_team_conversation.pk]))
    assert row.status_code == 204


def test_actions_need_the_csrf_token(agent, email_conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    refused = client.post(url("resolve", email_conversation), **htmx())
    assert refused.status_code == 403
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.OPEN
    page = client.get(url("conversation", email_conversation))
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    accepted = client.post(url("resolve", email_conversation), HTTP_X_CSRFTOKEN=token, **htmx())
    assert accepted.status_code == 200
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.RESOLVED


def test_get_is_refused_on_actions(agent_client, email_conversation):
    assert agent_client.get(url("resolve", email_conversation)).status_code == 405


# --- actions: each calls its service and writes its timeline event -------------------------------


def test_reply_is_stored_on_the_current_channel(agent_client, agent, email_conversation):
    response = agent_client.post(
        url("compose", email_conversation), {"mode": "reply", "text": "Sorry, Anna!"}, **htmx()
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"inbox:changed": {"id": email_conversation.pk}}
    assert 'id="composer"' in response.content.decode()
    reply = Message.objects.get(conversation=email_conversation, direction="out")
    assert reply.text == "Sorry, Anna!" and reply.author == agent and reply.channel == "email"
    assert reply.recipient_identity.value == "anna@example.com"
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED  # the outbox, then Celery
    assert events(email_conversation, "sla_stopped")


def test_reply_on_another_channel_hands_off_first(agent_client, email_conversation):
    response = agent_client.post(
        url("compose", email_conversation),
        {"mode": "reply", "text": "I'll text you", "channel": "sms"},
        **htmx(),
    )
    assert response.status_code == 200
    email_conversation.refresh_from_db()
    assert email_conversation.channel == "sms"
    handoff = events(email_conversation, "handoff")[0]
    assert handoff.metadata["to"] == "sms" and handoff.metadata["address"] == "+393331234567"
    reply = Message.objects.get(conversation=email_conversation, direction="out")
    assert reply.channel == "sms" and reply.recipient_identity.value == "+393331234567"
    assert reply.id > handoff.id


def test_a_refused_reply_keeps_the_draft_and_undoes_the_handoff(agent_client, email_conversation):
    Identity.objects.filter(value="+393331234567").update(opted_out_at=timezone.now())
    response = agent_client.post(
        url("compose", email_conversation),
        {"mode": "reply", "text": "Keep me", "channel": "sms"},
        **htmx(),
    )
    assert response.status_code == 422
    assert "Keep me" in response.content.decode()
    email_conversation.refresh_from_db()
    assert email_conversation.channel == "email"
    assert not events(email_conversation, "handoff")
    assert not Message.objects.filter(conversation=email_conversation, direction="out").exists()


def test_reply_refused_by_the_channel_shows_the_reason(agent_client, sms_conversation):
    Identity.objects.filter(value="+393471112233").update(opted_out_at=timezone.now())
    response = agent_client.post(
        url("compose", sms_conversation), {"mode": "reply", "text": "Hello"}, **htmx()
    )
    assert response.status_code == 422
    assert "opted out" in response.content.decode()


def test_empty_reply_is_refused(agent_client, email_conversation):
    response = agent_client.post(
        url("compose", email_conversation), {"mode": "reply", "text": "   "}, **htmx()
    )
    assert response.status_code == 422
    assert not Message.objects.filter(conversation=email_conversation, direction="out").exists()


def test_note(agent_client, agent, email_conversation):
    response = agent_client.post(
        url("compose", email_conversation), {"mode": "note", "text": "Check stock"}, **htmx()
    )
    assert response.status_code == 200
    note = Message.objects.get(conversation=email_conversation, kind=Message.Kind.NOTE)
    assert note.text == "Check stock" and note.author == agent
    assert 'data-mode="note"' in response.content.decode()


def test_assign_to_me_a_colleague_and_nobody(agent_client, agent, colleague, email_conversation):
    response = agent_client.post(
        url("assign", email_conversation), {"assignee": "me"}, **htmx("conv-header")
    )
    assert response.status_code == 200
    email_conversation.refresh_from_db()
    assert email_conversation.assignee == agent
    agent_client.post(url("assign", email_conversation), {"assignee": colleague.pk}, **htmx())
    email_conversation.refresh_from_db()
    assert email_conversation.assignee == colleague
    agent_client.post(url("assign", email_conversation), {"assignee": ""}, **htmx())
    email_conversation.refresh_from_db()
    assert email_conversation.assignee is None
    assigned = events(email_conversation, "assigned")
    assert [e.metadata["assignee_id"][1] for e in assigned] == [agent.pk, colleague.pk, None]
    assert all(e.author == agent for e in assigned)


def test_assigning_someone_outside_the_team_is_refused(agent_client, email_conversation):
    stranger = UserFactory()
    response = agent_client.post(
        url("assign", email_conversation), {"assignee": stranger.pk}, **htmx()
    )
    assert response.status_code == 422
    assert "not a member" in response.content.decode()
    email_conversation.refresh_from_db()
    assert email_conversation.assignee is None


def test_resolve_reopen_pending(agent_client, email_conversation):
    agent_client.post(url("resolve", email_conversation), **htmx())
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.RESOLVED
    assert events(email_conversation, "resolved")
    agent_client.post(url("reopen", email_conversation), **htmx())
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.OPEN
    assert events(email_conversation, "reopened")
    response = agent_client.post(url("pending", email_conversation), **htmx())
    assert response.status_code == 200
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.PENDING
    assert events(email_conversation, "pending")
    assert 'id="conv-header"' in response.content.decode()
    assert 'id="composer-channel-field"' in response.content.decode()  # out-of-band


def test_snooze_presets_and_custom_time(agent_client, email_conversation):
    before = timezone.now()
    agent_client.post(url("snooze", email_conversation), {"preset": "3h"}, **htmx())
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.SNOOZED
    assert timedelta(hours=2, minutes=59) < email_conversation.snoozed_until - before
    assert events(email_conversation, "snoozed")
    agent_client.post(
        url("snooze", email_conversation),
        {"preset": "custom", "until": "2099-01-02T10:30"},
        **htmx(),
    )
    email_conversation.refresh_from_db()
    assert email_conversation.snoozed_until.year == 2099
    missing = agent_client.post(url("snooze", email_conversation), {"preset": "custom"}, **htmx())
    assert missing.status_code == 422


def test_snooze_in_the_past_is_refused(agent_client, email_conversation):
    response = agent_client.post(
        url("snooze", email_conversation),
        {"preset": "custom", "until": "2001-01-01T10:00"},
        **htmx(),
    )
    assert response.status_code == 422
    email_conversation.refresh_from_db()
    assert email_conversation.status == Conversation.Status.OPEN


def test_handoff(agent_client, email_conversation):
    response = agent_client.post(url("handoff", email_conversation), {"channel": "sms"}, **htmx())
    assert response.status_code == 200
    email_conversation.refresh_from_db()
    assert email_conversation.channel == "sms"
    assert events(email_conversation, "handoff")[0].metadata["from"] == "email"
    impossible = agent_client.post(
        url("handoff", email_conversation), {"channel": "chat"}, **htmx()
    )
    assert impossible.status_code == 422


def test_without_htmx_actions_redirect_back(agent_client, email_conversation):
    response = agent_client.post(url("resolve", email_conversation))
    assert response.status_code == 302
    assert response["Location"] == url("conversation", email_conversation)
    response = agent_client.post(
        url("compose", email_conversation), {"mode": "reply", "text": "Hi"}
    )
    assert response.status_code == 302


# --- composer rules (services.check_reply) ----------------------------------------------------


def check(client, conversation, text, **extra):
    response = client.post(url("check", conversation), {"text": text, **extra}, **htmx())
    assert response.status_code == 200
    return response.content.decode()


def test_sms_segments_are_shown(agent_client, sms_conversation):
    html = check(agent_client, sms_conversation, "Ciao")
    assert 'data-code="sms_segments"' in html and "1 SMS segment" in html
    long = check(agent_client, sms_conversation, "é" * 10 + "x" * 600)
    assert "segments" in long


def test_opt_out_is_shown_before_sending(agent_client, sms_conversation):
    Identity.objects.filter(value="+393471112233").update(opted_out_at=timezone.now())
    html = check(agent_client, sms_conversation, "Hello")
    assert 'data-code="opted_out"' in html and "opted out" in html


def test_whatsapp_window(agent_client, endpoints):
    conversation = ingest(inbound(endpoints["whatsapp"], "+393405556677", text="Ciao")).conversation
    html = check(agent_client, conversation, "Hello")
    assert "WhatsApp window open" in html
    Message.objects.filter(conversation=conversation).update(
        occurred_at=timezone.now() - timedelta(hours=30)
    )
    closed = check(agent_client, conversation, "Hello")
    assert 'data-code="whatsapp_window_closed"' in closed


def test_chat_length_guidance(agent_client, endpoints):
    conversation = ingest(inbound(endpoints["chat"], "visitor-1", text="Hi")).conversation
    assert "chat_length" not in check(agent_client, conversation, "Sure, we do.")
    long = "We ship there. It takes three days. Customs are included. Tracking is by email. " * 3
    assert 'data-code="chat_length"' in check(agent_client, conversation, long)


def test_check_on_another_channel_shows_that_channels_rules(agent_client, email_conversation):
    html = check(agent_client, email_conversation, "Hello", channel="sms")
    assert "hands the conversation off to SMS (+393331234567)" in html
    assert "sms_segments" in html
    email_conversation.refresh_from_db()
    assert email_conversation.channel == "email"  # a check changes nothing
    nowhere = check(agent_client, email_conversation, "Hello", channel="whatsapp")
    assert "level-error" in nowhere


def test_check_in_note_mode(agent_client, email_conversation):
    assert "your team only" in check(agent_client, email_conversation, "x", mode="note")


# --- the conversation page -----------------------------------------------------------------------


def test_conversation_page_timeline_and_contact_panel(
    agent_client, agent, email_conversation, endpoints, anna
):
    anna.company = Company.objects.create(name="Bianchi Arredamenti", domain="bianchi.example")
    anna.attributes = {"plan": "Pro", "city": {"value": "Milano", "source_message": 1}}
    anna.save()
    message = ingest(
        inbound(
            endpoints["email"],
            "anna@example.com",
            text="Photos attached.",
            html="<p>Photos <b>attached</b><script>alert(1)</script></p>",
            references=["m1@example.com"],
            provider_message_id="m2@example.com",
            metadata={"email": {"original_text": "Photos attached.\n\n> earlier words"}},
        )
    )
    store_attachment(message, "lamp.png", "image/png", b"\x89PNG")
    store_attachment(message, "invoice.pdf.zip", "application/zip", b"PK")
    ingest(inbound(endpoints["sms"], "+393331234567", text="Did you get my email?"))
    from hub import services

    services.assign(email_conversation, assignee=agent, by=agent)
    response = agent_client.get(url("conversation", email_conversation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "The lamp arrived broken." in html and "Photos attached." in html
    assert "Show quoted text" in html and "&gt; earlier words" in html
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'sandbox=""' in frame and "allow-scripts" not in frame
    assert 'srcdoc="&lt;p&gt;Photos &lt;b&gt;attached&lt;/b&gt;' in frame
    assert "alert(1)" not in html  # sanitised before it was stored
    attachments = list(message.attachments.order_by("id"))
    assert f'<img src="/attachments/{attachments[0].pk}/"' in html
    assert f'href="/attachments/{attachments[1].pk}/">📎 invoice.pdf.zip' in html
    assert f"Assigned to {agent.username}" in html
    assert 'class="badge ch-email"' in html
    # contact panel: identities, company, attributes, earlier conversations on any channel
    assert "anna@example.com" in html and "+393331234567" in html
    assert "Bianchi Arredamenti" in html and "Milano" in html and "Pro" in html
    sms_conversation = Conversation.objects.get(channel="sms", contact=anna)
    assert reverse("inbox:conversation", args=[sms_conversation.pk]) in html
    assert "Pages viewed recently" not in html  # no page-view data (no model yet)


def test_htmx_pane_request_renders_only_the_pane(agent_client, email_conversation):
    response = agent_client.get(url("conversation", email_conversation), **htmx("pane"))
    html = response.content.decode()
    assert 'id="conversation"' in html and 'id="filters"' not in html and "<html" not in html


def test_an_email_shows_who_else_it_was_addressed_to(agent_client, email_conversation, endpoints):
    """The people on To/Cc (a reply copies them), inert; also as older email listed them."""
    from hub.inbound import InboundParticipant

    ingest(
        inbound(
            endpoints["email"],
            "anna@example.com",
            text="Adding my colleague",
            references=["m1@example.com"],
            provider_message_id="m4@example.com",
            participants=[
                InboundParticipant("email", "marco@example.com", "Marco", "cc"),
                InboundParticipant("email", "not an address", "", "cc"),
            ],
        )
    )
    older = Message.objects.get(provider_message_id="m1@example.com")
    older.metadata = {"email": {"participants": [{"address": "<b>luca@example.com</b>"}]}}
    older.save(update_fields=["metadata"])
    html = agent_client.get(url("conversation", email_conversation)).content.decode()
    assert html.count('class="also-to"') == 2
    assert "Also to: marco@example.com</div>" in html
    assert "&lt;b&gt;luca@example.com&lt;/b&gt;" in html and "<b>luca" not in html


def test_timeline_after_and_include(agent_client, email_conversation, endpoints):
    first = Message.objects.filter(conversation=email_conversation).order_by("id").last()
    later = ingest(
        inbound(
            endpoints["email"],
            "anna@example.com",
            text="One more thing",
            references=["m1@example.com"],
            provider_message_id="m3@example.com",
        )
    )
    html = agent_client.get(url("timeline", email_conversation, after=first.pk)).content.decode()
    assert f'id="item-{later.pk}"' in html and f'id="item-{first.pk}"' not in html
    html = agent_client.get(
        url("timeline", email_conversation, after=later.pk, include=[first.pk])
    ).content.decode()
    assert f'id="item-{first.pk}"' in html
    assert agent_client.get(url("timeline", email_conversation, after="x")).status_code == 400


def test_timeline_window_and_earlier_items(agent_client, agent, team):
    endpoint = EndpointFactory(team=team)
    conversation = ConversationFactory(endpoint=endpoint)
    base = timezone.now() - timedelta(days=1)
    for i in range(inbox_selectors.TIMELINE_WINDOW + 5):
        MessageFactory(
            conversation=conversation, occurred_at=base + timedelta(minutes=i), text=f"line {i}"
        )
    html = agent_client.get(url("conversation", conversation)).content.decode()
    assert "line 5<" in html and "line 4<" not in html and 'id="earlier"' in html
    earliest = re.search(r"before=([\d.]+)", html).group(1)
    older = agent_client.get(url("timeline", conversation, before=earliest)).content.decode()
    assert "line 4<" in older and "line 0<" in older and 'id="earlier"' not in older


def test_header_fragment(agent_client, email_conversation):
    html = agent_client.get(url("header", email_conversation)).content.decode()
    assert 'id="conv-header"' in html and "Reply due" in html


def test_request_email_hook(agent_client, agent, endpoints, sms_conversation, monkeypatch):
    """Shown on a live chat when the hub has the service (added by the chat channel); hidden on
    other channels and when no such service exists."""
    from hub import services

    conversation = ingest(inbound(endpoints["chat"], "visitor-9", text="Hi")).conversation
    page = agent_client.get(url("conversation", conversation)).content.decode()
    sms_page = agent_client.get(url("conversation", sms_conversation)).content.decode()
    assert "Ask for their email" not in sms_page
    if callable(getattr(services, "request_email", None)):
        assert "Ask for their email" in page
    calls = []
    monkeypatch.setattr(
        services, "request_email", lambda c, by: calls.append((c.pk, by)), raising=False
    )
    response = agent_client.post(url("request-email", conversation), **htmx())
    assert response.status_code == 200
    assert calls == [(conversation.pk, agent)]
    monkeypatch.delattr(services, "request_email")
    monkeypatch.delattr(services, "request_visitor_email", raising=False)
    assert (
        "Ask for their email"
        not in agent_client.get(url("conversation", conversation)).content.decode()
    )
    assert agent_client.post(url("request-email", conversation)).status_code == 404


# --- the inbox: filters, sort, search, unread, pagination ------------------------------------


@pytest.fixture
def crowd(team, agent, colleague, endpoints):
    """Conversations in various states: due ones (running TTL clock) and others."""
    now = timezone.now()
    made = {}

    def make(
        name, channel, *, due_in=None, activity_ago=0, status="open", assignee=None, contact=None
    ):
        conversation = ConversationFactory(
            endpoint=endpoints[channel],
            contact=contact or ContactFactory(name=name),
            status=status,
            assignee=assignee,
            due_at=now + timedelta(minutes=due_in) if due_in is not None else None,
            last_activity_at=now - timedelta(minutes=activity_ago),
        )
        made[name] = conversation
        return conversation

    make("Due later", "email", due_in=90, activity_ago=50, assignee=agent)
    make("Due soon", "sms", due_in=5, activity_ago=10)
    make("Overdue", "chat", due_in=-3, activity_ago=20, assignee=colleague)
    make("Quiet recent", "email", activity_ago=1)
    make("Quiet old", "sms", activity_ago=500, assignee=agent)
    make("Done", "email", activity_ago=2, status="resolved")
    make("Waiting", "whatsapp", activity_ago=3, status="pending")
    return made


def listed(client, **query) -> list[int]:
    response = client.get(url("inbox", **query), **htmx("list"))
    assert response.status_code == 200
    return row_ids(response.content.decode())


def test_default_inbox_is_open_conversations_by_due_time(agent_client, crowd):
    assert listed(agent_client) == [
        crowd[name].pk for name in ("Overdue", "Due soon", "Due later", "Quiet recent", "Quiet old")
    ]
    assert listed(agent_client, sort="recent") == [
        crowd[name].pk for name in ("Quiet recent", "Due soon", "Overdue", "Due later", "Quiet old")
    ]


def test_filters(agent_client, crowd):
    assert listed(agent_client, view="mine") == [crowd["Due later"].pk, crowd["Quiet old"].pk]
    assert listed(agent_client, view="unassigned") == [
        crowd["Due soon"].pk,
        crowd["Quiet recent"].pk,
    ]
    assert listed(agent_client, channel="sms") == [crowd["Due soon"].pk, crowd["Quiet old"].pk]
    assert listed(agent_client, status="resolved") == [crowd["Done"].pk]
    assert listed(agent_client, status="pending") == [crowd["Waiting"].pk]
    assert len(listed(agent_client, status="all")) == 7
    # unknown values fall back to the defaults instead of failing
    assert listed(agent_client, status="bogus", view="nope", channel="fax", sort="x", team="y")


def test_team_filter(agent_client, agent, crowd):
    from tests.factories import TeamFactory

    second = TeamFactory(name="Sales")
    second.members.add(agent)
    theirs = ConversationFactory(endpoint=EndpointFactory(team=second))
    assert theirs.pk in listed(agent_client)
    assert listed(agent_client, team=second.pk) == [theirs.pk]
    page = agent_client.get(url("inbox")).content.decode()
    assert "Sales" in page  # the team choice appears for agents in several teams


def test_search_by_name_email_phone_and_text(agent_client, email_conversation, sms_conversation):
    both = {email_conversation.pk, sms_conversation.pk}
    assert listed(agent_client, q="bianchi") == [email_conversation.pk]
    assert listed(agent_client, q="ANNA@example.com") == [email_conversation.pk]
    assert listed(agent_client, q="anna@exa") == [email_conversation.pk]
    assert listed(agent_client, q="+39 347 111 2233") == [sms_conversation.pk]
    assert listed(agent_client, q="347 1112233") == [sms_conversation.pk]
    assert listed(agent_client, q="chiudete") == [sms_conversation.pk]
    assert listed(agent_client, q="lamp arrived") == [email_conversation.pk]
    assert listed(agent_client, q="order #1042") == [email_conversation.pk]
    assert set(listed(agent_client, q="a")) <= both
    assert listed(agent_client, q="nothing like this") == []


def test_unread_counts(agent_client, agent, email_conversation, endpoints):
    def unread():
        html = agent_client.get(url("inbox"), **htmx("list")).content.decode()
        found = re.search(
            rf'id="row-{email_conversation.pk}".*?unread-count[^>]*>(\d+)', html, re.S
        )
        return int(found.group(1)) if found else 0

    assert unread() == 1
    agent_client.get(url("conversation", email_conversation))
    assert unread() == 0
    assert ReadMarker.objects.get(user=agent, conversation=email_conversation)
    for n in range(2):
        ingest(
            inbound(
                endpoints["email"],
                "anna@example.com",
                text=f"more {n}",
                references=["m1@example.com"],
                provider_message_id=f"x{n}@example.com",
            )
        )
    assert unread() == 2
    # fetching new items while the conversation is open marks them read
    agent_client.get(url("timeline", email_conversation, after=0))
    assert unread() == 0
    # the agent's own replies and notes are not unread
    agent_client.post(url("compose", email_conversation), {"mode": "note", "text": "n"}, **htmx())
    assert unread() == 0


def test_row_fragment_for_live_updates(agent_client, crowd):
    ok = agent_client.get(reverse("inbox:row", args=[crowd["Due soon"].pk]))
    assert ok.status_code == 200 and 'data-sort-key="0' in ok.content.decode()
    filtered_out = agent_client.get(
        reverse("inbox:row", args=[crowd["Due soon"].pk]) + "?channel=email"
    )
    assert filtered_out.status_code == 204


def test_keyset_pagination_walks_both_segments(agent_client, crowd, monkeypatch):
    monkeypatch.setattr(inbox_selectors, "PAGE_SIZE", 2)
    seen, query = [], {"status": "all"}
    response = agent_client.get(url("inbox", **query), **htmx("list"))
    while True:
        html = response.content.decode()
        seen += row_ids(html)
        more = re.search(r'id="more".*?hx-get="([^"]+)"', html, re.S)
        if not more:
            break
        response = agent_client.get(more.group(1).replace("&amp;", "&"), **htmx("more"))
        assert 'id="filters"' not in response.content.decode()
    expected = ["Overdue", "Due soon", "Due later", "Quiet recent", "Done", "Waiting", "Quiet old"]
    assert seen == [crowd[name].pk for name in expected]


def test_a_bad_cursor_starts_from_the_top(agent_client, crowd):
    response = agent_client.get(url("inbox", cursor="!!garbage"), **htmx("list"))
    assert response.status_code == 200


def _queries(client, path, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    assert response.status_code == 200
    return len(queries)


def test_inbox_query_count_does_not_grow_with_page_size(agent_client, agent, team, monkeypatch):
    endpoint = EndpointFactory(team=team)
    now = timezone.now()
    for i in range(30):
        conversation = ConversationFactory(
            endpoint=endpoint,
            assignee=agent if i % 2 else None,
            due_at=now + timedelta(minutes=i) if i % 3 else None,
        )
        for j in range(3):
            MessageFactory(conversation=conversation, text=f"m{i}-{j}")
        if i % 4 == 0:
            ReadMarker.objects.create(
                user=agent, conversation=conversation, last_read_message_id=0, last_read_at=now
            )
    agent_client.get(url("inbox"))  # session preferences cached
    counts = {}
    for size in (5, 25, 28):
        monkeypatch.setattr(inbox_selectors, "PAGE_SIZE", size)
        page = agent_client.get(url("inbox")).content.decode()
        assert len(row_ids(page)) == size
        counts[size] = _queries(agent_client, url("inbox"))
    # 20 rows have a due time: 25 and 28 rows also read the second segment (one query more)
    assert counts[25] == counts[28] == counts[5] + 1, counts
    assert counts[28] <= 10, counts


def test_conversation_page_query_count_does_not_grow_with_the_timeline(
    agent_client, agent, colleague, team
):
    endpoint = EndpointFactory(team=team)

    def conversation_with(n):
        contact = ContactFactory()
        identity = Identity.objects.create(contact=contact, kind="api", value=f"c-{n}")
        conversation = ConversationFactory(endpoint=endpoint, contact=contact)
        base = timezone.now() - timedelta(hours=2)
        for i in range(n):
            message = MessageFactory(
                conversation=conversation,
                sender_identity=identity,
                occurred_at=base + timedelta(minutes=i),
            )
            if i % 3 == 0:
                store_attachment(message, f"f{i}.png", "image/png", b"\x89PNG")
            if i % 4 == 0:
                Message.objects.create(
                    conversation=conversation,
                    kind="event",
                    channel="api",
                    event_type="assigned",
                    author=agent,
                    occurred_at=message.occurred_at,
                    metadata={"assignee_id": [None, colleague.pk if i % 8 else agent.pk]},
                )
        for _ in range(3):
            ConversationFactory(endpoint=endpoint, contact=contact)
        return conversation

    small, large = conversation_with(3), conversation_with(40)
    agent_client.get(url("inbox"))
    counts = [
        _queries(agent_client, url("conversation", small)),
        _queries(agent_client, url("conversation", large)),
    ]
    assert counts[0] == counts[1], counts
    pane = [
        _queries(agent_client, url("conversation", small), **htmx("pane")),
        _queries(agent_client, url("conversation", large), **htmx("pane")),
    ]
    assert pane[0] == pane[1], pane


# --- preferences and demo data -----------------------------------------------------------------


def test_preferences_apply_language_and_time_zone(agent_client, agent):
    page = agent_client.get(reverse("inbox:preferences"))
    assert page.status_code == 200 and "Europe/Rome" in page.content.decode()
    response = agent_client.post(
        reverse("inbox:preferences"), {"language": "it", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    assert agent.agent_profile.language == "it"
    assert 'lang="it"' in agent_client.get(url("inbox")).content.decode()
    bad = agent_client.post(reverse("inbox:preferences"), {"language": "xx", "time_zone": "Mars"})
    assert bad.status_code == 200 and "error" in bad.content.decode()


def test_seed_demo_fills_an_empty_database_once(db):
    from django.core.management import call_command

    call_command("bootstrap_hub")
    call_command("seed_demo")
    count = Conversation.objects.count()
    assert count >= 5
    channels = set(Conversation.objects.values_list("channel", flat=True))
    assert {"email", "sms", "chat"} <= channels
    assert Message.objects.filter(direction="in").count() >= 6
    call_command("seed_demo")
    assert Conversation.objects.count() == count
