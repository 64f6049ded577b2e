"""Files on a reply: the API's multipart body and the agent UI's composer both go through
``send_reply``, which stores them, checks count, total size and the channel, and the channel
delivers them (here: a real email through Django's mail backend)."""

from __future__ import annotations

import dataclasses

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hub import adapters
from hub.models import Attachment, Message
from hub.services import ingest
from tests.api_helpers import client_for
from tests.factories import inbound
from tests.inbox_helpers import htmx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
pytest_plugins = ["tests.inbox_fixtures"]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 20


def _files(*named: tuple[str, bytes, str]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, content, content_type=ctype) for name, content, ctype in named]


def _reply_url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/reply/"


def _compose(client, conversation, text: str, file: tuple[str, bytes, str], mode: str = "reply"):
    """The agent UI's composer, posted as htmx does, with one file."""
    return client.post(
        reverse("inbox:compose", args=[conversation.pk]),
        {"mode": mode, "text": text, "attachments": _files(file)[0]},
        **htmx(),
    )


@pytest.fixture
def email_reply(settings, email_conversation, on_commit):
    """Deliveries through Django's in-memory mail backend, so the test reads the real email."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return email_conversation


def test_api_reply_with_files_stores_them_and_the_email_carries_them(agent, email_reply, on_commit):
    api = client_for(agent)
    with on_commit():
        response = api.post(
            _reply_url(email_reply),
            {
                "text": "Ecco la fattura e la foto.",
                "attachments": _files(
                    ("fattura-1042.pdf", PDF, "application/pdf"),
                    ("foto.png", PNG, "image/png"),
                ),
            },
            format="multipart",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(a["filename"], a["size"]) for a in body["attachments"]] == [
        ("fattura-1042.pdf", len(PDF)),
        ("foto.png", len(PNG)),
    ]
    reply = Message.objects.get(pk=body["id"])
    stored = {a.filename: a for a in reply.attachments.all()}
    assert stored["fattura-1042.pdf"].content_type == "application/pdf"
    assert stored["fattura-1042.pdf"].file.read() == PDF
    assert stored["foto.png"].content_type == "image/png"

    [email] = mail.outbox
    assert email.to == ["anna@example.com"]
    assert "Ecco la fattura e la foto." in email.body
    sent = {name: (content, ctype) for name, content, ctype in _attachments_of(email)}
    assert sent["fattura-1042.pdf"] == (PDF, "application/pdf")
    assert sent["foto.png"][0] == PNG
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT


def _attachments_of(email) -> list[tuple[str, bytes, str]]:
    found = []
    for item in email.attachments:
        if isinstance(item, tuple):
            name, content, ctype = item
        else:  # a MIMEBase part
            name, content, ctype = (
                item.get_filename(),
                item.get_payload(decode=True),
                (item.get_content_type()),
            )
        found.append((name, content if isinstance(content, bytes) else content.encode(), ctype))
    return found


def test_api_reply_may_be_files_only(agent, email_reply, on_commit):
    with on_commit():
        response = client_for(agent).post(
            _reply_url(email_reply),
            {"attachments": _files(("ricevuta.pdf", PDF, "application/pdf"))},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    assert [a.filename for a in Attachment.objects.filter(message_id=response.json()["id"])] == [
        "ricevuta.pdf"
    ]
    assert [name for name, _, _ in _attachments_of(mail.outbox[0])] == ["ricevuta.pdf"]


def test_api_reply_without_a_declared_type_gets_one_from_the_name(agent, email_reply):
    response = client_for(agent).post(
        _reply_url(email_reply),
        {"text": "x", "attachments": _files(("listino.pdf", PDF, ""))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().content_type == "application/pdf"


def test_too_many_files_is_a_400_on_the_field_and_nothing_is_stored(agent, email_reply, settings):
    settings.HUB = {**settings.HUB, "MAX_REPLY_ATTACHMENTS": 2}
    response = client_for(agent).post(
        _reply_url(email_reply),
        {
            "text": "tre file",
            "attachments": _files(*[(f"{n}.pdf", PDF, "application/pdf") for n in range(3)]),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "attachments" in response.json()
    assert not Message.objects.filter(direction="out").exists()
    assert not Attachment.objects.exists()


def test_files_too_large_together_are_a_400_and_nothing_is_stored(agent, email_reply, settings):
    settings.HUB = {**settings.HUB, "MAX_REPLY_ATTACHMENT_BYTES": 1000}
    response = client_for(agent).post(
        _reply_url(email_reply),
        {
            "text": "troppo",
            "attachments": _files(
                ("a.bin", b"a" * 600, "application/octet-stream"),
                ("b.bin", b"b" * 600, "application/octet-stream"),
            ),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "too large" in str(response.json()["attachments"])
    assert not Message.objects.filter(direction="out").exists()


def test_an_empty_file_is_a_400(agent, email_reply):
    response = client_for(agent).post(
        _reply_url(email_reply),
        {"text": "vuoto", "attachments": _files(("vuoto.pdf", b"", "application/pdf"))},
        format="multipart",
    )
    assert response.status_code == 400
    assert "attachments" in response.json()


def test_a_channel_that_carries_no_files_refuses_them_with_the_reason(
    agent, api_endpoint, monkeypatch
):
    conversation = ingest(inbound(api_endpoint, "cust-9", text="hello")).conversation
    adapter = adapters.get_adapter("api")
    monkeypatch.setattr(
        type(adapter),
        "capabilities",
        dataclasses.replace(adapter.capabilities, supports_media=False),
    )
    response = client_for(agent).post(
        _reply_url(conversation),
        {"text": "see file", "attachments": _files(("a.pdf", PDF, "application/pdf"))},
        format="multipart",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no_media"
    assert not Message.objects.filter(direction="out").exists()


def test_the_schema_documents_the_multipart_reply(agent):
    schema = client_for(agent).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/conversations/{id}/reply/"]["post"]
    multipart = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    ref = multipart["$ref"].rsplit("/", 1)[-1]
    files = schema["components"]["schemas"][ref]["properties"]["attachments"]
    assert files["type"] == "array" and files["items"]["format"] == "binary"


# --- the agent UI's composer ----------------------------------------------------------------------


def test_the_composer_sends_files_with_the_reply(agent_client, email_reply, on_commit):
    with on_commit():
        response = _compose(
            agent_client, email_reply, "In allegato il reso.", ("reso.pdf", PDF, "application/pdf")
        )
    assert response.status_code == 200
    reply = Message.objects.get(conversation=email_reply, direction="out")
    assert [(a.filename, a.size) for a in reply.attachments.all()] == [("reso.pdf", len(PDF))]
    assert [name for name, _, _ in _attachments_of(mail.outbox[0])] == ["reso.pdf"]


def test_the_composer_takes_files_without_text(agent_client, email_reply):
    response = _compose(agent_client, email_reply, "", ("a.pdf", PDF, "application/pdf"))
    assert response.status_code == 200
    assert Message.objects.get(conversation=email_reply, direction="out").attachments.count() == 1


def test_the_composer_shows_why_files_are_refused(agent_client, email_reply, settings):
    settings.HUB = {**settings.HUB, "MAX_REPLY_ATTACHMENT_BYTES": 100}
    response = _compose(
        agent_client, email_reply, "con file", ("big.pdf", b"x" * 500, "application/pdf")
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "too large" in page and "con file" in page  # the reason, and the draft kept
    assert not Message.objects.filter(direction="out").exists()


def test_the_composer_offers_a_file_field_and_posts_multipart(agent_client, email_reply):
    page = agent_client.get(reverse("inbox:conversation", args=[email_reply.pk])).content.decode()
    assert 'type="file" name="attachments" multiple' in page
    assert 'hx-encoding="multipart/form-data"' in page and 'enctype="multipart/form-data"' in page


# --- what each channel carries, checked before the reply is stored ------------------------------


def _api_reply(agent, conversation, *named):
    return client_for(agent).post(
        _reply_url(conversation),
        {"text": "files", "attachments": _files(*named)},
        format="multipart",
    )


@pytest.fixture
def whatsapp_conversation(endpoints):
    return ingest(
        inbound(endpoints["whatsapp"], "+393471112233", text="Mi mandi il PDF?")
    ).conversation


def test_whatsapp_takes_one_file_per_message(agent, whatsapp_conversation, settings):
    settings.HUB_PUBLIC_URL = "https://hub.example"
    response = _api_reply(
        agent,
        whatsapp_conversation,
        ("a.pdf", PDF, "application/pdf"),
        ("b.pdf", PDF, "application/pdf"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_files"
    assert not Message.objects.filter(direction="out").exists()
    one = _api_reply(agent, whatsapp_conversation, ("a.pdf", PDF, "application/pdf"))
    assert one.status_code == 201, one.content


def test_mms_takes_at_most_5_mb_of_files(agent, sms_conversation, settings):
    settings.HUB_PUBLIC_URL = "https://hub.example"
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)
    response = _api_reply(agent, sms_conversation, ("big.pdf", big, "application/pdf"))
    assert response.status_code == 422
    assert response.json()["code"] == "files_too_large"
    assert not Message.objects.filter(direction="out").exists()


def test_sms_files_need_the_public_url_twilio_fetches_them_from(
    agent, sms_conversation, settings, on_commit
):
    settings.HUB_PUBLIC_URL = ""
    refused = _api_reply(agent, sms_conversation, ("a.png", PNG, "image/png"))
    assert refused.status_code == 422 and refused.json()["code"] == "no_public_url"
    settings.HUB_PUBLIC_URL = "https://hub.example"
    with on_commit():
        sent = _api_reply(agent, sms_conversation, ("a.png", PNG, "image/png"))
    assert sent.status_code == 201, sent.content
    reply = Message.objects.get(pk=sent.json()["id"])
    [media_url] = reply.local_deliveries.get().payload["media_urls"]
    assert media_url.startswith("https://hub.example/")


def test_send_reply_itself_checks_the_total_size(email_conversation, agent, settings):
    """The service's own check (callers other than the upload helper reach it directly)."""
    from hub.inbound import InboundAttachment
    from hub.services import ServiceError, send_reply

    settings.HUB = {**settings.HUB, "MAX_REPLY_ATTACHMENT_BYTES": 1000}
    with pytest.raises(ServiceError) as refused:
        send_reply(
            email_conversation,
            text="x",
            author=agent,
            attachments=[InboundAttachment("a.bin", "application/octet-stream", b"a" * 1001)],
        )
    assert refused.value.field == "attachments" and "too large" in refused.value.message
    assert not Message.objects.filter(direction="out").exists()


def test_the_composer_refuses_an_empty_file_and_asks_to_attach_again(agent_client, email_reply):
    response = _compose(agent_client, email_reply, "vuoto", ("e.pdf", b"", "application/pdf"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "empty" in page and "Attach the files again." in page
    assert not Message.objects.filter(direction="out").exists()


def test_a_note_takes_no_files(agent_client, email_reply):
    response = _compose(
        agent_client, email_reply, "vedi file", ("n.pdf", PDF, "application/pdf"), mode="note"
    )
    assert response.status_code == 422
    assert "Notes take no files" in response.content.decode()
    assert not Message.objects.filter(conversation=email_reply, kind="note").exists()
