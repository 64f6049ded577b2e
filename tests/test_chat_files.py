"""Files on a chat reply reach the visitor as signed, expiring download links in the message's
payload (pushed and resynced); the download is an attachment with nosniff, and a link never
opens anything but a reply's file."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from channels_chat import files, services
from channels_chat.payloads import visitor_payload
from hub.inbound import InboundAttachment
from hub.models import Attachment, Message
from hub.services import ingest, send_reply
from tests.chat_helpers import chat_endpoint, visitor
from tests.factories import UserFactory, inbound
from tests.inbox_helpers import htmx

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% listino prezzi\n%%EOF\n"


@pytest.fixture
def chat():
    endpoint = chat_endpoint()
    agent = UserFactory(first_name="Giulia")
    endpoint.team.members.add(agent)
    _token, who = visitor(endpoint)
    first = services.send_message(who, "Avete il listino?", "c1", "https://shop.example/")
    return who, first.conversation, agent


def _reply_with_file(conversation, agent, name="listino 2026.pdf", content=PDF):
    return send_reply(
        conversation,
        text="Eccolo",
        author=agent,
        attachments=[InboundAttachment(name, "application/pdf", content)],
    )


def test_a_reply_with_a_file_carries_a_download_link_the_visitor_can_open(chat):
    _who, conversation, agent = chat
    reply = _reply_with_file(conversation, agent)
    [item] = visitor_payload(reply)["files"]
    assert (item["name"], item["size"]) == ("listino 2026.pdf", len(PDF))
    assert item["url"].startswith("/chat/files/") and item["url"].endswith("/listino_2026.pdf")

    response = Client().get(item["url"])  # no session, no token: the signature is the key
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "listino 2026.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_resync_gives_the_files_with_fresh_links(chat):
    who, conversation, agent = chat
    reply = _reply_with_file(conversation, agent)
    state = services.history(who)
    [synced] = [m for m in state["messages"] if m["id"] == reply.pk]
    assert [f["name"] for f in synced["files"]] == ["listino 2026.pdf"]
    assert Client().get(synced["files"][0]["url"]).status_code == 200


def test_the_resync_reads_the_files_in_one_query_whatever_their_number(chat):
    who, conversation, agent = chat
    _reply_with_file(conversation, agent)
    with CaptureQueriesContext(connection) as one:
        services.history(who)
    for n in range(3):
        _reply_with_file(conversation, agent, name=f"file-{n}.pdf")
    with CaptureQueriesContext(connection) as four:
        state = services.history(who)
    assert sum(len(m.get("files", [])) for m in state["messages"]) == 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_a_tampered_or_expired_link_is_a_404(chat):
    _who, conversation, agent = chat
    url = visitor_payload(_reply_with_file(conversation, agent))["files"][0]["url"]
    token = url.split("/")[3]
    assert Client().get(url.replace(token, token[:-2] + "xx")).status_code == 404
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert Client().get(url).status_code == 404


def test_a_link_opens_only_a_replys_file(chat, endpoint_for):
    """A signed id of any other attachment (the person's own email files) opens nothing."""
    message = ingest(
        inbound(
            endpoint_for("email"),
            "anna@example.com",
            text="see attached",
            attachments=[InboundAttachment("private.pdf", "application/pdf", PDF)],
        )
    )
    attachment = Attachment.objects.get(message=message)
    assert Client().get(files.file_path(attachment)).status_code == 404


def test_the_visitors_own_messages_and_notes_carry_no_files(chat):
    _who, conversation, _agent = chat
    own = Message.objects.get(conversation=conversation, direction="in")
    assert "files" not in visitor_payload(own)


def test_the_agent_composer_sends_files_on_a_chat_reply(chat, settings):
    _who, conversation, agent = chat
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(agent)
    response = client.post(
        reverse("inbox:compose", args=[conversation.pk]),
        {
            "mode": "reply",
            "text": "Ecco il listino",
            "attachments": SimpleUploadedFile("listino.pdf", PDF, content_type="application/pdf"),
        },
        **htmx(),
    )
    assert response.status_code == 200
    reply = Message.objects.get(conversation=conversation, direction="out")
    assert [f["name"] for f in visitor_payload(reply)["files"]] == ["listino.pdf"]
