"""The agent UI in Italian and in the agent's time zone (their AgentProfile), and the locale files
(every entry translated, the committed .mo compiled from the .po)."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from hub import services
from hub.models import Message
from hub.services import ingest
from inbox.models import AgentProfile
from tests.factories import inbound
from tests.inbox_helpers import htmx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.inbox_fixtures"]

PO = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.fixture
def italian(agent):
    AgentProfile.objects.create(user=agent, language="it", time_zone="Europe/Rome")
    return agent


def test_italian_agent_sees_the_inbox_in_italian(agent_client, italian, email_conversation):
    html = agent_client.get(reverse("inbox:inbox")).content.decode()
    assert '<html lang="it">' in html
    for text in (
        "Posta in arrivo",
        "Cerca nome, email, telefono, testo (/)",
        "Prima le scadenze",
        "Tutti i canali",
        "Aperta",  # the conversation's status
        "Non assegnata",
        "Scorciatoie da tastiera",
        "In diretta",  # the page script's strings
        "Preferenze",
    ):
        assert text in html, text
    assert "Search name, email" not in html


def test_italian_agent_sees_the_conversation_in_italian(
    agent_client, italian, email_conversation, endpoints
):
    services.assign(email_conversation, assignee=italian, by=italian)
    chat = ingest(inbound(endpoints["chat"], "visitor-3", text="Ciao")).conversation
    html = agent_client.get(
        reverse("inbox:conversation", args=[email_conversation.pk])
    ).content.decode()
    for text in (
        "Invia risposta",
        "Nota interna",
        "Assegna",
        "Risolvi",
        "Posticipa",
        "Cambia canale",
        "Recapiti",
        "Conversazioni precedenti",
        f"Assegnata a {italian.username}",  # an event, told again in Italian
        "Risposta dovuta entro",
        "indirizzo email",
    ):
        assert text in html, text
    chat_html = agent_client.get(reverse("inbox:conversation", args=[chat.pk])).content.decode()
    assert "Chat dal vivo" in chat_html and "Assegna a me" in chat_html
    notices = agent_client.post(
        reverse("inbox:check", args=[email_conversation.pk]),
        {"text": "Ciao", "mode": "note"},
        **htmx(),
    ).content.decode()
    assert "Le note interne le vede solo il tuo team" in notices


def test_errors_are_in_italian(agent_client, italian, email_conversation):
    response = agent_client.post(
        reverse("inbox:compose", args=[email_conversation.pk]),
        {"mode": "reply", "text": " "},
        **htmx(),
    )
    assert response.status_code == 422
    assert "Scrivi prima una risposta." in response.content.decode()


def test_times_are_shown_in_the_agents_time_zone(agent_client, agent, email_conversation):
    moment = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    Message.objects.filter(conversation=email_conversation).update(occurred_at=moment)
    url = reverse("inbox:conversation", args=[email_conversation.pk])
    profile = AgentProfile.objects.create(user=agent, language="en", time_zone="Europe/Rome")
    assert "15 Jan, 11:00" in agent_client.get(url).content.decode()
    profile.time_zone = "Asia/Tokyo"
    profile.save()
    agent_client.post(reverse("inbox:preferences"), {"language": "en", "time_zone": "Asia/Tokyo"})
    html = agent_client.get(url).content.decode()
    assert "15 Jan, 19:00" in html and 'datetime="2026-01-15T19:00:00+09:00"' in html


def test_profile_language_wins_over_the_browser(agent_client, agent, email_conversation):
    url = reverse("inbox:inbox")
    assert "Posta in arrivo" in agent_client.get(url, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    agent_client.post(reverse("inbox:preferences"), {"language": "en", "time_zone": ""})
    html = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Posta in arrivo" not in html and '<html lang="en">' in html


def test_login_page_follows_the_browser_language(client):
    html = client.get(reverse("inbox:login"), HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Accedi" in html and "Nome utente" in html


def _po_entries(text: str) -> list[tuple[str, list[str]]]:
    """(msgid, msgstrs) of every entry of a .po file (enough of the format for this check)."""

    def unquote(lines):
        return (
            "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines))
            .encode()
            .decode("unicode_escape")
            .encode("latin-1")
            .decode("utf-8")
        )

    entries = []
    for block in text.split("\n\n"):
        block = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not msgid:
            continue
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        key = unquote(msgid.group(1))
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', block, re.M)
        if context and key:  # a pgettext entry: the catalog keys it "context\x04msgid"
            key = f"{unquote(context.group(1))}\x04{key}"
        entries.append((key, [unquote(s) for s in strs]))
    return entries


def test_every_entry_is_translated_and_the_mo_is_compiled():
    entries = [(msgid, strs) for msgid, strs in _po_entries(PO.read_text()) if msgid]
    assert len(entries) > 250
    untranslated = [msgid for msgid, strs in entries if not all(strs)]
    assert not untranslated, untranslated
    with MO.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    for msgid, strs in entries:
        if len(strs) == 1:
            assert catalog.gettext(msgid) == strs[0], f".mo is stale for {msgid!r}"
