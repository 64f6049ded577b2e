"""Email in every shape (issue #17, Parsing): forwards with and without a note, bounces as their
own kind (DSN and plain-text, hard and soft), empty bodies, charsets that lie, broken MIME
boundaries. Each case is stored through the real ingest and read back as the agent sees it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from channels_email import services
from channels_email.parsing import decode_text, parse_bytes
from crm.models import Identity
from hub.models import Message
from hub.services import send_reply
from tests.email_corpus import EMAIL_DIR

pytest_plugins = ["tests.inbox_fixtures"]

MAILBOX = "support@shop.example"


def raw_mail(body: bytes | str, *, headers: str = "", subject: str = "Ordine 42") -> bytes:
    head = (
        "From: Marco Rossi <marco@example.it>\r\n"
        f"To: {MAILBOX}\r\nSubject: {subject}\r\nMessage-ID: <shape-{abs(hash(body))}@example.it>"
        "\r\nMIME-Version: 1.0\r\n" + headers
    )
    if not headers:
        head += "Content-Type: text/plain; charset=utf-8\r\n"
    body = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode() + b"\r\n" + body


def ingest(raw: bytes):
    outcome = services.ingest_raw_email(raw, source="test")
    assert outcome.status == "ingested", outcome
    return outcome.message


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def page(client, message: Message) -> str:
    response = client.get(reverse("inbox:conversation", args=[message.conversation_id]))
    assert response.status_code == 200
    return response.content.decode()


FORWARD_WITH_NOTE = """Vedi sotto, il corriere dice che l'indirizzo è sbagliato. Potete verificare?

Marco

---------- Forwarded message ---------
From: BRT Notifiche <noreply@brt.example>
Date: Mon, 3 Mar 2025 at 10:12
Subject: Consegna non riuscita
To: <marco@example.it>

Gentile cliente, la consegna della spedizione 998877 non è riuscita: indirizzo errato.
"""


def test_a_forward_with_a_note_shows_the_note_and_keeps_the_forwarded_message_apart(
    support, agent_client
):
    message = ingest(raw_mail(FORWARD_WITH_NOTE, subject="Fwd: Consegna non riuscita"))
    assert message.text.startswith("Vedi sotto, il corriere dice")
    assert "spedizione 998877" not in message.text and "Forwarded message" not in message.text
    forwarded = message.metadata["email"]["forwarded"]
    assert forwarded["from"] == "BRT Notifiche <noreply@brt.example>"
    assert forwarded["subject"] == "Consegna non riuscita"
    assert forwarded["date"] == "Mon, 3 Mar 2025 at 10:12"
    assert forwarded["text"].startswith("Gentile cliente, la consegna della spedizione 998877")
    assert forwarded["with_note"] is True
    html = page(agent_client, message)
    assert '<details class="forwarded">' in html and "spedizione 998877" in html
    # Searchable: the inbox search finds the conversation by the forwarded text.
    found = agent_client.get(reverse("inbox:inbox"), {"q": "998877"}).content.decode()
    assert f"/app/c/{message.conversation_id}/" in found


def test_an_italian_client_forward_with_a_note(support):
    body = (
        "Vi giro la mail del fornitore.\n\n"
        "-------- Messaggio inoltrato --------\n"
        "Da: Fornitore <info@fornitore.example>\n"
        "Data: 4 marzo 2025 11:00\n"
        "Oggetto: Ritardo consegna\n"
        "A: marco@example.it\n\n"
        "Il lotto arriverà la settimana prossima.\n"
    )
    message = ingest(raw_mail(body))
    assert message.text == "Vi giro la mail del fornitore."
    forwarded = message.metadata["email"]["forwarded"]
    assert forwarded["from"] == "Fornitore <info@fornitore.example>"
    assert forwarded["subject"] == "Ritardo consegna"
    assert forwarded["text"] == "Il lotto arriverà la settimana prossima."


def test_a_forward_without_a_note_shows_the_forwarded_message(support, agent_client):
    body = FORWARD_WITH_NOTE.split("Marco\n\n", 1)[1]
    message = ingest(raw_mail(body))
    assert "spedizione 998877" in message.text
    assert message.metadata["email"]["forwarded"]["with_note"] is False
    html = page(agent_client, message)
    assert "spedizione 998877" in html and '<details class="forwarded">' not in html


def _dsn(original_id: str, *, recipient: str, action: str, status: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.it>\r\n"
        f"To: {MAILBOX}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{status}-{recipient}@mx.example.it>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nDelivery report.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.it\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status} mailbox problem\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_id}>\r\nSubject: Re: Ordine 42\r\n"
        "--B--\r\n"
    ).encode()


def _reply_to_lucia(support, on_commit) -> Message:
    first = ingest(raw_mail("Ciao, dov'è il mio ordine?").replace(b"marco@", b"lucia@"))
    with on_commit():
        reply = send_reply(first.conversation, text="Arriva domani.")
    reply.refresh_from_db()
    return reply


def test_a_hard_bounce_is_its_own_kind_with_its_recipient_and_no_customer_attachments(
    support, on_commit, agent_client
):
    reply = _reply_to_lucia(support, on_commit)
    bounce = ingest(
        _dsn(
            reply.provider_message_id, recipient="lucia@example.it", action="failed", status="5.1.1"
        )
    )
    assert bounce.is_bounce and not bounce.is_auto_reply
    assert bounce.conversation_id == reply.conversation_id
    assert not bounce.attachments.exists()  # the report's parts are not the person's files
    summary = bounce.metadata["email"]["bounce"]
    assert summary["recipients"][0]["address"] == "lucia@example.it"
    assert summary["recipients"][0]["status"] == "5.1.1" and summary["recipients"][0]["hard"]
    assert Identity.objects.get(value="lucia@example.it").undeliverable_at is not None
    html = page(agent_client, bounce)
    assert "Delivery failure" in html and "lucia@example.it · 5.1.1" in html


def test_a_soft_bounce_is_noted_and_the_address_stays_usable(support, on_commit):
    reply = _reply_to_lucia(support, on_commit)
    bounce = ingest(
        _dsn(
            reply.provider_message_id,
            recipient="lucia@example.it",
            action="delayed",
            status="4.2.2",
        )
    )
    assert bounce.is_bounce
    assert Identity.objects.get(value="lucia@example.it").undeliverable_at is None
    note = reply.conversation.messages.get(event_type="email_soft_bounce")
    assert "4.2.2" in note.text and note.metadata["address"] == "lucia@example.it"
    reply.refresh_from_db()
    assert reply.delivery_status != "failed"


def test_a_hard_bounce_of_mail_we_do_not_know_still_marks_a_known_address(support):
    Identity.objects.create(
        contact=ingest(raw_mail("Ciao").replace(b"marco@", b"gianni@")).conversation.contact,
        kind="email",
        value="gianni.old@example.it",
    )
    ingest(_dsn("unknown@elsewhere", recipient="gianni.old@example.it", action="failed",
                status="5.1.1"))  # fmt: skip
    assert Identity.objects.get(value="gianni.old@example.it").undeliverable_at is not None


@pytest.mark.parametrize(
    "name, recipient, hard",
    [
        ("flanker__bounce_gmail-invalid-address.eml", "awfawfawfawfawfaw@someserverhere.com", True),
        ("flanker__bounce_gmail-no-dns.eml", "user@example.comm", True),
        ("flanker__bounce_broken-mime.eml", "info@example.net", True),
        ("flanker__bounce_mailbox-full.eml", "user@aol.com", True),
        ("flanker__bounce_no-mx.eml", "user@example.com", False),
        ("flanker__bounce_delayed.eml", "foo@example.com", False),
        ("flanker__bounce_office365.eml", "noname@example.com", True),
        ("flanker__bounce_zed.eml", None, True),
    ],
)
def test_every_bounce_of_the_corpus_is_a_bounce_with_its_failed_recipient(name, recipient, hard):
    _, parsed = parse_bytes((EMAIL_DIR / "other" / name).read_bytes())
    assert parsed.is_bounce and not parsed.is_auto_reply
    report = parsed.reports[0]
    if recipient:
        assert report.recipient == recipient
    assert report.is_hard_bounce is hard
    assert len(parsed.reports) == 1  # the returned original's addresses are not recipients
    assert not [p for p in parsed.parts if p.declared_type in ("message/delivery-status",)]


def test_complaints_and_auto_replies_are_not_bounces():
    for name in ("flanker__complaints_aol.eml", "flanker__complaints_yahoo.eml"):
        _, parsed = parse_bytes((EMAIL_DIR / "other" / name).read_bytes())
        assert not parsed.is_bounce and parsed.is_auto_reply
        assert parsed.parts  # its parts stay attachments


def test_an_empty_body_is_empty_text_never_the_subject(support, agent_client):
    message = ingest(raw_mail("", subject="Richiamatemi"))
    assert message.text == ""
    assert message.metadata["email"]["empty_body"] is True
    html = page(agent_client, message)
    assert "No text" in html


def test_iso_8859_1_with_windows_1252_bytes_keeps_the_euro_sign(support):
    body = "Il prezzo è 120 €, non “150”.".encode("windows-1252")
    message = ingest(raw_mail(body, headers="Content-Type: text/plain; charset=iso-8859-1\r\n"))
    assert message.text == "Il prezzo è 120 €, non “150”."
    assert message.metadata["email"]["charsets"] == [
        {"type": "text/plain", "declared": "iso-8859-1", "used": "windows-1252"}
    ]


def test_ascii_and_unknown_labels_with_8bit_bytes_are_read_as_windows_1252():
    assert decode_text("caffè 3 €".encode("windows-1252"), "us-ascii") == (
        "caffè 3 €",
        "windows-1252",
    )
    assert decode_text("caffè 3 €".encode("windows-1252"), "x-made-up")[0] == "caffè 3 €"
    assert decode_text("caffè 3 €".encode(), "iso-8859-1") == ("caffè 3 €", "utf-8")
    text, used = decode_text("日本".encode("shift_jis") + b"\xff", "shift_jis")
    assert text.startswith("日本") and used == "shift_jis+replace"


def test_an_encoded_word_subject_in_iso_8859_1_with_a_euro_byte(support):
    message = ingest(raw_mail("Ciao", subject="=?iso-8859-1?Q?Sconto_20_=80?="))
    assert message.conversation.subject == "Sconto 20 €"


BROKEN = {
    "wrong boundary": 'Content-Type: multipart/mixed; boundary="XYZ"\r\n',
    "no boundary": "Content-Type: multipart/mixed\r\n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_mime_boundary_still_shows_the_first_part_as_text(support, case):
    body = (
        "--ABC\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Ciao, il frullatore non funziona più.\r\n"
        "--ABC\r\nContent-Type: application/pdf; name=scontrino.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--ABC--\r\n"
    )
    message = ingest(raw_mail(body, headers=BROKEN[case]))
    assert message.text == "Ciao, il frullatore non funziona più."
    assert [a.filename for a in message.attachments.all()] == ["scontrino.pdf"]


def test_a_multipart_body_without_any_delimiter_is_read_as_text(support):
    message = ingest(raw_mail("Solo testo, niente parti.\r\n", headers=BROKEN["no boundary"]))
    assert message.text == "Solo testo, niente parti."


def test_the_shapes_are_told_in_italian(support, on_commit, agent_client, agent):
    from inbox.models import AgentProfile

    AgentProfile.objects.create(user=agent, language="it", time_zone="Europe/Rome")
    reply = _reply_to_lucia(support, on_commit)
    bounce = ingest(
        _dsn(
            reply.provider_message_id, recipient="lucia@example.it", action="failed", status="5.1.1"
        )
    )
    forward = ingest(raw_mail(FORWARD_WITH_NOTE))
    empty = ingest(raw_mail("", subject="Vuota"))
    assert "Mancato recapito" in page(agent_client, bounce)
    assert "errore permanente" in page(agent_client, bounce)
    assert "Messaggio inoltrato" in page(agent_client, forward)
    assert "Nessun testo" in page(agent_client, empty)
