"""Keyset cursor pagination of the REST API (``hub.api.pagination``): exact in both directions
whatever the ties on the first ordering field, stable under inserts, one query per page (one per
team for the per-team merge), and a 404 for any cursor it did not make."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hub.api.views import ConversationViewSet
from hub.models import Conversation, Message
from tests.api_helpers import chunks, client_for, flat, ids, walk_back, walk_forward
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    EndpointFactory,
    MessageFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
CONVERSATIONS = f"{API}/conversations/"
CONTACTS = f"{API}/contacts/"

# A fixed instant with microseconds: they must survive the round trip through the cursor.
BASE = datetime(2024, 3, 5, 10, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def cursor_of(url: str) -> dict:
    [encoded] = parse_qs(urlsplit(url).query)["cursor"]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def make_cursor(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tied_moments(count: int, shape: str = "runs") -> list[datetime]:
    """Last-activity or occurred-at values with many ties. ``runs``: runs of different lengths
    out of order, neighbours one microsecond apart; ``threes``/``fours``: rising in groups of
    that many (DRF's offset cursor lost a row walking back over these), ``fours`` on whole
    seconds."""
    if shape != "runs":
        group = {"threes": 3, "fours": 4}[shape]
        start = BASE if shape == "threes" else BASE.replace(microsecond=0)
        return [start + timedelta(seconds=i // group) for i in range(count)]
    runs = [BASE] * 7 + [BASE + timedelta(microseconds=1)] * 2 + [BASE - timedelta(seconds=1)]
    runs += [BASE + timedelta(minutes=1)] * 9 + [BASE - timedelta(microseconds=1)] * 4
    return [runs[i % len(runs)] for i in range(count)]


# --- conversations ------------------------------------------------------------------------------


def make_two_teams(agent, team, shape: str = "runs") -> list[int]:
    """The agent in two teams, 30 conversations of theirs with heavy ties on last activity, and
    conversations of a team the agent is not in; the agent's ids in list order."""
    second = TeamFactory(name="Second team")
    second.members.add(agent)
    elsewhere = TeamFactory(name="Elsewhere")
    endpoints = [
        EndpointFactory(team=team, address="first"),
        EndpointFactory(team=second, address="second"),
    ]
    foreign = EndpointFactory(team=elsewhere, address="foreign")
    rows = []
    for i, moment in enumerate(tied_moments(45, shape)):
        endpoint = [*endpoints, foreign][i % 3]
        conversation = ConversationFactory(endpoint=endpoint, last_activity_at=moment)
        if endpoint is not foreign:
            rows.append(conversation)
    rows += [
        ConversationFactory(endpoint=endpoints[i % 2], last_activity_at=moment)
        for i, moment in enumerate(tied_moments(10, shape))
    ]
    return [c.pk for c in sorted(rows, key=lambda c: (c.last_activity_at, c.pk), reverse=True)]


@pytest.fixture
def two_teams(agent, team) -> list[int]:
    return make_two_teams(agent, team)


@pytest.mark.parametrize("merged", [True, False], ids=["per-team-merge", "one-query"])
@pytest.mark.parametrize("shape", ["runs", "threes", "fours"])
@pytest.mark.parametrize("size", [1, 3, 4, 7, 50])
def test_conversations_with_ties_walk_forward_and_back_exactly(
    agent, team, monkeypatch, merged, shape, size
):
    expected = make_two_teams(agent, team, shape)
    assert len(expected) == 40
    if not merged:
        monkeypatch.setattr(ConversationViewSet, "MERGED_TEAMS_MAX", 0)
    api = client_for(agent)
    forward = walk_forward(api, CONVERSATIONS, {"page_size": size})
    assert forward == chunks(expected, size)
    assert walk_back(api, CONVERSATIONS, {"page_size": size}) == forward


@pytest.mark.parametrize("shape", ["runs", "threes"])
def test_one_team_with_ties_walks_forward_and_back_exactly(api_endpoint, agent, shape):
    rows = [
        ConversationFactory(endpoint=api_endpoint, last_activity_at=moment)
        for moment in tied_moments(23, shape)
    ]
    expected = [c.pk for c in sorted(rows, key=lambda c: (c.last_activity_at, c.pk), reverse=True)]
    api = client_for(agent)
    forward = walk_forward(api, CONVERSATIONS, {"page_size": 5})
    assert forward == chunks(expected, 5)
    assert walk_back(api, CONVERSATIONS, {"page_size": 5}) == forward
    # Filters survive in both links.
    api_only = walk_back(api, CONVERSATIONS, {"page_size": 2, "channel": "api"})
    assert flat(api_only) == expected


def test_turning_back_and_forth_gives_the_same_pages(agent, two_teams):
    api = client_for(agent)
    first = api.get(CONVERSATIONS, {"page_size": 4})
    second = api.get(first.json()["next"])
    third = api.get(second.json()["next"])
    back_to_second = api.get(third.json()["previous"])
    assert ids(back_to_second) == ids(second)
    back_to_first = api.get(back_to_second.json()["previous"])
    assert ids(back_to_first) == ids(first)
    assert back_to_first.json()["previous"] is None
    assert ids(api.get(back_to_first.json()["next"])) == ids(second)
    assert ids(api.get(back_to_second.json()["next"])) == ids(third)


def test_the_cursor_holds_every_ordering_value_exactly(agent, two_teams):
    api = client_for(agent)
    first = api.get(CONVERSATIONS, {"page_size": 3})
    edge = Conversation.objects.get(pk=ids(first)[-1])
    cursor = cursor_of(first.json()["next"])
    assert cursor["r"] is False
    moment, pk = cursor["p"]
    assert pk == edge.pk
    assert datetime.fromisoformat(moment) == edge.last_activity_at  # microseconds included
    assert moment.endswith("+00:00")
    back = cursor_of(api.get(first.json()["next"]).json()["previous"])
    assert back["r"] is True


def test_inserts_between_pages_neither_repeat_nor_skip_older_rows(agent, api_endpoint):
    rows = [
        ConversationFactory(endpoint=api_endpoint, last_activity_at=moment)
        for moment in tied_moments(12)
    ]
    api = client_for(agent)
    first = api.get(CONVERSATIONS, {"page_size": 5})
    edge = Conversation.objects.get(pk=ids(first)[-1])
    # While the client reads: a newer conversation, one tied with the page's last row (a larger
    # id: it sorts before that row), and two older ones, one of them tied with the oldest row.
    ConversationFactory(endpoint=api_endpoint)
    ConversationFactory(endpoint=api_endpoint, last_activity_at=edge.last_activity_at)
    older = [
        ConversationFactory(endpoint=api_endpoint, last_activity_at=BASE - timedelta(days=1)),
        ConversationFactory(
            endpoint=api_endpoint, last_activity_at=min(c.last_activity_at for c in rows)
        ),
    ]
    seen = ids(first)
    response = first
    while response.json()["next"]:
        response = api.get(response.json()["next"])
        seen += ids(response)
    beyond_edge = [
        c for c in rows + older if (c.last_activity_at, c.pk) < (edge.last_activity_at, edge.pk)
    ]
    expected = ids(first) + [
        c.pk for c in sorted(beyond_edge, key=lambda c: (c.last_activity_at, c.pk), reverse=True)
    ]
    assert seen == expected
    assert len(seen) == len(set(seen)) == 12 + len(older)


def test_a_deleted_edge_row_leaves_the_cursor_valid(agent, api_endpoint):
    for moment in tied_moments(6):
        ConversationFactory(endpoint=api_endpoint, last_activity_at=moment)
    api = client_for(agent)
    first = api.get(CONVERSATIONS, {"page_size": 3})
    second_url = first.json()["next"]
    second = api.get(second_url)
    Conversation.objects.filter(pk__in=ids(second)).delete()  # nothing left beyond the cursor
    empty = api.get(second_url)
    assert empty.status_code == 200
    assert empty.json()["results"] == [] and empty.json()["next"] is None
    # Back from nothing is the last page of what is left: the cursor's own row included.
    last = api.get(empty.json()["previous"])
    assert ids(last) == ids(first) and last.json()["previous"] is None
    assert last.json()["next"] is None


def test_a_previous_page_emptied_leads_forward_to_the_first_page(agent, api_endpoint):
    for moment in tied_moments(6):
        ConversationFactory(endpoint=api_endpoint, last_activity_at=moment)
    api = client_for(agent)
    first = api.get(CONVERSATIONS, {"page_size": 3})
    second = api.get(first.json()["next"])
    Conversation.objects.filter(pk__in=ids(first)).delete()
    empty = api.get(second.json()["previous"])
    assert empty.status_code == 200
    assert empty.json()["results"] == [] and empty.json()["previous"] is None
    # Nothing before the cursor any more: forward from there is the list from its start.
    assert "cursor=" not in empty.json()["next"]
    assert ids(api.get(empty.json()["next"])) == ids(second)


def test_an_empty_cursor_is_the_first_page(agent, two_teams):
    response = client_for(agent).get(CONVERSATIONS, {"page_size": 3, "cursor": ""})
    assert response.status_code == 200
    assert ids(response) == two_teams[:3] and response.json()["previous"] is None


@pytest.mark.parametrize("merged", [True, False], ids=["per-team-merge", "one-query"])
def test_every_page_costs_the_queries_of_the_first(agent, two_teams, monkeypatch, merged):
    if not merged:
        monkeypatch.setattr(ConversationViewSet, "MERGED_TEAMS_MAX", 0)
    api = client_for(agent)
    counts = []
    url, params = CONVERSATIONS, {"page_size": 4}
    for link in ["next", "next", "previous", "previous"]:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url, params)
        assert response.status_code == 200
        counts.append(len(queries))
        url, params = response.json()[link], None
    # Merged: the agent's teams, the teams' keys (one UNION ALL query, or one query per team
    # where the database cannot order the parts of a union), the page's rows; else the teams
    # and one query.
    keys = 1 if connection.features.supports_slicing_ordering_in_compound else 2
    assert counts == [2 + keys if merged else 2] * 4, counts


# --- timelines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["runs", "threes", "fours"])
def test_conversation_timeline_with_ties_walks_forward_and_back_exactly(agent, api_endpoint, shape):
    conversation = ConversationFactory(endpoint=api_endpoint)
    for moment in tied_moments(25, shape):
        MessageFactory(conversation=conversation, occurred_at=moment)
    expected = list(
        conversation.messages.order_by("occurred_at", "id").values_list("pk", flat=True)
    )
    url = f"{CONVERSATIONS}{conversation.pk}/timeline/"
    api = client_for(agent)
    for size in (1, 2, 3, 4, 5, 10, 25):
        forward = walk_forward(api, url, {"page_size": size})
        assert forward == chunks(expected, size)
        assert walk_back(api, url, {"page_size": size}) == forward
    # With a filter on the kind of item too.
    Message.objects.filter(pk__in=expected[::3]).update(kind=Message.Kind.NOTE)
    notes = walk_back(api, url, {"page_size": 2, "kind": "note"})
    assert flat(notes) == expected[::3]


def test_timeline_inserts_tied_with_the_cursor_are_read_once(agent, api_endpoint):
    conversation = ConversationFactory(endpoint=api_endpoint)
    for _ in range(6):
        MessageFactory(conversation=conversation, occurred_at=BASE)
    url = f"{CONVERSATIONS}{conversation.pk}/timeline/"
    api = client_for(agent)
    first = api.get(url, {"page_size": 4})
    late = MessageFactory(conversation=conversation, occurred_at=BASE)  # a larger id: after
    early = MessageFactory(conversation=conversation, occurred_at=BASE - timedelta(hours=1))
    second = api.get(first.json()["next"])
    assert late.pk in ids(second) and early.pk not in ids(second)
    assert len(ids(first) + ids(second)) == len(set(ids(first) + ids(second))) == 7
    # Walking back from there reaches the earlier message as well, each row once.
    back = api.get(second.json()["previous"])
    assert ids(back) == ids(first) and back.json()["previous"] is not None
    rest = api.get(back.json()["previous"])
    assert ids(rest) == [early.pk] and rest.json()["previous"] is None


@pytest.mark.parametrize("shape", ["runs", "threes"])
def test_contact_timeline_with_ties_walks_forward_and_back_exactly(agent, api_endpoint, shape):
    contact = ContactFactory()
    conversations = [ConversationFactory(endpoint=api_endpoint, contact=contact) for _ in range(3)]
    for i, moment in enumerate(tied_moments(20, shape)):
        MessageFactory(conversation=conversations[i % 3], occurred_at=moment)
    expected = list(
        Message.objects.filter(conversation__contact=contact)
        .order_by("occurred_at", "id")
        .values_list("pk", flat=True)
    )
    url = f"{CONTACTS}{contact.pk}/timeline/"
    api = client_for(agent)
    forward = walk_forward(api, url, {"page_size": 3})
    assert forward == chunks(expected, 3)
    assert walk_back(api, url, {"page_size": 3}) == forward


def test_id_ordered_lists_walk_back_too(agent):
    contacts = [ContactFactory().pk for _ in range(7)]
    api = client_for(agent)
    expected = chunks(sorted(contacts, reverse=True), 3)
    assert walk_forward(api, CONTACTS, {"page_size": 3}) == expected
    assert walk_back(api, CONTACTS, {"page_size": 3}) == expected


# --- bad cursors --------------------------------------------------------------------------------

GOOD_MOMENT = BASE.isoformat()

BAD_CURSORS = {
    "garbage": "garbage",
    "not base64": "%%%not*base64",
    "impossible base64 length": "abcde",
    "padding inside": "ab=cd",
    "drf cursor": "cD0yMDI0LTAzLTA1",
    "not utf-8": make_cursor(b"\xff\xfe\x00"),
    "not json": make_cursor(b"p=1&r=0"),
    "json list": make_cursor([GOOD_MOMENT, 1]),
    "json null": make_cursor(None),
    "no direction": make_cursor({"p": [GOOD_MOMENT, 1]}),
    "extra key": make_cursor({"p": [GOOD_MOMENT, 1], "r": False, "o": 3}),
    "direction not a bool": make_cursor({"p": [GOOD_MOMENT, 1], "r": 1}),
    "position not a list": make_cursor({"p": GOOD_MOMENT, "r": False}),
    "one value short": make_cursor({"p": [GOOD_MOMENT], "r": False}),
    "one value too many": make_cursor({"p": [GOOD_MOMENT, 1, 2], "r": False}),
    "no values": make_cursor({"p": [], "r": False}),
    "not a date": make_cursor({"p": ["yesterday", 1], "r": False}),
    "number for a date": make_cursor({"p": [1709634615, 1], "r": False}),
    "null for a date": make_cursor({"p": [None, 1], "r": False}),
    "naive datetime": make_cursor({"p": ["2024-03-05T10:30:15", 1], "r": False}),
    "date only": make_cursor({"p": ["2024-03-05", 1], "r": False}),
    "impossible date": make_cursor({"p": ["2024-02-30T10:00:00+00:00", 1], "r": False}),
    "past year 9999": make_cursor({"p": ["9999-12-31T23:59:59-05:00", 1], "r": False}),
    "before year 1": make_cursor({"p": ["0001-01-01T00:00:00+05:00", 1], "r": False}),
    "text for an id": make_cursor({"p": [GOOD_MOMENT, "1"], "r": False}),
    "bool for an id": make_cursor({"p": [GOOD_MOMENT, True], "r": False}),
    "float for an id": make_cursor({"p": [GOOD_MOMENT, 1.5], "r": False}),
    "infinite id": make_cursor(b'{"p":["2024-03-05T10:30:15+00:00",1e999],"r":false}'),
    "nan id": make_cursor(b'{"p":["2024-03-05T10:30:15+00:00",NaN],"r":false}'),
    "id past bigint": make_cursor({"p": [GOOD_MOMENT, 2**63], "r": False}),
    "list for an id": make_cursor({"p": [GOOD_MOMENT, [1]], "r": False}),
    "deep nesting": make_cursor(b"[" * 600 + b"]" * 600),
    "too long": make_cursor({"p": [GOOD_MOMENT, 1], "r": False, "x": "a" * 2000}),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_cursor_we_did_not_make_is_a_404(agent, two_teams, cursor):
    response = client_for(agent).get(CONVERSATIONS, {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.parametrize(
    ("which", "cursor"),
    [
        ("timeline", "garbage"),
        ("timeline", make_cursor({"p": [1], "r": False})),  # a contacts cursor
        ("timeline", make_cursor({"p": ["soon", 1], "r": True})),
        ("timeline", make_cursor({"p": [GOOD_MOMENT, -(2**63) - 1], "r": True})),
        ("contacts", "garbage"),
        ("contacts", make_cursor({"p": [GOOD_MOMENT, 1], "r": False})),  # a timeline cursor
        ("contacts", make_cursor({"p": [GOOD_MOMENT], "r": False})),
        ("contacts", make_cursor({"p": None, "r": False})),
    ],
)
def test_bad_timeline_and_contact_cursors_are_404(agent, api_endpoint, which, cursor):
    conversation = ConversationFactory(endpoint=api_endpoint)
    url = {"timeline": f"{CONVERSATIONS}{conversation.pk}/timeline/", "contacts": CONTACTS}[which]
    response = client_for(agent).get(url, {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_well_formed_cursor_of_any_position_is_a_page(agent, two_teams):
    """Any position of the right types is a place in the order, even one no row had."""
    api = client_for(agent)
    far_future = make_cursor({"p": ["2999-01-01T00:00:00+02:00", 2**63 - 1], "r": False})
    response = api.get(CONVERSATIONS, {"cursor": far_future, "page_size": 50})
    assert response.status_code == 200 and ids(response) == two_teams
    before_all = make_cursor({"p": ["1970-01-01T00:00:00Z", 0], "r": True})
    response = api.get(CONVERSATIONS, {"cursor": before_all})
    assert response.status_code == 200 and ids(response) == two_teams
    assert response.json()["previous"] is None


def test_page_size_is_capped_at_200(agent, api_endpoint):
    for _ in range(3):
        ConversationFactory(endpoint=api_endpoint)
    from hub.api.pagination import ConversationCursorPagination, TimelineCursorPagination

    assert ConversationCursorPagination.max_page_size == 200
    assert TimelineCursorPagination.max_page_size == 200
    response = client_for(agent).get(CONVERSATIONS, {"page_size": 10_000})
    assert response.status_code == 200 and len(ids(response)) == 3


# --- schema -------------------------------------------------------------------------------------


def test_the_schema_describes_the_cursor_and_the_paginated_lists():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    for path in [
        "/api/v1/conversations/",
        "/api/v1/conversations/{id}/timeline/",
        "/api/v1/contacts/{id}/timeline/",
    ]:
        operation = schema["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert params["cursor"]["schema"] == {"type": "string"}
        assert params["page_size"]["schema"] == {"type": "integer"}
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"next", "previous", "results"}
        assert page["properties"]["next"]["nullable"] is True
        assert page["properties"]["results"]["type"] == "array"


def test_a_user_outside_every_team_gets_an_empty_page(db):
    response = client_for(UserFactory()).get(CONVERSATIONS)
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}
