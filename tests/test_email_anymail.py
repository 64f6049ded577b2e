"""Every captured Anymail inbound request (tests/data/anymail/<esp>/*.json) replayed through our
URLs with the Anymail settings that were in effect: authentication is Anymail's (basic auth and
each ESP's signature), and what it accepts lands in the right mailbox and conversation, or is
quarantined with a reason; what it rejects is rejected the same way as upstream.

Faked at the provider boundary only: Resend's API (``responses``: its inbound webhook only carries
an email id, the content is fetched) and Amazon S3 (botocore's ``Stubber``: SES can leave the
message in a bucket; boto3 does not use ``requests``). Resend signs with a timestamp (svix), so
those replays travel to the capture's timestamp with time-machine.
"""

from __future__ import annotations

import base64
import inspect
from io import BytesIO

import boto3
import pytest
import time_machine
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from django.test import Client, override_settings

from channels_email.models import QuarantinedEmail
from hub.models import Message
from tests.anymail_replay import replay, settings_of
from tests.email_corpus import ANYMAIL_DIR, anymail_captures, load_json

MAILBOXES = [
    "test@inbound.example.com",
    "inbound@example.com",
    "recipient@example.org",
    "to@example.org",
    "test@anymail.dev",
    "envelope-recipient@example.com",
    "mailbox@inbound.postmarkapp.com",
    "inbound@sg.example.com",
]
BASIC = "test@inbound.example.com", "from+test@example.org"
# capture -> ("stored", mailbox, sender) | ("quarantined", reason code) | ("nothing",)
# "nothing": the request carries no email (a security test posting a bare event).
EXPECTED = {
    "amazon_ses/test_inbound_s3": ("stored", "inbound@example.com", "someone@example.com"),
    "amazon_ses/test_inbound_sns_base64": ("stored", "inbound@example.com", "from@example.org"),
    "amazon_ses/test_inbound_sns_utf8": ("stored", "inbound@example.com", "from@example.org"),
    "brevo/test_attachments": ("quarantined", "no_sender"),
    # Only envelope headers (Return-Path, Delivered-To): an empty email, still stored.
    "brevo/test_envelope_attrs": ("stored", "recipient@example.org", "sender@example.com"),
    "brevo/test_inbound_basics": ("stored", "test@anymail.dev", "from@example.com"),
    "mailersend/test_inbound": ("stored", "envelope-recipient@example.com", "sender@example.org"),
    "mailgun/test_attachments": ("quarantined", "no_sender"),
    # MailerSend's security tests post {"raw": "..."}: bytes with no sender, kept in quarantine.
    **{
        f"mailersend/{name}": ("quarantined", "no_sender")
        for name in (
            "test_supports_credential_rotation", "test_supports_credential_rotation__2",
            "test_verifies_basic_auth", "test_verifies_correct_signature", "test_warns_if_no_auth",
            "test_webhook_signing_secret_is_different", "test_works_with_login_required_middleware",
        )
    },
    "mailgun/test_filtered_attachment_filenames": ("quarantined", "no_sender"),
    "mailgun/test_inbound_basics": ("stored", *BASIC),
    "mailgun/test_inbound_mime": ("stored", "test@inbound.example.com", "test@example.org"),
    "mailgun/test_unusual_content_id_map": ("quarantined", "no_sender"),
    "mailjet/test_attachments": ("quarantined", "no_sender"),
    "mailjet/test_inbound_basics": ("stored", *BASIC),
    # The envelope recipient (delivered-to@) is no mailbox of ours: the To address decides.
    "mandrill/test_inbound_basics": ("stored", "test@inbound.example.com", "test@example.org"),
    "postal/test_attachments": ("stored", "test@inbound.example.com", "from@example.org"),
    "postal/test_inbound_basics": ("stored", *BASIC),
    "postmark/test_attachments": ("quarantined", "no_sender"),
    "postmark/test_check_payload": (
        "stored", "mailbox@inbound.postmarkapp.com", "support@postmarkapp.com"),
    "postmark/test_check_payload__2": (
        "stored", "mailbox@inbound.postmarkapp.com", "support@postmarkapp.com"),
    "postmark/test_inbound_basics": ("stored", *BASIC),
    "postmark/test_inbound_with_raw_email": ("stored", *BASIC),
    "postmark/test_spammy_address": ("quarantined", "no_endpoint"),
    "resend/test_attachments": ("stored", "to@example.org", "from@example.com"),
    "resend/test_event_id_from_svix_header": ("stored", "to@example.org", "from@example.com"),
    "resend/test_inbound_basics_parsed_fields": (
        "stored", "recipient@example.org", "from@example.com"),
    "resend/test_inbound_basics_raw_mime": ("stored", "recipient@example.org", "from@example.com"),
    "sendgrid/test_attachments": ("quarantined", "no_sender"),
    "sendgrid/test_filtered_attachment_filenames": ("quarantined", "no_sender"),
    "sendgrid/test_inbound_basics": ("stored", *BASIC),
    "sendgrid/test_inbound_charsets": ("stored", "inbound@sg.example.com", "sender@example.com"),
    "sendgrid/test_inbound_mime": ("stored", "test@inbound.example.com", "test@example.org"),
    "sparkpost/test_attachments": ("stored", "test@inbound.example.com", "from@example.org"),
    "sparkpost/test_inbound_basics": ("stored", *BASIC),
}  # fmt: skip

CAPTURES = anymail_captures()
NAMES = [f"{p.parent.name}/{p.stem}" for p in CAPTURES]

# Resend's "retrieve received email" API, shaped as Resend documents it (the same shapes
# django-anymail's own tests use). The inbound webhook carries only the email id.
RESEND_EMAIL_ID = "56761188-7520-42d8-8898-ff6fc54ce618"
RESEND_API = f"https://api.resend.com/emails/receiving/{RESEND_EMAIL_ID}"
RESEND_RAW_MIME = (
    "From: Sender Name <from@example.com>\r\nTo: recipient@example.org\r\n"
    "Subject: Testing Resend inbound\r\nDate: Thu, 22 Feb 2024 23:41:11 +0000\r\n"
    "Message-ID: <ABCDE12345@mail.example.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=boundary\r\n\r\n--boundary\r\n"
    "Content-Type: text/plain\r\n\r\nHello, world!\r\n--boundary\r\nContent-Type: text/html\r\n\r\n"
    "<p>Hello, world!</p>\r\n--boundary--\r\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _resend_api(http_mock, test: str) -> None:
    base = {"id": RESEND_EMAIL_ID, "cc": [], "bcc": [], "reply_to": [], "attachments": []}
    if test == "test_inbound_basics_raw_mime":
        raw_url = "https://cdn.example.com/raw/email.eml?token=abc123"
        http_mock.get(RESEND_API, json={**base, "from": "Sender Name <from@example.com>",
                      "to": ["recipient@example.org"], "subject": "Testing Resend inbound",
                      "raw": {"download_url": raw_url}})  # fmt: skip
        http_mock.get(raw_url, body=RESEND_RAW_MIME.encode(), content_type="message/rfc822")
    elif test == "test_inbound_basics_parsed_fields":
        http_mock.get(RESEND_API, json={**base, "from": "Sender <from@example.com>",
                      "to": ["recipient@example.org"], "cc": ["cc@example.com"],
                      "reply_to": ["reply@example.com"], "subject": "Test subject",
                      "html": "<p>Hi</p>", "text": "Hi",
                      "headers": {"Message-ID": "<msg@example.com>",
                                  "Date": "Thu, 22 Feb 2024 23:41:11 +0000"},
                      "message_id": "<msg@example.com>"})  # fmt: skip
    elif test == "test_attachments":
        attachments = [
            ("att-1", "test.txt", "text/plain", "attachment", None, b"Hello from attachment"),
            ("att-2", "image.png", "image/png", "inline", "img001", PNG),
        ]
        http_mock.get(RESEND_API, json={**base, "from": "from@example.com",
                      "to": ["to@example.org"], "subject": "", "html": None, "text": None,
                      "headers": {}, "attachments": [{"id": i, "filename": f, "content_type": t,
                                       "content_disposition": d, "content_id": c,
                                       "download_url": f"https://cdn.example.com/{i}"}
                                      for i, f, t, d, c, _ in attachments]})  # fmt: skip
        for ident, _, ctype, _, _, content in attachments:
            http_mock.get(f"https://cdn.example.com/{ident}", body=content, content_type=ctype)
    else:
        http_mock.get(RESEND_API, json={**base, "from": "from@example.com",
                      "to": ["to@example.org"], "subject": "", "html": None, "text": None,
                      "headers": {}})  # fmt: skip


def _brevo_attachments(http_mock) -> None:
    """Brevo's inbound webhook names attachments by download token; the files come from its API."""
    base = "https://api.brevo.com/v3/inbound/attachments/"
    sample = (ANYMAIL_DIR / "test_files/sample_email.txt").read_bytes()
    http_mock.get(
        f"{base}download-token-text", body=b"Test attachment\n", content_type="text/plain"
    )
    http_mock.get(f"{base}download-token-image", body=PNG, content_type="image/png")
    http_mock.get(f"{base}download-token-email", body=sample, content_type="message/rfc822")


def _stub_s3(monkeypatch, *, content: bytes | None):
    client = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("s3")
    stubber = Stubber(client)
    # Anymail releases differ: some call get_object, others download_fileobj, which asks
    # head_object first (s3transfer). Stub what the installed one will ask for, in order.
    source = inspect.getsource(AmazonSESInboundWebhookView)
    via_transfer = "download_fileobj" in source
    if content is None:
        stubber.add_client_error("head_object" if via_transfer else "get_object",
                                 service_error_code="AccessDenied",
                                 http_status_code=403)  # fmt: skip
    else:
        if via_transfer:
            stubber.add_response(
                "head_object",
                {"ContentLength": len(content), "ETag": '"seed"'},
                {"Bucket": ANY, "Key": ANY},
            )
        stubber.add_response(
            "get_object",
            {
                "Body": StreamingBody(BytesIO(content), len(content)),
                "ContentLength": len(content),
                "ETag": '"seed"',
            },
        )
    stubber.activate()
    monkeypatch.setattr(
        AmazonSESInboundWebhookView, "get_boto_client", lambda self, name, **kw: client
    )


# Captures Anymail accepted with no authentication at all (no WEBHOOK_SECRET, no signing
# secret): refused here (see tests/test_email_anymail_auth.py).
REFUSED_HERE = {"resend/test_basic_auth_required_without_secret"}


def _misconfiguration(capture: dict) -> bool:
    return (capture.get("raised") or "").startswith("AnymailConfigurationError")


def _travel_target(capture: dict):
    stamp = (capture.get("headers") or {}).get("svix-timestamp")
    return float(stamp) if stamp else None


@pytest.mark.parametrize("path", CAPTURES, ids=NAMES)
def test_anymail_capture_replays(client, endpoint_for, http_mock, monkeypatch, path):
    capture = load_json(path)
    name = f"{path.parent.name}/{path.stem}"
    for mailbox in MAILBOXES:
        endpoint_for("email", address=mailbox)
    if path.parent.name == "resend":
        _resend_api(http_mock, path.stem)
    if name == "brevo/test_attachments":
        _brevo_attachments(http_mock)
    if name == "amazon_ses/test_inbound_s3":
        _stub_s3(monkeypatch, content=(ANYMAIL_DIR / "test_files/sample_email.txt").read_bytes())
    if name == "amazon_ses/test_inbound_s3_failure_message":
        _stub_s3(monkeypatch, content=None)
    stamp = _travel_target(capture)
    traveller = time_machine.travel(stamp, tick=False) if stamp else None

    with override_settings(**settings_of(capture)):
        if traveller:
            traveller.start()
        try:
            if name in REFUSED_HERE or _misconfiguration(capture):
                # Unauthenticated (no basic-auth secret and no signature), or misconfigured
                # (a missing signing key, a tracking webhook pointed at the inbound URL):
                # Anymail accepted or raised; the hub answers 503 with the reason and stores
                # nothing (channels_email.webhooks), the ESP retries.
                response = replay(Client(raise_request_exception=False), capture)
                assert response.status_code == 503, response.content
                assert b"not configured" in response.content
                assert not Message.objects.exists() and not QuarantinedEmail.objects.exists()
                return
            if capture.get("raised"):
                # An unreadable S3 object: Anymail raises, the ESP retries.
                exception_name = capture["raised"].split(":")[0]
                with pytest.raises(Exception) as excinfo:
                    replay(client, capture)
                assert type(excinfo.value).__name__ == exception_name
                assert not Message.objects.exists()
                return
            response = replay(client, capture)
        finally:
            if traveller:
                traveller.stop()

    assert response.status_code == capture["response_status"], response.content
    expected = EXPECTED.get(name, ("nothing",))
    if response.status_code != 200:
        expected = ("nothing",)  # rejected by Anymail's authentication
    messages = Message.objects.filter(direction="in", kind="message")
    if expected[0] == "nothing":
        assert not messages.exists() and not QuarantinedEmail.objects.exists()
        return
    if expected[0] == "quarantined":
        item = QuarantinedEmail.objects.get()
        assert item.reason_code == expected[1] and item.source == f"anymail:{path.parent.name}"
        assert not messages.exists() and bytes(item.raw)
        return
    _, mailbox, sender = expected
    message = messages.select_related("endpoint", "sender_identity", "conversation").get()
    assert message.endpoint.address == mailbox
    assert message.sender_identity.value == sender
    assert message.conversation.contact_id == message.sender_identity.contact_id
    assert message.conversation.endpoint_id == message.endpoint_id
    assert message.metadata["email"]["source"] == f"anymail:{path.parent.name}"


def test_every_capture_is_covered():
    accepted = {n for n, p in zip(NAMES, CAPTURES, strict=True)
                if load_json(p).get("response_status") == 200} - REFUSED_HERE  # fmt: skip
    with_email = set(EXPECTED)
    assert with_email <= accepted
    assert len(CAPTURES) >= 71


def test_replay_is_idempotent_and_threads_the_answer(client, endpoint_for, http_mock):
    """The same delivery twice stores one message; an answer to it joins its conversation."""
    endpoint_for("email", address="test@inbound.example.com")
    capture = load_json(ANYMAIL_DIR / "postmark/test_inbound_basics.json")
    with override_settings(**settings_of(capture)):
        replay(client, capture)
        replay(client, capture)
    first = Message.objects.get(direction="in")
    assert first.provider_message_id == "CAEPk3R+4Zr@mail.example.org"
    cc = {p["address"] for p in first.metadata["participants"]}
    assert cc == {"other@example.com", "cc@example.com"}
    answer = dict(capture)
    body = dict(capture["body_json"] if capture.get("body_json") else capture["body"])
    body["MessageID"] = "second"
    body["Headers"] = [
        {"Name": "Message-ID", "Value": "<second@mail.example.org>"},
        {"Name": "In-Reply-To", "Value": "<CAEPk3R+4Zr@mail.example.org>"},
    ]
    answer["body"], answer["body_json"] = body, None
    with override_settings(**settings_of(capture)):
        assert replay(client, answer).status_code == 200
    second = Message.objects.exclude(pk=first.pk).get(direction="in")
    assert second.conversation_id == first.conversation_id
