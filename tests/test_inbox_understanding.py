"""The understanding layer in the agent UI: a message's language, questions and temperature,
the conversation's temperature badge (list and header), the temperature filter and sort, and the
contact's language chosen or learned, in Italian."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact
from hub.models import Conversation
from hub.services import ingest
from inbox import selectors as inbox_selectors
from tests.factories import ConversationFactory, EndpointFactory, MessageFactory, inbound
from tests.inbox_helpers import htmx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.inbox_fixtures"]

ANGRY = "This is ridiculous!!! I want a refund NOW or I will sue you"


def _in_italian(client):
    assert client.post(reverse("inbox:preferences"), {"language": "it", "time_zone": "UTC"})


def _row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="row-(\d+)"', html)]


@pytest.fixture
def api(team):
    return EndpointFactory(team=team, channel="api", address="src")


def test_a_message_shows_its_language_questions_and_temperature_in_italian(agent_client, api):
    _in_italian(agent_client)
    message = ingest(inbound(api, "p-1", text="Perché il mio ordine è in ritardo? Quando arriva?"))
    page = agent_client.get(reverse("inbox:conversation", args=[message.conversation_id]))
    html = page.content.decode()
    understood = html[html.index('class="understood"') :]
    understood = understood[: understood.index("</div>")]
    assert ">Italiano<" in understood
    assert 'class="kind k-why"' in understood and ">perché<" in understood
    assert 'class="kind k-when"' in understood and ">quando<" in understood
    assert "infastidito" in understood or "calmo" in understood  # the message's label, translated
    assert 'id="conv-temperature"' in html
    assert "Temperatura" in html


def test_the_header_and_the_list_show_the_badge_with_its_reasons(agent_client, api):
    _in_italian(agent_client)
    conversation = ingest(inbound(api, "p-2", text=ANGRY)).conversation
    header = agent_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    badge = re.search(r'<span class="temperature temp-hot" id="conv-temperature" title="([^"]+)">'
                      r"([^<]+)</span>", header.decode())  # fmt: skip
    assert badge, header
    title, label = badge.groups()
    assert label == "Calda"
    assert "messaggio arrabbiato" in title and "punteggio" in title
    listing = agent_client.get(reverse("inbox:inbox")).content.decode()
    assert 'class="temperature temp-hot"' in listing and ">Calda<" in listing


def test_the_inbox_filters_and_sorts_by_temperature(agent_client, agent, team):
    endpoint = EndpointFactory(team=team)
    now = timezone.now()
    scores = [0, 75, 40, 75, 10, 90, 35]
    made = []
    for i, score in enumerate(scores):
        level = "hot" if score >= 60 else "warm" if score >= 30 else "calm"
        made.append(
            ConversationFactory(
                endpoint=endpoint,
                temperature=level,
                temperature_score=score,
                last_activity_at=now - timedelta(minutes=i),
            )
        )
    hot = agent_client.get(
        reverse("inbox:inbox"), {"temperature": "hot", "status": "all"}
    ).content.decode()
    assert sorted(_row_ids(hot)) == sorted(c.pk for c in made if c.temperature == "hot")
    assert 'value="hot" selected' in hot

    def order(c):
        return (-c.temperature_score, -c.last_activity_at.timestamp())

    expected = [c.pk for c in sorted(made, key=order)]
    seen, cursor = [], ""
    while True:  # pages of 3 by cursor
        page = inbox_selectors.inbox_page(
            agent, inbox_selectors.InboxFilters(sort="temperature", status="all"), cursor, 3
        )
        seen += [c.pk for c in page.conversations]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == expected
    listing = agent_client.get(
        reverse("inbox:inbox"), {"sort": "temperature", "status": "all"}
    ).content.decode()
    assert _row_ids(listing) == expected


def test_the_sorted_list_costs_the_same_queries_whatever_its_size(agent_client, team, monkeypatch):
    endpoint = EndpointFactory(team=team)
    for i in range(30):
        conversation = ConversationFactory(endpoint=endpoint, temperature_score=i)
        MessageFactory(conversation=conversation, text=f"m{i}")
    agent_client.get(reverse("inbox:inbox"))
    counts = []
    for size in (5, 28):
        monkeypatch.setattr(inbox_selectors, "PAGE_SIZE", size)
        with CaptureQueriesContext(connection) as queries:
            page = agent_client.get(reverse("inbox:inbox"), {"sort": "temperature"})
        assert len(_row_ids(page.content.decode())) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_contact_panel_shows_a_learned_language_and_the_agent_can_choose_one(agent_client, api):
    _in_italian(agent_client)
    message = ingest(inbound(api, "p-3", text="Hello, I wrote yesterday about my order"))
    conversation = message.conversation
    page = agent_client.get(reverse("inbox:conversation", args=[conversation.pk]))
    panel = page.content.decode()
    assert "<strong>Inglese</strong>" in panel and "appresa dai suoi messaggi" in panel
    path = reverse("inbox:contact-language", args=[conversation.pk])
    chosen = agent_client.post(path, {"language": "it"}, **htmx("contact-language"))
    assert chosen.status_code == 200
    assert "<strong>Italiano</strong>" in chosen.content.decode()
    assert "(scelta)" in chosen.content.decode()
    contact = Contact.objects.get(pk=conversation.contact_id)
    assert (contact.language, contact.language_source) == ("it", "explicit")
    bad = agent_client.post(path, {"language": "<script>"})
    assert bad.status_code == 422
    assert Contact.objects.get(pk=contact.pk).language == "it"


def test_an_agent_cannot_set_the_language_of_another_teams_contact(
    agent_client, other_team_conversation
):
    path = reverse("inbox:contact-language", args=[other_team_conversation.pk])
    assert agent_client.post(path, {"language": "it"}).status_code == 404
    assert not Conversation.objects.get(pk=other_team_conversation.pk).contact.language
