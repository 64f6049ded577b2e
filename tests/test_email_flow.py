"""Email end to end: threading by token, references and subject; CC participants; auto-replies
and DSN bounces; attachments with limits and sniffed types; outbound multipart replies; Anymail
tracking events; import_mail; the quarantine admin action; the bench generator."""

from __future__ import annotations

import io
import mailbox
import tracemalloc
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.urls import reverse

from channels_email import services
from channels_email.generator import write_eml_files, write_mbox
from channels_email.mailsource import iter_mbox
from channels_email.models import QuarantinedEmail, SentEmail
from crm.models import Identity
from hub.models import Conversation, LocalDelivery, Message
from hub.services import resolve, send_reply
from hub.sniffing import sniff
from tests.email_corpus import EMAIL_DIR

MAILBOX = "support@shop.example"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e5273ea40000000049454e44ae426082"
)


def mail(
    *,
    sender="Lucia Bianchi <lucia@example.it>",
    to=MAILBOX,
    subject="Ordine 42",
    body="Ciao, dov'è il mio ordine?",
    message_id="<m1@example.it>",
    **headers,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def ingest(raw: bytes, **kwargs):
    return services.ingest_raw_email(raw, source="test", **kwargs)


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def test_reply_token_then_references_then_subject_thread_in_that_order(support, on_commit):
    first = ingest(mail()).message
    conversation = first.conversation
    # Our reply address carries the token: the answer threads even without any header.
    token_to = f"support+{conversation.reply_token}@shop.example"
    by_token = ingest(mail(to=token_to, subject="nuovo", message_id="<m2@example.it>")).message
    assert by_token.conversation_id == conversation.pk
    # In-Reply-To of an earlier message (any arrival order works: the hub matches stored ids).
    by_ref = ingest(mail(subject="x", message_id="<m3@example.it>", In_Reply_To="<m1@example.it>"))
    assert by_ref.message.conversation_id == conversation.pk
    # A [#id] subject token of the same person.
    by_subject = ingest(mail(subject=f"Re: qualcosa [#{conversation.pk}]", message_id="<m4@x.it>"))
    assert by_subject.message.conversation_id == conversation.pk
    # Nothing: a new conversation; and a stranger's [#id] does not join someone else's thread.
    assert ingest(mail(subject="altro", message_id="<m5@x.it>")).message.conversation_id != (
        conversation.pk
    )
    stranger = ingest(
        mail(sender="eve@example.com", subject=f"[#{conversation.pk}]", message_id="<e@x>")
    )
    assert stranger.message.conversation_id != conversation.pk


def test_visible_text_html_and_the_full_original(support):
    message = EmailMessage()
    message["From"] = "Mario Rossi <mario@example.it>"
    message["To"] = MAILBOX
    message["Subject"] = "Perché?"
    message["Message-ID"] = "<html@example.it>"
    message.set_content(
        "Sì, va bene così.\n\nInviato da iPhone\n\n"
        "Il giorno 3 feb 2025, alle ore 10:00, Supporto <support@shop.example> ha scritto:\n"
        "> Gentile Mario, è partito.\n"
    )
    message.add_alternative(
        "<p>Sì, va bene così.</p><script>alert(1)</script><img src='https://t.example/p.gif'>"
        "<blockquote>Gentile Mario</blockquote>",
        subtype="html",
    )
    stored = ingest(bytes(message)).message
    assert stored.text == "Sì, va bene così."
    meta = stored.metadata["email"]
    assert meta["signature"] == "Inviato da iPhone"
    assert "Gentile Mario, è partito." in meta["original_text"]
    assert "<script" not in stored.html and "t.example" not in stored.html
    assert "Sì, va bene così." in stored.html


def test_cc_participants_become_identities_and_get_the_reply(support, on_commit):
    raw = mail(to=f"{MAILBOX}, Paolo <paolo@example.it>", Cc="Sara <sara@example.com>")
    first = ingest(raw).message
    addresses = {p["address"] for p in first.metadata["participants"]}
    assert addresses == {"paolo@example.it", "sara@example.com"}
    sara = Identity.objects.get(value="sara@example.com")
    assert sara.contact_id != first.sender_identity.contact_id and sara.contact.name == "Sara"
    with on_commit():
        send_reply(first.conversation, text="Ciao a tutti")
    sent = LocalDelivery.objects.get()
    assert sent.payload["to"] == ["lucia@example.it"]
    assert set(sent.payload["cc"]) == {"paolo@example.it", "sara@example.com"}


def test_auto_replies_neither_reopen_nor_restart_the_clock(support):
    conversation = ingest(mail()).message.conversation
    resolve(conversation)
    conversation.refresh_from_db()
    for headers in (
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"X_Autorespond": "1"},
    ):
        outcome = ingest(
            mail(
                message_id=f"<auto-{next(iter(headers))}@x>",
                In_Reply_To="<m1@example.it>",
                **headers,
            )
        )
        assert outcome.message.is_auto_reply
        assert outcome.message.conversation_id == conversation.pk
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED and conversation.due_at is None


def _sent_reply(support, on_commit) -> Message:
    first = ingest(mail()).message
    with on_commit():
        reply = send_reply(first.conversation, text="Arriva domani.")
    reply.refresh_from_db()
    return reply


def test_outbound_reply_is_multipart_from_the_template_with_threading_headers(support, on_commit):
    reply = _sent_reply(support, on_commit)
    local = LocalDelivery.objects.get()
    mime = local.payload["mime"]
    assert "multipart/alternative" in mime and "Arriva domani." in local.payload["html"]
    assert "> Ciao, dov'=C3=A8 il mio ordine?" in mime or "dov'è il mio ordine" in mime
    headers = local.payload["headers"]
    assert headers["Message-ID"] == f"<{reply.provider_message_id}>"
    assert headers["In-Reply-To"] == "<m1@example.it>"
    assert headers["X-Auto-Response-Suppress"] == "All"
    assert local.payload["reply_to"] == [f"support+{reply.conversation.reply_token}@shop.example"]
    assert SentEmail.objects.get(message=reply).message_id_header == reply.provider_message_id


def test_a_dsn_hard_bounce_marks_the_recipient_undeliverable(support, on_commit):
    reply = _sent_reply(support, on_commit)
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.it>\r\n"
        f"To: {MAILBOX}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@mx.example.it>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.it\r\n\r\n"
        "Final-Recipient: rfc822; lucia@example.it\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{reply.provider_message_id}>\r\n"
        "--B--\r\n"
    ).encode()
    bounce = ingest(dsn).message
    assert bounce.is_bounce and not bounce.is_auto_reply
    assert bounce.conversation_id == reply.conversation_id
    identity = Identity.objects.get(value="lucia@example.it")
    assert identity.undeliverable_at is not None and "5.1.1" in identity.undeliverable_reason
    reply.refresh_from_db()
    assert reply.delivery_status == "failed"
    assert reply.conversation.messages.filter(event_type="email_undeliverable").exists()


def _event(event_type, message_id, **extra):
    defaults = {"metadata": {}, "recipient": None, "reject_reason": None, "description": None,
                "mta_response": None}  # fmt: skip
    return SimpleNamespace(event_type=event_type, message_id=message_id, **{**defaults, **extra})


def test_tracking_events_move_the_status_and_a_hard_bounce_marks_the_identity(support, on_commit):
    reply = _sent_reply(support, on_commit)
    SentEmail.objects.filter(message=reply).update(esp_message_id="esp-123")
    services.apply_tracking_event(_event("delivered", "esp-123"), "Postmark")
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"
    services.apply_tracking_event(
        _event("opened", "", metadata={"hub_message_id": str(reply.pk)}), "Postmark"
    )
    reply.refresh_from_db()
    assert reply.delivery_status == "read"
    services.apply_tracking_event(_event("delivered", "esp-123"), "Postmark")  # late: ignored
    reply.refresh_from_db()
    assert reply.delivery_status == "read"
    services.apply_tracking_event(
        _event("bounced", "esp-123", recipient="lucia@example.it", reject_reason="bounced",
               mta_response="550 5.1.1 unknown user"), "Postmark",
    )  # fmt: skip
    identity = Identity.objects.get(value="lucia@example.it")
    assert identity.undeliverable_at and "550" in identity.undeliverable_reason
    events = reply.conversation.messages.filter(kind="event", event_type="email_undeliverable")
    assert events.count() == 1


def test_anymail_tracking_webhook_reaches_the_reply(client, support, on_commit, settings):
    """A Postmark bounce webhook through Anymail's own tracking URL, with basic auth."""
    import base64
    import json

    reply = _sent_reply(support, on_commit)
    SentEmail.objects.filter(message=reply).update(
        esp_message_id="883953f4-6105-42a2-a16a-77a8eac79483"
    )
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    payload = {
        "RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Description": "The server was unable",
        "Details": "smtp;550 5.1.1 The email account does not exist", "Email": "lucia@example.it",
        "From": MAILBOX, "BouncedAt": "2025-02-03T10:00:00Z", "Inactive": True, "CanActivate": True,
        "Subject": "Re: Ordine 42", "Metadata": {}, "Tag": "", "MessageStream": "outbound",
    }  # fmt: skip
    auth = base64.b64encode(b"user:pass").decode()
    response = client.post(
        "/anymail/postmark/tracking/", data=json.dumps(payload),
        content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}",
    )  # fmt: skip
    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == "failed"
    assert Identity.objects.get(value="lucia@example.it").undeliverable_at is not None


def test_attachments_are_sniffed_limited_and_inline_images_keep_their_cid(support, settings):
    settings.HUB_EMAIL = {**settings.HUB_EMAIL, "MAX_ATTACHMENT_BYTES": 1000}
    message = EmailMessage()
    message["From"] = "lucia@example.it"
    message["To"] = MAILBOX
    message["Subject"] = "files"
    message["Message-ID"] = "<files@x>"
    message.set_content("see attached")
    message.add_alternative('<p>logo <img src="cid:logo1"></p>', subtype="html")
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<logo1>", filename="logo.png")
    message.add_attachment(b"<html><script>x</script></html>", maintype="text", subtype="html",
                           filename="page.html")  # fmt: skip
    message.add_attachment(PNG, maintype="application", subtype="octet-stream", filename="x.bin")
    message.add_attachment(b"x" * 5000, maintype="application", subtype="zip", filename="big.zip")
    stored = ingest(bytes(message)).message
    files = {a.filename: a for a in stored.attachments.all()}
    assert files["logo.png"].content_id == "logo1" and files["logo.png"].content_type == "image/png"
    assert files["page.html"].content_type == "text/plain"  # never served as HTML
    assert files["x.bin"].content_type == "image/png"  # the bytes decide
    assert "big.zip" not in files
    skipped = stored.metadata["email"]["attachments_skipped"]
    assert skipped[0]["filename"] == "big.zip" and "limit" in skipped[0]["reason"]
    event = stored.conversation.messages.get(event_type="email_attachment_skipped")
    assert "big.zip" in event.text


def test_sniffing_rules():
    assert sniff(b"%PDF-1.7 ...", "image/jpeg", "a.jpg") == "application/pdf"
    assert sniff(b"<svg onload=alert(1)>", "image/svg+xml", "a.svg") == "text/plain"
    assert sniff(b"not a png", "image/png", "a.png") == "application/octet-stream"
    assert sniff(b"plain words", "", "notes.txt") == "text/plain"


def test_missing_sender_is_quarantined(support):
    # (Mail from our own mailbox is the team's: see tests/test_email_threading_relink.py.)
    assert ingest(b"Subject: nobody\r\n\r\nhi").quarantine.reason_code == "no_sender"
    assert ingest(b"").quarantine.reason_code == "empty"


def test_messages_without_message_id_are_still_idempotent(support):
    raw = mail(message_id=None)
    assert ingest(raw).status == "ingested"
    assert ingest(raw).status == "duplicate"


def test_import_mail_mbox_is_idempotent_and_keeps_going(support, tmp_path, capsys):
    path = write_mbox(tmp_path / "box.mbox", 30, seed=3)
    with path.open("ab") as fh:  # one message nobody can attribute
        fh.write(b"From x Mon Jan  6 09:00:00 2025\nSubject: orphan\n\nno sender here\n\n")
    out = io.StringIO()
    call_command("import_mail", str(path), "--no-progress", stdout=out)
    assert "imported 30, duplicates skipped 0, quarantined 1" in out.getvalue()
    out = io.StringIO()
    call_command("import_mail", str(path), "--no-progress", stdout=out)
    assert "imported 0, duplicates skipped 30, quarantined 1 (1 already there)" in out.getvalue()
    assert Message.objects.filter(direction="in").count() == 30
    replies = Message.objects.filter(direction="in", metadata__email__in_reply_to__len__gt=0)
    assert all(
        Message.objects.filter(provider_message_id=r.metadata["email"]["in_reply_to"][0],
                               conversation_id=r.conversation_id).exists()
        for r in replies
    )  # fmt: skip


def test_import_mail_folder_maildir_and_single_eml(support, tmp_path):
    folder = write_eml_files(tmp_path / "emls", 5, seed=9)
    call_command("import_mail", str(folder), "--no-progress", stdout=io.StringIO())
    box = mailbox.Maildir(tmp_path / "md", create=True)
    for raw in [mail(message_id=f"<md{i}@x>") for i in range(3)]:
        box.add(raw)
    call_command("import_mail", str(tmp_path / "md"), "--no-progress", stdout=io.StringIO())
    single = tmp_path / "one.eml"
    single.write_bytes(mail(message_id="<single@x>"))
    call_command("import_mail", str(single), "--no-progress", stdout=io.StringIO())
    assert Message.objects.filter(direction="in").count() == 9


def test_mbox_splitter_streams_in_constant_memory(tmp_path):
    path = write_mbox(tmp_path / "big.mbox", 3000, seed=5)
    tracemalloc.start()
    count = sum(1 for _ in iter_mbox(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 3000
    assert path.stat().st_size > 2_000_000 and peak < 500_000  # one message at a time


def test_import_mail_cpython_mbox(endpoint_for, tmp_path):
    endpoint_for("email", address="support@shop.example")
    out = io.StringIO()
    call_command("import_mail", str(EMAIL_DIR / "cpython/mailbox_01.mbox"), "--no-progress",
                 "--mailbox", MAILBOX, stdout=out)  # fmt: skip
    assert "1 messages" in out.getvalue()


def test_admin_reprocess_action(admin_client, endpoint_for):
    raw = mail(to="vendite@shop.example")
    item = ingest(raw).quarantine
    url = reverse("admin:channels_email_quarantinedemail_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(reverse("admin:channels_email_quarantinedemail_change",
                                    args=[item.pk])).status_code == 200  # fmt: skip
    raw_url = reverse("admin:channels_email_quarantinedemail_raw", args=[item.pk])
    assert admin_client.get(raw_url).content == raw
    endpoint_for("email", address="vendite@shop.example")
    response = admin_client.post(url, {"action": "reprocess", "_selected_action": [item.pk]})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == QuarantinedEmail.Status.REPROCESSED and item.message is not None


def test_original_message_download(admin_client, support):
    stored = ingest(mail()).message
    response = admin_client.get(f"/channels/email/messages/{stored.pk}/original/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == mail()
