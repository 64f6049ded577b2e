"""A transaction that rolls back leaves no attachment file behind (hub.files.atomic_with_files):
the file is written before its row, so without this every failed or lost race left an orphan."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from channels_email import services as email_services
from hub import services
from hub.files import atomic_with_files, note_written
from hub.inbound import InboundAttachment
from hub.models import Attachment, Message
from hub.services import ingestion
from tests.factories import inbound
from tests.test_email_flow import mail

pytestmark = pytest.mark.django_db


def files_on_disk() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def pdf(name: str = "fattura.pdf") -> InboundAttachment:
    return InboundAttachment(name, "application/pdf", b"%PDF-1.4 " + name.encode())


def test_a_failure_after_the_files_are_written_removes_them(api_endpoint, monkeypatch):
    before = files_on_disk()

    def broken(*args, **kwargs):
        raise RuntimeError("a later step failed")

    monkeypatch.setattr(ingestion, "conversation_payload", broken)
    with pytest.raises(RuntimeError):
        services.ingest(inbound(api_endpoint, attachments=[pdf("a.pdf"), pdf("b.pdf")]))
    assert not Attachment.objects.exists() and not Message.objects.exists()
    assert files_on_disk() == before


def test_a_retry_that_loses_the_race_writes_no_file(api_endpoint, monkeypatch):
    """Two deliveries of one provider message: the second passes the look-up (as when both run
    at once) and loses on the unique constraint, which the message row meets before any file
    is written; only the first's file exists."""
    first = services.ingest(
        inbound(api_endpoint, provider_message_id="p-1", attachments=[pdf("a.pdf")])
    )
    kept = files_on_disk()
    assert len(kept) == 1
    real_existing, calls = ingestion.stored_message, []

    def existing(item):  # misses on the pre-check, finds the row after the constraint refused
        calls.append(item)
        return None if len(calls) == 1 else real_existing(item)

    monkeypatch.setattr(ingestion, "stored_message", existing)
    outcome = services.ingest_with_outcome(
        inbound(api_endpoint, provider_message_id="p-1", attachments=[pdf("a.pdf")])
    )
    assert len(calls) == 2  # the copy did reach the constraint
    assert outcome.created is False and outcome.message.pk == first.pk
    assert Attachment.objects.count() == 1
    assert files_on_disk() == kept


def test_a_reply_whose_transaction_fails_leaves_no_file(endpoint_for, agent, monkeypatch):
    endpoint_for("email")
    conversation = email_services.ingest_raw_email(mail(), source="test").message.conversation
    before = files_on_disk()
    from hub.services import outbound

    def broken(*args, **kwargs):
        raise RuntimeError("failed after storing")

    monkeypatch.setattr(outbound, "message_payload", broken)
    with pytest.raises(RuntimeError):
        services.send_reply(conversation, text="Ecco", author=agent, attachments=[pdf()])
    assert files_on_disk() == before
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_an_email_whose_outer_step_fails_leaves_no_file(endpoint_for, monkeypatch):
    """The email channel's own transaction around the ingest (here: an attachment over the
    limit is recorded after the ingest) rolls back the files the ingest wrote; the message is
    quarantined with the error."""
    endpoint_for("email")
    before = files_on_disk()
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "lucia@example.it"
    message["To"] = "support@shop.example"
    message["Subject"] = "Allegati"
    message["Message-ID"] = "<att@example.it>"
    message.set_content("In allegato.")
    message.add_attachment(
        b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="a.pdf"
    )
    message.add_attachment(b"x" * 2048, maintype="application", subtype="pdf", filename="big.pdf")
    monkeypatch.setitem(settings.HUB_EMAIL, "MAX_ATTACHMENT_BYTES", 1024)

    def broken(*args, **kwargs):
        raise RuntimeError("the event could not be recorded")

    monkeypatch.setattr(email_services, "record_event", broken)
    outcome = email_services.ingest_raw_email(bytes(message), source="test")
    assert outcome.status == "quarantined"  # kept with the reason, not lost
    assert not Attachment.objects.exists()
    # What may stay is the original message, kept by content hash for the quarantine.
    assert all(p.startswith("email/raw/") for p in files_on_disk() - before)


def test_nested_blocks_hand_their_files_to_the_outer_one():
    before = files_on_disk()
    with pytest.raises(RuntimeError), atomic_with_files():
        with atomic_with_files():
            name = default_storage.save("nested/inner.txt", ContentFile(b"inner"))
            note_written(default_storage, name)
        assert default_storage.exists(name)  # the inner block committed its savepoint
        raise RuntimeError("the outer block rolls back")
    assert not default_storage.exists(name)
    assert files_on_disk() == before
    # Committed: the file stays.
    with atomic_with_files():
        name = default_storage.save("nested/kept.txt", ContentFile(b"kept"))
        note_written(default_storage, name)
    assert default_storage.exists(name)
