"""The REST API under /api/v1/: auth, team visibility, filters, cursor pagination, timelines, the
conversation actions, contacts, inbound, webhooks, constant query counts, schema and health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm.models import Contact, Identity
from hub.inbound import InboundAttachment
from hub.models import (
    Conversation,
    LocalDelivery,
    Message,
    WebhookSubscription,
)
from hub.services import ingest, resolve
from hub.services.ingestion import store_attachment
from tests.api_helpers import client_for, flat, ids, walk, walk_back
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    EndpointFactory,
    IdentityFactory,
    MessageFactory,
    TeamFactory,
    UserFactory,
    inbound,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
CONVERSATIONS = f"{API}/conversations/"
CONTACTS = f"{API}/contacts/"
INBOUND = f"{API}/inbound/"
WEBHOOKS = f"{API}/webhooks/"


# --- helpers ------------------------------------------------------------------------------------


def conversation_url(conversation, action: str | None = None) -> str:
    pk = conversation.pk if hasattr(conversation, "pk") else conversation
    return f"{CONVERSATIONS}{pk}/" + (f"{action}/" if action else "")


def contact_url(contact, action: str | None = None) -> str:
    pk = contact.pk if hasattr(contact, "pk") else contact
    return f"{CONTACTS}{pk}/" + (f"{action}/" if action else "")


def events(conversation, event_type: str):
    return Message.objects.filter(
        conversation=conversation, kind=Message.Kind.EVENT, event_type=event_type
    )


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are made by the dozen here: a cheap hasher keeps the module fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api(agent) -> APIClient:
    return client_for(agent)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Other team")


@pytest.fixture
def other_endpoint(other_team):
    return EndpointFactory(team=other_team, address="elsewhere")


@pytest.fixture
def colleague(team):
    user = UserFactory(username="colleague")
    team.members.add(user)
    return user


@pytest.fixture
def conversation(api_endpoint):
    """A conversation of the agent's team, opened by a message from ``cust-1`` (api channel)."""
    return ingest(inbound(api_endpoint, "cust-1", text="Where is my order?")).conversation


@pytest.fixture
def foreign_conversation(other_endpoint):
    """A conversation of a team the agent is not in."""
    return ingest(inbound(other_endpoint, "stranger", text="Secret of another team")).conversation


# --- auth ---------------------------------------------------------------------------------------


def _api_routes() -> list[tuple[str, str]]:
    """Every route of the API router plus /inbound/, with each method it answers."""
    from hub.api.urls import router

    routes = []
    for pattern in router.urls:
        groups = pattern.pattern.regex.groupindex
        if "format" in groups:
            continue
        path = reverse(pattern.name, kwargs={"pk": 1} if "pk" in groups else {})
        for method in getattr(pattern.callback, "actions", None) or {"get": None}:
            routes.append((method, path))
    routes.append(("post", reverse("inbound")))
    return sorted(set(routes))


API_ROUTES = _api_routes()


def test_route_list_covers_the_api():
    expected = {
        ("get", f"{API}/"),
        ("get", CONVERSATIONS),
        ("get", f"{CONVERSATIONS}1/"),
        ("get", f"{CONVERSATIONS}1/timeline/"),
        ("post", f"{CONVERSATIONS}1/reply/"),
        ("post", f"{CONVERSATIONS}1/notes/"),
        ("post", f"{CONVERSATIONS}1/assign/"),
        ("post", f"{CONVERSATIONS}1/resolve/"),
        ("post", f"{CONVERSATIONS}1/reopen/"),
        ("post", f"{CONVERSATIONS}1/snooze/"),
        ("post", f"{CONVERSATIONS}1/merge/"),
        ("get", CONTACTS),
        ("post", CONTACTS),
        ("get", f"{CONTACTS}1/"),
        ("put", f"{CONTACTS}1/"),
        ("patch", f"{CONTACTS}1/"),
        ("delete", f"{CONTACTS}1/"),
        ("post", f"{CONTACTS}1/identities/"),
        ("get", f"{CONTACTS}1/timeline/"),
        ("get", f"{API}/endpoints/"),
        ("get", f"{API}/teams/"),
        ("post", INBOUND),
        ("get", WEBHOOKS),
        ("post", WEBHOOKS),
        ("delete", f"{WEBHOOKS}1/"),
    }
    assert expected <= set(API_ROUTES)


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_anonymous_is_refused_on_every_route(method, path, api_endpoint):
    response = getattr(APIClient(), method)(
        path,
        {"endpoint": api_endpoint.pk, "sender": {"address": "x"}, "text": "hi"},
        format="json",
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_token_auth(agent, conversation):
    token = Token.objects.create(user=agent)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(CONVERSATIONS)
    assert response.status_code == 200
    assert ids(response) == [conversation.pk]
    # Authenticated as that user: "me" is the token's owner. No CSRF for token clients.
    response = client.post(
        conversation_url(conversation, "assign"), {"assignee": agent.pk}, format="json"
    )
    assert response.status_code == 200
    assert ids(client.get(CONVERSATIONS, {"assignee": "me"})) == [conversation.pk]


def test_bad_token_is_refused(agent):
    Token.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get(CONVERSATIONS).status_code == 401


def test_token_of_an_inactive_user_is_refused(agent):
    token = Token.objects.create(user=agent)
    agent.is_active = False
    agent.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(CONVERSATIONS)
    assert response.status_code == 401
    assert "inactive" in response.json()["detail"]


def test_token_authentication_returns_the_user_and_its_token(agent):
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.test import APIRequestFactory

    from hub.api.authentication import TokenAuthentication

    token = Token.objects.create(user=agent)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.key}")
    user, auth = TokenAuthentication().authenticate(request)
    assert user == agent and user.username == agent.username and user.is_authenticated
    assert auth == token and auth.user_id == agent.pk and auth.created == token.created
    deleted = Token.objects.get(pk=token.pk)
    deleted.delete()
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        TokenAuthentication().authenticate(request)


def test_session_auth(agent, conversation):
    client = APIClient()
    # django-axes needs the request for a login (the test client sends none of its own).
    assert client.login(request=HttpRequest(), username=agent.username, password="pw-agent-123")
    response = client.get(conversation_url(conversation))
    assert response.status_code == 200
    assert response.json()["id"] == conversation.pk
    client.logout()
    assert client.get(conversation_url(conversation)).status_code == 401


def test_session_auth_writes_need_the_csrf_token(agent, conversation):
    client = APIClient(enforce_csrf_checks=True)
    # django-axes needs the request for a login (the test client sends none of its own).
    assert client.login(request=HttpRequest(), username=agent.username, password="pw-agent-123")
    url = conversation_url(conversation, "notes")
    response = client.post(url, {"text": "no token"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    secret = "a" * 32
    client.cookies["csrftoken"] = secret
    response = client.post(url, {"text": "with token"}, format="json", HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 201
    assert Message.objects.filter(kind="note").count() == 1


# --- team visibility ----------------------------------------------------------------------------


def test_agent_lists_only_their_teams_conversations(api, conversation, foreign_conversation):
    response = api.get(CONVERSATIONS)
    assert response.status_code == 200
    assert ids(response) == [conversation.pk]


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", None, None),
        ("get", "timeline", None),
        ("post", "reply", {"text": "hello"}),
        ("post", "reply-check", {"text": "hello"}),
        ("post", "notes", {"text": "note"}),
        ("post", "assign", {"assignee": None}),
        ("post", "resolve", None),
        ("post", "reopen", None),
        ("post", "snooze", {"until": "2999-01-01T00:00:00Z"}),
    ],
)
def test_another_teams_conversation_is_not_found(api, foreign_conversation, method, action, body):
    before = Message.objects.count()
    response = getattr(api, method)(
        conversation_url(foreign_conversation, action), body, format="json"
    )
    assert response.status_code == 404
    assert Message.objects.count() == before
    foreign_conversation.refresh_from_db()
    assert foreign_conversation.status == Conversation.Status.OPEN


def test_superuser_sees_every_team(superuser, conversation, foreign_conversation):
    client = client_for(superuser)
    assert set(ids(client.get(CONVERSATIONS))) == {conversation.pk, foreign_conversation.pk}
    assert client.get(conversation_url(foreign_conversation, "timeline")).status_code == 200
    response = client.post(
        conversation_url(foreign_conversation, "notes"), {"text": "seen"}, format="json"
    )
    assert response.status_code == 201


def test_endpoints_and_teams_are_limited_to_the_agents_teams(
    api, team, api_endpoint, other_endpoint
):
    response = api.get(f"{API}/endpoints/")
    assert ids(response) == [api_endpoint.pk]
    assert api.get(f"{API}/endpoints/{other_endpoint.pk}/").status_code == 404
    assert [t["id"] for t in api.get(f"{API}/teams/").json()["results"]] == [team.pk]


def test_inbound_to_another_teams_endpoint_is_forbidden_and_stores_nothing(api, other_endpoint):
    response = api.post(
        INBOUND,
        {"endpoint": other_endpoint.pk, "sender": {"address": "intruder"}, "text": "hi"},
        format="json",
    )
    assert response.status_code == 403
    assert "endpoint" in response.json()
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()
    assert not Identity.objects.exists()
    assert not Contact.objects.exists()


# --- conversation list filters ------------------------------------------------------------------


@pytest.fixture
def inbox(team, agent, colleague, endpoint_for, other_team):
    """Conversations in several states, channels, endpoints, assignees and teams.

    The agent is a member of ``team`` and of ``second``; ``other_team`` is not theirs.
    """
    second = TeamFactory(name="Second")
    second.members.add(agent)
    api_ep = endpoint_for("api")
    sms_ep = endpoint_for("sms")
    second_ep = EndpointFactory(team=second)
    hidden_ep = EndpointFactory(team=other_team)
    anna, bob = ContactFactory(name="Anna"), ContactFactory(name="Bob")
    now = timezone.now()
    make = ConversationFactory
    rows = {
        "open_mine": make(endpoint=api_ep, contact=anna, assignee=agent),
        "pending_colleague": make(
            endpoint=sms_ep, contact=anna, assignee=colleague, status="pending"
        ),
        "snoozed": make(endpoint=api_ep, contact=bob, status="snoozed"),
        "resolved": make(endpoint=sms_ep, contact=bob, status="resolved"),
        "second_team": make(endpoint=second_ep, contact=anna),
        "hidden": make(endpoint=hidden_ep, contact=anna, assignee=agent),
    }
    for age, conversation in enumerate(rows.values()):
        conversation.last_activity_at = now - timedelta(minutes=age)
        conversation.save()
    rows.update(
        team=team,
        second=second,
        api_ep=api_ep,
        sms_ep=sms_ep,
        anna=anna,
        bob=bob,
        other_team=other_team,
    )
    return rows


def _pks(inbox, *names):
    return {inbox[name].pk for name in names}


def test_list_without_filters_shows_every_visible_conversation_newest_first(api, inbox):
    response = api.get(CONVERSATIONS)
    assert ids(response) == [
        inbox[name].pk
        for name in ["open_mine", "pending_colleague", "snoozed", "resolved", "second_team"]
    ]
    first = response.json()["results"][0]
    assert first["contact"] == {"id": inbox["anna"].pk, "name": "Anna"}
    assert first["status"] == "open" and first["channel"] == "api"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, ["open_mine", "second_team"]),
        ({"status": ["pending", "snoozed"]}, ["pending_colleague", "snoozed"]),
        ({"status": ["resolved"]}, ["resolved"]),
        ({"channel": "sms"}, ["pending_colleague", "resolved"]),
        (
            {"channel": ["sms", "api"]},
            ["open_mine", "pending_colleague", "snoozed", "resolved", "second_team"],
        ),
        ({"assignee": "me"}, ["open_mine"]),
        ({"assignee": "none"}, ["snoozed", "resolved", "second_team"]),
        ({"status": "open", "channel": "api", "assignee": "none"}, ["second_team"]),
    ],
)
def test_conversation_filters(api, inbox, params, expected):
    response = api.get(CONVERSATIONS, params)
    assert response.status_code == 200, response.content
    assert set(ids(response)) == _pks(inbox, *expected)


def test_filter_by_assignee_id_endpoint_contact_and_team(api, inbox, colleague):
    assert set(ids(api.get(CONVERSATIONS, {"assignee": colleague.pk}))) == _pks(
        inbox, "pending_colleague"
    )
    assert set(ids(api.get(CONVERSATIONS, {"endpoint": inbox["sms_ep"].pk}))) == _pks(
        inbox, "pending_colleague", "resolved"
    )
    # Anna also has a conversation in a team the agent is not in: it stays hidden.
    assert set(ids(api.get(CONVERSATIONS, {"contact": inbox["anna"].pk}))) == _pks(
        inbox, "open_mine", "pending_colleague", "second_team"
    )
    assert set(ids(api.get(CONVERSATIONS, {"team": inbox["second"].pk}))) == _pks(
        inbox, "second_team"
    )
    assert ids(api.get(CONVERSATIONS, {"team": inbox["other_team"].pk})) == []


def test_filter_updated_since(api, inbox):
    now = timezone.now()
    Conversation.objects.update(updated_at=now - timedelta(days=3))
    Conversation.objects.filter(pk__in=_pks(inbox, "snoozed", "hidden")).update(
        updated_at=now - timedelta(hours=1)
    )
    response = api.get(CONVERSATIONS, {"updated_since": (now - timedelta(days=1)).isoformat()})
    assert response.status_code == 200
    assert set(ids(response)) == _pks(inbox, "snoozed")
    response = api.get(CONVERSATIONS, {"updated_since": (now - timedelta(days=4)).isoformat()})
    assert len(ids(response)) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"assignee": "somebody"}, "assignee"),
        ({"assignee": "-3"}, "assignee"),
        ({"assignee": "\u00b2"}, "assignee"),  # a digit for str.isdigit(), not for int()
        ({"assignee": "9" * 30}, "assignee"),
        ({"status": "sleeping"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"contact": "abc"}, "contact"),
        ({"contact": "9" * 30}, "contact"),
        ({"contact": "-1e30"}, "contact"),
        ({"endpoint": "1.5"}, "endpoint"),
        ({"team": "inf"}, "team"),
        ({"updated_since": "yesterday"}, "updated_since"),
    ],
)
def test_bad_filter_values_are_400_with_the_field(api, inbox, params, field):
    response = api.get(CONVERSATIONS, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_list_filters_do_not_apply_to_one_conversations_routes(api, inbox):
    """A list filter in the query string of a detail or action route is not a lookup: the
    conversation is found by its id (and the agent's teams) alone."""
    open_mine = inbox["open_mine"]
    url = f"{CONVERSATIONS}{open_mine.pk}/"
    response = api.get(url, {"status": "resolved", "channel": "sms"})
    assert response.status_code == 200 and response.json()["id"] == open_mine.pk
    timeline = api.get(f"{url}timeline/", {"status": "resolved"})
    assert timeline.status_code == 200
    # Bad filter values are no error there either; the list still refuses them.
    assert api.get(url, {"status": "sleeping"}).status_code == 200
    assert api.get(CONVERSATIONS, {"status": "sleeping"}).status_code == 400
    # Visibility still holds: another team's conversation is a 404 whatever the query.
    assert api.get(f"{CONVERSATIONS}{inbox['hidden'].pk}/").status_code == 404


def test_bad_cursor_is_a_4xx(api, inbox):
    assert api.get(CONVERSATIONS, {"cursor": "garbage"}).status_code == 404


def test_conversation_list_cursor_pagination_walks_every_row_once(api, api_endpoint, endpoint_for):
    sms = endpoint_for("sms")
    base = timezone.now() - timedelta(hours=1)
    conversations = []
    for i in range(23):
        # Ties on last_activity_at (groups of three) must not lose or repeat rows at page edges.
        conversations.append(
            ConversationFactory(
                endpoint=api_endpoint if i % 2 else sms,
                last_activity_at=base + timedelta(seconds=i // 3),
            )
        )
    expected = [
        c.pk for c in sorted(conversations, key=lambda c: (c.last_activity_at, c.pk), reverse=True)
    ]
    seen, pages = walk(api, CONVERSATIONS, {"page_size": 5})
    assert seen == expected
    assert pages == 5
    # Filters survive in the next link.
    seen, pages = walk(api, CONVERSATIONS, {"page_size": 4, "channel": "sms"})
    assert seen == [pk for pk in expected if Conversation.objects.get(pk=pk).channel == "sms"]
    assert pages == 3


def test_an_agent_of_several_teams_pages_through_their_teams_merged(agent, team, monkeypatch):
    """Read one team at a time and merged (``PerTeamMerge``): the same pages as one query over
    all the agent's teams gives, forward and back, with ties at page edges and filters; other
    teams' newer conversations left out."""
    from hub.api.views import ConversationViewSet

    second = TeamFactory(name="Second team")
    second.members.add(agent)
    elsewhere = TeamFactory(name="Not the agent's")
    endpoints = [
        EndpointFactory(team=team, address="first-team"),
        EndpointFactory(team=second, address="second-team"),
        EndpointFactory(team=elsewhere, address="elsewhere"),
    ]
    base = timezone.now() - timedelta(hours=1)
    rows = []
    for i in range(30):
        endpoint = endpoints[i % 3]
        rows.append(
            ConversationFactory(
                endpoint=endpoint,
                team=endpoint.team,
                status="open" if i % 4 else "pending",
                last_activity_at=base + timedelta(seconds=i // 4),  # ties across teams
            )
        )
    for _ in range(10):  # the newest activity is all in another team
        ConversationFactory(endpoint=endpoints[2], team=elsewhere)
    visible = [c for c in rows if c.team_id in (team.pk, second.pk)]
    expected = [
        c.pk for c in sorted(visible, key=lambda c: (c.last_activity_at, c.pk), reverse=True)
    ]
    api = client_for(agent)

    def pages() -> tuple:
        return (
            walk(api, CONVERSATIONS, {"page_size": 3}),
            flat(walk_back(api, CONVERSATIONS, {"page_size": 3})),
            walk(api, CONVERSATIONS, {"page_size": 4, "status": "open"})[0],
        )

    with CaptureQueriesContext(connection) as page:
        assert api.get(CONVERSATIONS, {"page_size": 3}).status_code == 200
    # The agent's teams once, the teams' ordering keys (one UNION ALL query where the database
    # orders and limits its parts, else one query per team), then the page's rows.
    per_team = 1 if connection.features.supports_slicing_ordering_in_compound else 2
    assert len(page.captured_queries) == 2 + per_team, [q["sql"] for q in page.captured_queries]
    merged = pages()
    forward, back, only_open = merged
    assert forward == (expected, 7)
    assert back == expected  # the keyset cursor is exact backwards too, ties or not
    assert only_open == [c for c in expected if Conversation.objects.get(pk=c).status == "open"]
    monkeypatch.setattr(ConversationViewSet, "MERGED_TEAMS_MAX", 0)  # one query, as before
    assert pages() == merged


def test_conversation_cursor_is_stable_under_new_activity(api, api_endpoint):
    base = timezone.now() - timedelta(hours=1)
    for i in range(6):
        ConversationFactory(endpoint=api_endpoint, last_activity_at=base + timedelta(minutes=i))
    first = api.get(CONVERSATIONS, {"page_size": 3})
    newest = ConversationFactory(endpoint=api_endpoint)  # arrives while the client pages
    second = api.get(first.json()["next"])
    assert len(set(ids(first)) | set(ids(second))) == 6
    assert newest.pk not in ids(first) + ids(second)
    assert second.json()["next"] is None
    assert second.json()["previous"] is not None


# --- conversation timeline ----------------------------------------------------------------------


def test_timeline_is_ordered_by_occurred_at_then_id(api, conversation):
    base = timezone.now() - timedelta(days=1)
    later = MessageFactory(conversation=conversation, occurred_at=base + timedelta(minutes=5))
    tie_a = MessageFactory(conversation=conversation, occurred_at=base + timedelta(minutes=1))
    tie_b = MessageFactory(conversation=conversation, occurred_at=base + timedelta(minutes=1))
    earliest = MessageFactory(conversation=conversation, occurred_at=base)
    first = conversation.messages.exclude(pk__in=[later.pk, tie_a.pk, tie_b.pk, earliest.pk]).get()
    response = api.get(conversation_url(conversation, "timeline"))
    assert response.status_code == 200
    assert ids(response) == [earliest.pk, tie_a.pk, tie_b.pk, later.pk, first.pk]


def test_late_message_with_earlier_received_at_sorts_before_later_ones(api, api_endpoint):
    t0 = timezone.now() - timedelta(hours=3)
    one = ingest(
        inbound(
            api_endpoint,
            "cust-9",
            text="one",
            provider_message_id="1",
            received_at=t0 + timedelta(hours=1),
        )
    )
    two = ingest(
        inbound(
            api_endpoint,
            "cust-9",
            text="two",
            provider_message_id="2",
            received_at=t0 + timedelta(hours=2),
        )
    )
    response = api.post(
        INBOUND,
        {
            "endpoint": api_endpoint.pk,
            "sender": {"address": "cust-9"},
            "text": "zero",
            "provider_message_id": "0",
            "received_at": t0.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    late_id = response.json()["message"]["id"]
    assert late_id > two.pk  # stored last ...
    timeline = api.get(conversation_url(one.conversation, "timeline"))
    assert ids(timeline) == [late_id, one.pk, two.pk]  # ... shown first
    assert [m["text"] for m in timeline.json()["results"]] == ["zero", "one", "two"]


def test_timeline_cursor_pagination(api, conversation):
    base = timezone.now() - timedelta(days=1)
    for i in range(11):
        MessageFactory(conversation=conversation, occurred_at=base + timedelta(seconds=i // 2))
    ordered = conversation.messages.order_by("occurred_at", "id")
    expected = list(ordered.values_list("pk", flat=True))
    assert len(expected) == 12
    seen, pages = walk(api, conversation_url(conversation, "timeline"), {"page_size": 5})
    assert seen == expected
    assert pages == 3


def test_timeline_items_carry_sender_and_attachments(api, api_endpoint):
    message = ingest(
        inbound(
            api_endpoint,
            "cust-3",
            text="see attached",
            attachments=[
                InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 test"),
            ],
        )
    )
    item = api.get(conversation_url(message.conversation, "timeline")).json()["results"][0]
    assert item["sender"]["value"] == "cust-3"
    assert item["direction"] == "in" and item["delivery_status"] == "received"
    [attachment] = item["attachments"]
    assert attachment["filename"] == "invoice.pdf" and attachment["size"] == 13
    assert attachment["url"].startswith("http://testserver/attachments/")


# --- conversation actions -----------------------------------------------------------------------


def test_reply_is_stored_queued_then_delivered_to_the_local_outbox(
    api, agent, conversation, on_commit
):
    with on_commit():
        response = api.post(
            conversation_url(conversation, "reply"), {"text": "On its way!"}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["direction"] == "out" and body["kind"] == "message"
        assert body["delivery_status"] == "queued"
        assert body["author"] == agent.pk
        assert body["recipient"]["value"] == "cust-1"
        # Stored before it is sent (outbox): queued, nothing delivered yet.
        reply = Message.objects.get(pk=body["id"])
        assert reply.delivery_status == Message.DeliveryStatus.QUEUED
        assert not LocalDelivery.objects.exists()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT
    assert reply.provider_message_id == f"local-{reply.pk}"
    delivery = LocalDelivery.objects.get()
    assert delivery.message == reply
    assert (delivery.channel, delivery.recipient, delivery.body) == ("api", "cust-1", "On its way!")
    conversation.refresh_from_db()
    assert conversation.last_outbound_at == reply.occurred_at


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   \n"}, {"html": "<p> </p>"}])
def test_empty_reply_is_400(api, conversation, body):
    response = api.post(conversation_url(conversation, "reply"), body, format="json")
    assert response.status_code == 400
    assert "text" in response.json()
    assert not Message.objects.filter(direction="out").exists()


def test_too_long_reply_is_422(api, conversation):
    response = api.post(
        conversation_url(conversation, "reply"), {"text": "x" * 100_001}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "too_long"
    assert not Message.objects.filter(direction="out").exists()


def test_reply_check_reports_without_storing(api, conversation):
    url = conversation_url(conversation, "reply-check")
    response = api.post(url, {"text": "Short and fine"}, format="json")
    assert response.status_code == 200
    assert response.json()["allowed"] is True
    assert isinstance(response.json()["notices"], list)
    response = api.post(url, {"text": "x" * 100_001}, format="json")
    assert response.status_code == 200
    assert (response.json()["allowed"], response.json()["code"]) == (False, "too_long")
    assert not Message.objects.filter(direction="out").exists()


def test_note(api, agent, conversation, on_commit):
    with on_commit():
        response = api.post(
            conversation_url(conversation, "notes"), {"text": "VIP customer"}, format="json"
        )
    assert response.status_code == 201
    note = Message.objects.get(pk=response.json()["id"])
    assert (note.kind, note.author, note.text) == ("note", agent, "VIP customer")
    assert not LocalDelivery.objects.exists()  # notes are internal, never sent
    assert (
        api.post(conversation_url(conversation, "notes"), {"text": ""}, format="json").status_code
        == 400
    )


def test_assign_to_a_team_member_writes_an_event(api, agent, colleague, conversation):
    response = api.post(
        conversation_url(conversation, "assign"), {"assignee": colleague.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["assignee"] == colleague.pk
    conversation.refresh_from_db()
    assert conversation.assignee == colleague
    event = events(conversation, "assigned").get()
    assert event.author == agent
    timeline = api.get(conversation_url(conversation, "timeline")).json()["results"]
    assert timeline[-1]["kind"] == "event" and timeline[-1]["event_type"] == "assigned"


def test_assign_to_a_non_member_is_400(api, conversation, other_team):
    outsider = UserFactory(username="outsider")
    other_team.members.add(outsider)
    response = api.post(
        conversation_url(conversation, "assign"), {"assignee": outsider.pk}, format="json"
    )
    assert response.status_code == 400
    assert "assignee" in response.json()
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert not events(conversation, "assigned").exists()


def test_unassign_with_null(api, agent, conversation):
    conversation.assignee = agent
    conversation.save()
    response = api.post(conversation_url(conversation, "assign"), {"assignee": None}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    conversation.refresh_from_db()
    assert conversation.assignee is None
    assert events(conversation, "assigned").get().text == "Unassigned"


def test_move_to_a_team_the_caller_is_not_in_is_400(api, conversation, other_team, team):
    response = api.post(
        conversation_url(conversation, "assign"), {"team": other_team.pk}, format="json"
    )
    assert response.status_code == 400
    assert "team" in response.json()
    conversation.refresh_from_db()
    assert conversation.team == team


def test_move_to_another_own_team(api, agent, conversation):
    second = TeamFactory(name="Billing")
    second.members.add(agent)
    response = api.post(
        conversation_url(conversation, "assign"),
        {"team": second.pk, "assignee": agent.pk},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["team"], response.json()["assignee"]) == (second.pk, agent.pk)
    assert events(conversation, "team_changed").count() == 1
    assert events(conversation, "assigned").count() == 1


def test_assign_needs_a_body(api, conversation):
    assert api.post(conversation_url(conversation, "assign"), {}, format="json").status_code == 400


def test_resolve_and_reopen_write_events(api, agent, conversation):
    response = api.post(conversation_url(conversation, "resolve"))
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["resolved_at"] is not None
    assert events(conversation, "resolved").get().author == agent

    response = api.post(conversation_url(conversation, "reopen"))
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["resolved_at"] is None
    assert events(conversation, "reopened").get().author == agent
    kinds = [
        (m["kind"], m["event_type"])
        for m in api.get(conversation_url(conversation, "timeline")).json()["results"]
    ]
    assert kinds == [("message", ""), ("event", "resolved"), ("event", "reopened")]


def test_snooze(api, conversation):
    until = timezone.now() + timedelta(hours=4)
    response = api.post(
        conversation_url(conversation, "snooze"), {"until": until.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "snoozed"
    conversation.refresh_from_db()
    assert conversation.snoozed_until == until
    assert events(conversation, "snoozed").count() == 1


@pytest.mark.parametrize("until", ["past", "not a date", None])
def test_snooze_needs_a_future_time(api, conversation, until):
    if until == "past":
        until = (timezone.now() - timedelta(minutes=1)).isoformat()
    body = {} if until is None else {"until": until}
    response = api.post(conversation_url(conversation, "snooze"), body, format="json")
    assert response.status_code == 400
    assert "until" in response.json()
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert not events(conversation, "snoozed").exists()


def test_snoozing_a_resolved_conversation_is_a_conflict(api, conversation):
    resolve(conversation)
    response = api.post(
        conversation_url(conversation, "snooze"),
        {"until": (timezone.now() + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 409


def test_conversations_are_read_only_as_a_collection(api, conversation):
    assert api.post(CONVERSATIONS, {}, format="json").status_code == 405
    assert api.delete(conversation_url(conversation)).status_code == 405


# --- contacts -----------------------------------------------------------------------------------


def _identity_errors(body):
    errors = body["identities"]
    return errors[0] if isinstance(errors, list) else errors["0"]


def test_contact_crud(api):
    company = CompanyFactory()
    response = api.post(
        CONTACTS,
        {"name": "Ada", "language": "it", "company": company.pk, "attributes": {"plan": "gold"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["identities"] == []

    response = api.get(contact_url(pk))
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["company"]) == ("Ada", company.pk)

    response = api.patch(contact_url(pk), {"name": "Ada Lovelace"}, format="json")
    assert response.status_code == 200
    assert Contact.objects.get(pk=pk).name == "Ada Lovelace"

    response = api.put(
        contact_url(pk),
        {"name": "Ada L.", "language": "en", "company": None, "attributes": {}},
        format="json",
    )
    assert response.status_code == 200
    contact = Contact.objects.get(pk=pk)
    assert (contact.name, contact.language, contact.company) == ("Ada L.", "en", None)

    assert pk in ids(api.get(CONTACTS))
    assert api.delete(contact_url(pk)).status_code == 204
    assert not Contact.objects.filter(pk=pk).exists()


def test_create_contact_with_identities_normalises_them(api):
    response = api.post(
        CONTACTS,
        {
            "name": "Anna Rossi",
            "identities": [
                {"kind": "email", "value": "  Anna.Rossi@Example.COM "},
                {"kind": "phone", "value": "+39 347 123 4567"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    values = {(i["kind"], i["value"]) for i in response.json()["identities"]}
    assert values == {("email", "anna.rossi@example.com"), ("phone", "+393471234567")}
    contact = Contact.objects.get(pk=response.json()["id"])
    assert set(contact.identities.values_list("value", flat=True)) == {
        "anna.rossi@example.com",
        "+393471234567",
    }


@pytest.mark.parametrize(
    "identity",
    [
        {"kind": "email", "value": "not-an-email"},
        {"kind": "phone", "value": "call me"},
        {"kind": "fax", "value": "123"},
        {"kind": "email"},
    ],
)
def test_invalid_identity_on_create_is_400_with_field_error(api, identity):
    response = api.post(CONTACTS, {"name": "X", "identities": [identity]}, format="json")
    assert response.status_code == 400
    errors = _identity_errors(response.json())
    assert set(errors) & {"value", "kind"}
    assert not Contact.objects.exists()


def test_identity_owned_by_another_contact_is_409_and_nothing_is_created(api):
    owner = IdentityFactory(kind="phone", value="+393471234567").contact
    response = api.post(
        CONTACTS,
        {
            "name": "Copycat",
            "identities": [
                {"kind": "email", "value": "new@example.com"},
                {"kind": "phone", "value": "347 123 4567"},  # the owner's number, another format
            ],
        },
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "identity_taken"
    assert list(Contact.objects.all()) == [owner]
    assert not Identity.objects.filter(value="new@example.com").exists()


def test_contact_attributes_must_be_an_object(api):
    response = api.post(CONTACTS, {"name": "X", "attributes": ["a"]}, format="json")
    assert response.status_code == 400
    assert "attributes" in response.json()


def test_nul_in_contact_attributes_is_400_not_a_database_error(api):
    response = api.post(CONTACTS, {"name": "X", "attributes": {"note": "a\u0000b"}}, format="json")
    assert response.status_code == 400
    assert "attributes" in response.json()


def test_identities_cannot_be_replaced_through_update(api):
    contact = IdentityFactory().contact
    response = api.patch(
        contact_url(contact), {"identities": [{"kind": "api", "value": "x"}]}, format="json"
    )
    assert response.status_code == 400
    assert "identities" in response.json()
    assert contact.identities.count() == 1


def test_add_identity_to_a_contact(api):
    contact = ContactFactory()
    response = api.post(
        contact_url(contact, "identities"),
        {"kind": "email", "value": "Bob@Example.org", "display_name": "Bob"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["value"] == "bob@example.org"
    assert contact.identities.get().value == "bob@example.org"

    taken = IdentityFactory(kind="whatsapp", value="+393470000000")
    response = api.post(
        contact_url(contact, "identities"),
        {"kind": "whatsapp", "value": "+39 347 000 0000"},
        format="json",
    )
    assert response.status_code == 409
    assert taken.contact.identities.count() == 1 and contact.identities.count() == 1

    response = api.post(
        contact_url(contact, "identities"), {"kind": "email", "value": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "value" in response.json()


def test_contact_search_by_name_and_identity_value(api):
    anna = ContactFactory(name="Anna Rossi")
    IdentityFactory(contact=anna, kind="email", value="anna@shop.example")
    IdentityFactory(contact=anna, kind="phone", value="+393471234567")
    bob = ContactFactory(name="Bob Bianchi")
    IdentityFactory(contact=bob, kind="email", value="bob@else.example")

    assert ids(api.get(CONTACTS, {"q": "rossi"})) == [anna.pk]
    assert ids(api.get(CONTACTS, {"q": "SHOP.EXAMPLE"})) == [anna.pk]  # one row, two identities
    assert ids(api.get(CONTACTS, {"q": "+39347"})) == [anna.pk]
    assert ids(api.get(CONTACTS, {"q": "bob@"})) == [bob.pk]
    assert ids(api.get(CONTACTS, {"q": "example"})) == [bob.pk, anna.pk]
    assert ids(api.get(CONTACTS, {"q": "nobody"})) == []


def test_delete_contact_with_conversations_is_409(api, conversation):
    contact = conversation.contact
    response = api.delete(contact_url(contact))
    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_contact_timeline_spans_channels_and_respects_teams(
    api, superuser, api_endpoint, endpoint_for, other_team
):
    contact = ContactFactory(name="Anna")
    IdentityFactory(contact=contact, kind="api", value="anna-42")
    IdentityFactory(contact=contact, kind="phone", value="+393471234567")
    IdentityFactory(contact=contact, kind="email", value="anna@example.com")
    hidden_mailbox = EndpointFactory(channel="email", address="sales@x.example", team=other_team)
    t0 = timezone.now() - timedelta(hours=5)
    via_api = ingest(inbound(api_endpoint, "anna-42", text="api", received_at=t0))
    via_sms = ingest(
        inbound(
            endpoint_for("sms"), "+39 347 123 4567", text="sms", received_at=t0 + timedelta(hours=1)
        )
    )
    via_api_2 = ingest(
        inbound(api_endpoint, "anna-42", text="api again", received_at=t0 + timedelta(hours=2))
    )
    hidden = ingest(
        inbound(
            hidden_mailbox,
            "anna@example.com",
            text="email to another team",
            received_at=t0 + timedelta(minutes=30),
        )
    )
    ingest(inbound(api_endpoint, "someone-else", text="not Anna"))
    assert via_api.conversation_id != via_sms.conversation_id

    response = api.get(contact_url(contact, "timeline"), {"kind": "message"})
    assert response.status_code == 200
    assert ids(response) == [via_api.pk, via_sms.pk, via_api_2.pk]
    assert [m["channel"] for m in response.json()["results"]] == ["api", "sms", "api"]
    # Without the filter, the timeline also holds the TTL clock's events (sms has a TTL).
    with_events = api.get(contact_url(contact, "timeline")).json()["results"]
    assert {m["event_type"] for m in with_events if m["kind"] == "event"} == {"sla_started"}
    assert api.get(contact_url(contact, "timeline"), {"kind": "bogus"}).status_code == 400

    everything = client_for(superuser).get(contact_url(contact, "timeline"), {"kind": "message"})
    assert ids(everything) == [via_api.pk, hidden.pk, via_sms.pk, via_api_2.pk]

    seen, pages = walk(
        client_for(superuser), contact_url(contact, "timeline"), {"page_size": 3, "kind": "message"}
    )
    assert seen == ids(everything) and pages == 2


# --- inbound ------------------------------------------------------------------------------------


def _inbound_body(target, /, **overrides):
    body = {
        "endpoint": target.pk,
        "sender": {"address": "cust-77", "name": "Ada"},
        "text": "Hi, I need help",
        "provider_message_id": "prov-1",
        "subject": "Help",
        "metadata": {"order": 42},
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def test_inbound_creates_message_and_conversation(api, api_endpoint):
    response = api.post(INBOUND, _inbound_body(api_endpoint), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    message, conversation = body["message"], body["conversation"]
    assert message["direction"] == "in" and message["text"] == "Hi, I need help"
    assert message["provider_message_id"] == "prov-1"
    assert message["metadata"] == {"order": 42, "threading": {"rule": "new"}}
    assert message["sender"]["kind"] == "api" and message["sender"]["value"] == "cust-77"
    assert message["conversation"] == conversation["id"]
    assert conversation["status"] == "open" and conversation["endpoint"] == api_endpoint.pk
    assert conversation["contact"]["name"] == "Ada"
    assert conversation["subject"] == "Help"
    stored = Message.objects.get(pk=message["id"])
    assert stored.conversation_id == conversation["id"]


def test_inbound_retry_with_the_same_provider_id_is_stored_once(api, api_endpoint):
    first = api.post(INBOUND, _inbound_body(api_endpoint), format="json")
    again = api.post(INBOUND, _inbound_body(api_endpoint, text="retry"), format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert again.json()["message"]["text"] == "Hi, I need help"
    assert Message.objects.filter(kind="message").count() == 1
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sender": ...}, "sender"),
        ({"sender": "cust-77"}, "sender"),
        ({"sender": {"name": "no address"}}, "sender"),
        ({"sender": {"kind": "email", "address": "not-an-email"}}, "sender"),
        ({"sender": {"kind": "pigeon", "address": "x"}}, "sender"),
        ({"endpoint": ...}, "endpoint"),
        ({"endpoint": 999_999}, "endpoint"),
        ({"endpoint": "abc"}, "endpoint"),
        ({"endpoint": 10**22}, "endpoint"),
        ({"endpoint": True}, "endpoint"),
        ({"endpoint": 1.5}, "endpoint"),
        ({"endpoint": [1]}, "endpoint"),
        ({"endpoint": {"id": 1}}, "endpoint"),
        ({"endpoint": 0}, "endpoint"),
        ({"endpoint": -1}, "endpoint"),
        ({"endpoint": None}, "endpoint"),
        ({"text": "", "html": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": ...}, "text"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": "string"}, "metadata"),
        ({"metadata": {"nested": {"bad": "nul\u0000"}}}, "metadata"),
        ({"text": "x" * 100_001}, "text"),
        ({"provider_message_id": "p" * 256}, "provider_message_id"),
        ({"received_at": "last tuesday"}, "received_at"),
        ({"received_at": "2024-13-45T99:00:00Z"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00+05:00"}, "received_at"),
        ({"subject": "s" * 501}, "subject"),
    ],
)
def test_bad_inbound_is_400_with_field_errors(api, api_endpoint, overrides, field):
    response = api.post(INBOUND, _inbound_body(api_endpoint, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_inbound_to_an_endpoint_of_another_channel_is_400(api, endpoint_for):
    sms = endpoint_for("sms")
    response = api.post(INBOUND, _inbound_body(sms), format="json")
    assert response.status_code == 400
    assert "endpoint" in response.json()
    assert not Message.objects.exists()


def test_inbound_endpoint_id_may_be_a_string_and_changes_apply_at_once(api, api_endpoint):
    body = _inbound_body(api_endpoint)
    body["endpoint"] = str(api_endpoint.pk)
    assert api.post(INBOUND, body, format="json").status_code == 201
    # The endpoint is now in the config cache; deactivating it clears the cache at once.
    api_endpoint.is_active = False
    api_endpoint.save()
    body["provider_message_id"] = "another"
    assert api.post(INBOUND, body, format="json").status_code == 400


def test_inbound_to_an_inactive_endpoint_is_400(api, api_endpoint):
    api_endpoint.is_active = False
    api_endpoint.save()
    response = api.post(INBOUND, _inbound_body(api_endpoint), format="json")
    assert response.status_code == 400
    assert "endpoint" in response.json()
    assert not Message.objects.exists()


@pytest.mark.parametrize("raw", ['{"endpoint": 1, "sender": ', "[]", "null", "not json"])
def test_malformed_inbound_body_is_400(api, api_endpoint, raw):
    response = api.post(INBOUND, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()
    assert not Message.objects.exists()


def test_inbound_text_at_the_limit_is_accepted(api, api_endpoint):
    response = api.post(INBOUND, _inbound_body(api_endpoint, text="y" * 100_000), format="json")
    assert response.status_code == 201
    assert len(Message.objects.get().text) == 100_000


def test_inbound_html_is_sanitised(api, api_endpoint):
    response = api.post(
        INBOUND,
        _inbound_body(
            api_endpoint, text=..., html='<p onclick="x()">Hi <script>alert(1)</script>there</p>'
        ),
        format="json",
    )
    assert response.status_code == 201
    html = response.json()["message"]["html"]
    assert "script" not in html and "onclick" not in html
    assert "Hi" in response.json()["message"]["text"]


# --- webhooks -----------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return UserFactory(username="staff", is_staff=True)


def test_webhooks_are_staff_only(api):
    WebhookSubscription.objects.create(url="https://example.com/hook")
    assert api.get(WEBHOOKS).status_code == 403
    response = api.post(WEBHOOKS, {"url": "https://example.com/x"}, format="json")
    assert response.status_code == 403
    assert WebhookSubscription.objects.count() == 1


def test_staff_manages_webhooks(staff):
    client = client_for(staff)
    response = client.post(
        WEBHOOKS,
        {
            "url": "https://integrator.example/hooks",
            "events": ["message.created", "conversation.updated"],
            "description": "CRM sync",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["events"] == ["message.created", "conversation.updated"]
    assert len(body["secret"]) >= 32
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert subscription.created_by == staff
    assert ids(client.get(WEBHOOKS)) == [subscription.pk]
    response = client.patch(f"{WEBHOOKS}{subscription.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_active is False
    assert client.delete(f"{WEBHOOKS}{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://x.example/h", "events": ["message.deleted"]}, "events"),
        ({"url": "https://x.example/h", "events": "message.created"}, "events"),
        ({"url": "ftp://x.example/h"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
    ],
)
def test_invalid_webhook_is_400(staff, body, field):
    response = client_for(staff).post(WEBHOOKS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not WebhookSubscription.objects.exists()


# --- constant query counts ----------------------------------------------------------------------


@pytest.fixture
def crowd(team, agent, colleague, api_endpoint, endpoint_for):
    """60 conversations (60 contacts with two identities each, some with a company) and one
    conversation with a 60-item timeline, attachments on every fourth message."""
    sms = endpoint_for("sms")
    companies = [CompanyFactory(), CompanyFactory()]
    for i in range(60):
        contact = ContactFactory(company=companies[i % 2] if i % 3 else None)
        IdentityFactory(contact=contact, kind="api", value=f"crowd-{i}")
        IdentityFactory(contact=contact, kind="email", value=f"crowd{i}@example.com")
        ConversationFactory(
            contact=contact,
            endpoint=api_endpoint if i % 2 else sms,
            assignee=[None, agent, colleague][i % 3],
        )
    busy = ConversationFactory(endpoint=api_endpoint, contact=Contact.objects.first())
    sender = busy.contact.identities.first()
    base = timezone.now() - timedelta(days=1)
    for i in range(60):
        message = MessageFactory(
            conversation=busy,
            occurred_at=base + timedelta(minutes=i),
            sender_identity=sender if i % 2 == 0 else None,
            author=agent if i % 2 else None,
            direction="in" if i % 2 == 0 else "out",
        )
        if i % 4 == 0:
            store_attachment(message, f"file{i}.txt", "text/plain", b"hello")
            store_attachment(message, f"image{i}.png", "image/png", b"\x89PNG")
    return busy


def _query_counts(client, url, sizes=(5, 50)):
    counts = {}
    for size in sizes:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    return counts


@pytest.mark.parametrize("which", ["conversations", "timeline", "contacts", "contact_timeline"])
def test_query_count_does_not_grow_with_page_size(api, crowd, which, django_assert_max_num_queries):
    url = {
        "conversations": CONVERSATIONS,
        "timeline": conversation_url(crowd, "timeline"),
        "contacts": CONTACTS,
        "contact_timeline": contact_url(crowd.contact, "timeline"),
    }[which]
    counts = _query_counts(api, url)
    assert counts[5] == counts[50], counts
    with django_assert_max_num_queries(5):
        api.get(url, {"page_size": 50})


def test_timeline_page_includes_the_attachments(api, crowd):
    results = api.get(conversation_url(crowd, "timeline"), {"page_size": 50}).json()["results"]
    with_files = [m for m in results if m["attachments"]]
    assert len(with_files) == 13
    assert all(len(m["attachments"]) == 2 for m in with_files)


# --- schema, docs, health -----------------------------------------------------------------------


def test_openapi_schema_is_valid_and_lists_the_api(agent):
    from drf_spectacular.validation import validate_schema

    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in [
        "/api/v1/conversations/",
        "/api/v1/conversations/{id}/",
        "/api/v1/conversations/{id}/timeline/",
        "/api/v1/conversations/{id}/reply/",
        "/api/v1/conversations/{id}/notes/",
        "/api/v1/conversations/{id}/assign/",
        "/api/v1/conversations/{id}/resolve/",
        "/api/v1/conversations/{id}/reopen/",
        "/api/v1/conversations/{id}/snooze/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
        "/api/v1/contacts/{id}/identities/",
        "/api/v1/contacts/{id}/timeline/",
        "/api/v1/inbound/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
    ]:
        assert path in paths, path
    params = {p["name"]: p for p in paths["/api/v1/conversations/"]["get"]["parameters"]}
    assert {
        "status",
        "channel",
        "endpoint",
        "assignee",
        "contact",
        "team",
        "updated_since",
        "cursor",
        "page_size",
    } <= set(params)
    assert params["contact"]["schema"]["type"] == "integer"
    # Ids are integers for client generators, not strings.
    [detail_id] = paths["/api/v1/conversations/{id}/"]["get"]["parameters"]
    assert detail_id["schema"]["type"] == "integer"
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_swagger_ui():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_healthz_checks_database_and_broker():
    response = APIClient().get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_reports_a_broker_outage(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"].startswith("error")


def test_the_whole_schema_generates_without_warnings():
    """Every endpoint (channel apps included) is described: no view the generator must guess."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_inbound_serializer_fields_are_fresh_per_instance():
    from hub.api.serializers import InboundSerializer

    first, second = InboundSerializer().fields, InboundSerializer().fields
    assert list(first) == list(second)
    for name in first:
        assert first[name] is not second[name] and first[name].parent is not second[name].parent
    assert first["sender"].fields["address"] is not second["sender"].fields["address"]
    assert first["endpoint"].channel == "api" and first["text"].max_length == 100_000
