"""Raw MIME in: every message of the real-world corpus goes through POST
/channels/email/inbound/raw/ and is either stored (text decoded exactly as the stdlib decodes it)
or quarantined with a reason; never a 500, never dropped."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token

from channels_email.models import QuarantinedEmail
from hub.models import Message
from hub.text import clean_text
from tests.email_corpus import raw_email_files

RAW_URL = "/channels/email/inbound/raw/"
MAILBOX = "support@shop.example"


@pytest.fixture
def mta_token(db):
    user = User.objects.create(username="mta")
    user.user_permissions.add(Permission.objects.get(codename="submit_raw_email"))
    return Token.objects.create(user=user).key


def post_raw(client, token, raw: bytes, recipient: str = MAILBOX):
    return client.post(
        f"{RAW_URL}?recipient={recipient}",
        data=raw,
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def _stdlib_plain_text(raw: bytes) -> str | None:
    """The text/plain body as Python's email package decodes it, when it can."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        part = message.get_body(("plain",))
        if part is None or part.get_content_disposition() == "attachment":
            return None
        return part.get_content()
    except Exception:
        return None


FILES = raw_email_files()


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_corpus_message_is_stored_or_quarantined(client, endpoint_for, mta_token, path):
    endpoint_for("email")
    raw = path.read_bytes()
    response = post_raw(client, mta_token, raw)
    assert response.status_code == 202, response.content
    body = response.json()
    if body["status"] == "quarantined":
        item = QuarantinedEmail.objects.get(pk=body["quarantine_id"])
        assert item.reason and item.reason_code and bytes(item.raw) == raw
        assert item.status == "pending" and item.source == "raw_http"
        return
    assert body["status"] == "ingested"
    message = Message.objects.get(pk=body["message_id"])
    assert message.conversation_id == body["conversation_id"]
    assert message.endpoint.address == MAILBOX and message.direction == "in"
    meta = message.metadata["email"]
    # An email with nothing written in it has empty text (never its subject), and says so.
    assert message.text or message.attachments.exists() or meta["empty_body"] is True
    assert meta["raw"]["size"] == len(raw)
    # Accented and non-Latin text round-trips exactly, as the stdlib decodes it (where it can:
    # on a mislabelled charset, e.g. UTF-8 declared as gb2312, we decode better than it does).
    expected = _stdlib_plain_text(raw)
    if expected is not None and expected.strip() and "\ufffd" not in expected:
        full = clean_text(meta.get("original_text") or message.text)
        assert clean_text(expected) in full or clean_text(expected) == full
    # Posting it again stores nothing new.
    again = post_raw(client, mta_token, raw).json()
    assert again["status"] == "duplicate"
    assert Message.objects.filter(direction="in", kind="message").count() == 1


def test_corpus_outcomes_are_the_ones_we_expect(client, endpoint_for, mta_token):
    """Only messages with no sender at all are quarantined; the rest are stored, and bounces,
    reports and auto-replies are flagged."""
    endpoint_for("email")
    outcomes = {}
    for path in FILES:
        QuarantinedEmail.objects.all().delete()
        Message.objects.all().delete()
        outcomes[path.name] = post_raw(client, mta_token, path.read_bytes()).json()
    quarantined = {
        name: o["reason"] for name, o in outcomes.items() if o["status"] == "quarantined"
    }
    assert all("No sender address" in reason for reason in quarantined.values()), quarantined
    assert len(quarantined) <= 14
    assert sum(o["status"] == "ingested" for o in outcomes.values()) >= len(FILES) - 14


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("flanker__bilingual-simple.eml", "А эта линия по-русски."),  # noqa: RUF001
        ("flanker__mailgun-pic.eml", "Мейлган! Хахах!"),  # noqa: RUF001
        ("flanker__8bitmime.eml", "Превел"),
        ("mailparser__mail_test_12.eml", "你好！我公司可代开各类增值税发票"),  # noqa: RUF001
    ],
)
def test_non_latin_text_round_trips(client, endpoint_for, mta_token, name, fragment):
    endpoint_for("email")
    path = next(p for p in FILES if p.name == name)
    body = post_raw(client, mta_token, path.read_bytes()).json()
    assert fragment in Message.objects.get(pk=body["message_id"]).text


@pytest.mark.parametrize(
    "name, bounce",
    [
        ("flanker__bounce_gmail-invalid-address.eml", True),
        ("flanker__bounce_zed.eml", True),
        ("msg_16.txt", True),
        ("flanker__complaints_aol.eml", False),
        ("flanker__disposition-notification.eml", False),
    ],
)
def test_bounces_are_their_own_kind_and_reports_auto_replies(
    client, endpoint_for, mta_token, name, bounce
):
    endpoint_for("email")
    path = next(p for p in FILES if p.name == name)
    body = post_raw(client, mta_token, path.read_bytes()).json()
    message = Message.objects.get(pk=body["message_id"])
    assert message.metadata["email"]["auto_reply"]  # machine-written, whichever kind
    assert message.is_bounce is bounce and message.is_auto_reply is not bounce
    if bounce:
        assert message.metadata["email"]["bounce"]["recipients"]


def test_raw_endpoint_needs_a_token_with_the_permission(client, endpoint_for):
    endpoint_for("email")
    raw = b"From: a@example.com\r\nTo: support@shop.example\r\nSubject: x\r\n\r\nhi\r\n"
    assert post_raw(client, "nope", raw).status_code == 401
    plain_user = Token.objects.create(user=User.objects.create(username="plain")).key
    assert post_raw(client, plain_user, raw).status_code == 403
    assert not Message.objects.exists()


def test_raw_endpoint_refuses_oversized_and_empty_bodies(client, endpoint_for, mta_token, settings):
    endpoint_for("email")
    settings.HUB_EMAIL = {**settings.HUB_EMAIL, "MAX_RAW_BYTES": 100}
    raw = b"From: a@example.com\r\nTo: support@shop.example\r\n\r\n" + b"x" * 200
    assert post_raw(client, mta_token, raw).status_code == 413
    assert post_raw(client, mta_token, b"  ").status_code == 400


def test_unknown_recipient_is_quarantined_and_reprocessed_once_the_mailbox_exists(
    client, endpoint_for, mta_token
):
    from channels_email.services import reprocess_quarantined

    raw = (
        "From: Lucia Bianchi <lucia@example.it>\r\nTo: vendite@shop.example\r\n"
        "Subject: Perché?\r\nMessage-ID: <q1@example.it>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nÈ già partito?\r\n"
    ).encode()
    body = post_raw(client, mta_token, raw, recipient="").json()
    assert body["status"] == "quarantined" and "vendite@shop.example" in body["reason"]
    item = QuarantinedEmail.objects.get()
    assert item.reason_code == "no_endpoint" and item.subject == "Perché?"
    # The same bytes again: still one row, one more attempt.
    post_raw(client, mta_token, raw, recipient="")
    item.refresh_from_db()
    assert QuarantinedEmail.objects.count() == 1 and item.attempts == 2
    endpoint_for("email", address="vendite@shop.example")
    outcome = reprocess_quarantined(item)
    assert outcome.status == "ingested" and outcome.message.text == "È già partito?"
    item.refresh_from_db()
    assert item.status == "reprocessed" and item.message_id == outcome.message.pk
