"""The import's batched write path (hub.services.ingest_batch) stores exactly what ingesting the
same emails one by one stores: conversations, threading, merges, people, text, references,
attachments, timeline events and quarantines; and a run that fails leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import TestCase
from django.utils import timezone

from channels_email import services
from channels_email.generator import generate_messages
from channels_email.importer import MailImporter
from channels_email.mailsource import MailItem
from channels_email.models import QuarantinedEmail
from crm.models import Contact, Identity
from hub.inbound import InboundMessage
from hub.models import Attachment, Conversation, Message, MessageReference, SlaRecord
from hub.services import ingest_batch
from hub.services.ingestion import InvalidInbound
from tests.email_corpus import raw_email_files
from tests.test_email_thread_order import _threads

MAILBOX = "support@shop.example"


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def _one_by_one(raws: list[bytes]) -> list[str]:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the analysis after each commit
        return [
            services.ingest_raw_email(raw, source="import_mail", historical=True).status
            for raw in raws
        ]


def _imported(raws: list[bytes]) -> list[str]:
    """Import ``raws``, then run what the runs' commits queued (the analysis of their messages),
    in order, as after real commits."""
    items = [MailItem(raw, f"#{index}", index) for index, raw in enumerate(raws)]
    with TestCase.captureOnCommitCallbacks(execute=True):
        return [result.outcome.status for result in MailImporter().run(items)]


def _file_digest(field) -> str:
    with default_storage.open(field.name, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _when(value):
    """A time from the mail, or "now" for one the import filled in (a missing Date)."""
    if value is None or value < timezone.now() - timedelta(hours=1):
        return value
    return "now"


def _without_participant_ids(metadata: dict) -> dict:
    if "participants" not in metadata:
        return metadata
    participants = [
        {**item, "identity_id": "-", "contact_id": Contact.objects.get(pk=item["contact_id"]).name}
        for item in metadata["participants"]
    ]
    return {**metadata, "participants": participants}


def _snapshot() -> dict:
    """Everything the two paths write, without ids and write times."""
    messages = list(
        Message.objects.select_related(
            "sender_identity", "recipient_identity", "conversation"
        ).order_by("id")
    )
    members: dict[int, list[str]] = {}
    for message in messages:
        if message.kind == Message.Kind.MESSAGE:
            members.setdefault(message.conversation_id, []).append(message.provider_message_id)
    thread = {pk: tuple(sorted(ids)) for pk, ids in members.items()}

    merged = dict(
        Conversation.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into")
    )

    def conversation_key(pk: int):
        if pk in merged:  # a tombstone: known by the conversation it was merged into
            return ("merged into", conversation_key(merged[pk]))
        return thread.get(pk, ("no messages", pk))

    def conversation_of(message: Message):
        return conversation_key(message.conversation_id)

    def without_ids(text: str) -> str:
        return re.sub(r"#(\d+)", lambda match: str(conversation_key(int(match[1]))), text)

    refs: dict[int, list[str]] = {}
    for message_id, ref in MessageReference.objects.order_by("id").values_list(
        "message_id", "provider_message_id"
    ):
        refs.setdefault(message_id, []).append(ref)
    files: dict[int, list[tuple]] = {}
    for attachment in Attachment.objects.order_by("id"):
        files.setdefault(attachment.message_id, []).append(
            (
                attachment.filename,
                attachment.content_type,
                attachment.size,
                attachment.content_id,
                _file_digest(attachment.file),
            )
        )
    stored = {}
    events = Counter()
    for message in messages:
        if message.kind != Message.Kind.MESSAGE:
            events[(conversation_of(message), message.event_type, without_ids(message.text))] += 1
            continue
        stored[message.provider_message_id] = {
            "conversation": conversation_of(message),
            "sender": message.sender_identity and message.sender_identity.value,
            "recipient": message.recipient_identity and message.recipient_identity.value,
            "direction": message.direction,
            "author": message.author_id,
            "text": message.text,
            "html": message.html,
            "metadata": _without_participant_ids(message.metadata),
            "occurred_at": _when(message.occurred_at),
            "is_auto_reply": message.is_auto_reply,
            "is_bounce": message.is_bounce,
            "delivery_status": message.delivery_status,
            "analysis": message.analysis,
            "references": refs.get(message.pk, []),
            "attachments": files.get(message.pk, []),
        }
    conversations = Counter()
    for conversation in Conversation.objects.select_related("contact"):
        conversations[
            (
                conversation_key(conversation.pk),
                conversation.subject,
                conversation.status,
                _when(conversation.last_activity_at),
                _when(conversation.last_inbound_at),
                _when(conversation.last_outbound_at),
                conversation.waiting_since,
                conversation.next_check_at,
                conversation.contact.name,
                conversation.priority,
                conversation.temperature,
                conversation.temperature_score,
                json.dumps(conversation.temperature_reasons, sort_keys=True),
            )
        ] += 1
    contacts = Counter(
        (
            contact.name,
            contact.language,
            contact.language_source,
            contact.language_confidence,
            tuple(
                sorted(
                    (identity.kind, identity.value, identity.display_name)
                    for identity in contact.identities.all()
                )
            ),
        )
        for contact in Contact.objects.prefetch_related("identities")
    )
    return {
        "messages": stored,
        "events": events,
        "conversations": conversations,
        "contacts": contacts,
        "sla_records": SlaRecord.objects.count(),
        "quarantine": Counter(
            QuarantinedEmail.objects.values_list("sha256", "reason_code", "attempts")
        ),
    }


def _clear() -> None:
    for attachment in Attachment.objects.all():
        attachment.file.delete(save=False)
    MessageReference.objects.all().delete()
    Attachment.objects.all().delete()
    Conversation.objects.update(sla_record=None, merged_into=None)
    SlaRecord.objects.all().delete()
    Message.objects.all().delete()
    Conversation.objects.all().delete()
    Identity.objects.all().delete()
    Contact.objects.all().delete()
    QuarantinedEmail.objects.all().delete()


def _assert_same_as_one_by_one(raws: list[bytes], setup=lambda: None) -> list[str]:
    setup()
    expected_statuses = _one_by_one(raws)
    expected = _snapshot()
    _clear()
    setup()
    assert _imported(raws) == expected_statuses
    got = _snapshot()
    assert got["messages"].keys() == expected["messages"].keys()
    for key, value in expected["messages"].items():
        assert got["messages"][key] == value, key
    assert got == expected
    return expected_statuses


def _generated(count: int, seed: int) -> list[bytes]:
    return [raw for _, raw in generate_messages(count, seed=seed, mailbox=MAILBOX)]


def test_generated_mail_is_stored_as_one_by_one(support):
    """Replies quoting earlier mail, HTML, attachments, automatic replies, Italian text:
    several batches of the importer (64 messages each)."""
    raws = _generated(150, seed=31)
    statuses = _assert_same_as_one_by_one(raws)
    assert statuses == ["ingested"] * 150
    assert Attachment.objects.exists() and Message.objects.filter(is_auto_reply=True).exists()


@pytest.mark.parametrize("order", ["as written", "reversed", "shuffled"])
@pytest.mark.parametrize("references", [True, False], ids=["references", "in-reply-to-only"])
def test_threads_in_any_arrival_order_are_stored_as_one_by_one(support, order, references):
    """Late parents link threads (merges, done one by one in their place in the run) and
    replies arrive before what they answer."""
    raws = [raw for _, raw in _threads(4, 60, with_references=references)]
    if order == "reversed":
        raws.reverse()
    elif order == "shuffled":
        random.Random(4).shuffle(raws)
    _assert_same_as_one_by_one(raws)


def test_the_real_world_corpus_is_stored_as_one_by_one(support):
    """Every raw message of the corpus, addressed to our mailbox (the ones that cannot be
    parsed are quarantined alike), mixed with generated mail."""
    raws = []
    for path in raw_email_files():
        raw = path.read_bytes()
        raws.append(b"Delivered-To: " + MAILBOX.encode() + b"\r\n" + raw)
    raws += _generated(30, seed=32)
    random.Random(5).shuffle(raws)
    statuses = _assert_same_as_one_by_one(raws)
    assert {"ingested", "quarantined"} <= set(statuses)


TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
FIRST_ID = "gen-33-0@mail.example"


def test_a_run_mixes_plain_mail_with_mail_that_needs_more_in_its_place(support):
    """A reply token, another person on Cc, a subject token and a duplicate, between plain
    messages of the same threads: each is stored in its place in the order."""

    def earlier_conversation() -> None:
        first = _generated(1, seed=33)[0]
        services.ingest_raw_email(first, source="import_mail", historical=True)
        Conversation.objects.update(reply_token=TOKEN)

    def mail(n: int, extra: str = "", to: str = MAILBOX) -> bytes:
        return (
            f"From: Anna Rossi <anna@example.it>\r\nTo: {to}\r\n{extra}"
            f"Subject: Ordine {n}\r\nMessage-ID: <mix-{n}@example.it>\r\n"
            f"Date: Mon, 06 Jan 2025 10:{n:02d}:00 +0000\r\n\r\nTesto {n}: così.\r\n"
        ).encode()

    raws = [
        mail(1),
        mail(2, "In-Reply-To: <mix-1@example.it>\r\n"),
        mail(3, to=f"support+{TOKEN}@shop.example"),
        mail(4, "Cc: Marco <marco@example.it>\r\nIn-Reply-To: <mix-2@example.it>\r\n"),
        mail(5, "In-Reply-To: <mix-4@example.it>\r\n"),
        mail(2, "In-Reply-To: <mix-1@example.it>\r\n"),  # the same message again
        mail(6).replace(b"Subject: Ordine 6", b"Subject: Re: [#999999] Ordine 6"),
        mail(7, "In-Reply-To: <mix-3@example.it>\r\n"),
        # Answers two threads: the latest message it names decides.
        mail(
            8,
            "In-Reply-To: <mix-1@example.it>\r\n"
            "References: <mix-6@example.it> <mix-1@example.it>\r\n",
        ),
    ]
    statuses = _assert_same_as_one_by_one(raws, setup=earlier_conversation)
    assert statuses == ["ingested"] * 5 + ["duplicate"] + ["ingested"] * 3
    by_id = {m.provider_message_id: m for m in Message.objects.filter(kind="message")}
    earlier = by_id[FIRST_ID].conversation_id
    assert by_id["mix-3@example.it"].conversation_id == earlier
    assert by_id["mix-7@example.it"].conversation_id == earlier
    assert by_id["mix-5@example.it"].conversation_id == by_id["mix-1@example.it"].conversation_id
    assert by_id["mix-8@example.it"].conversation_id == by_id["mix-6@example.it"].conversation_id
    assert by_id["mix-6@example.it"].conversation_id != by_id["mix-1@example.it"].conversation_id
    participants = by_id["mix-4@example.it"].metadata["participants"]
    assert [p["address"] for p in participants] == ["marco@example.it"]


def _attachment_files() -> set[str]:
    found = set()

    def walk(path: str) -> None:
        directories, files = default_storage.listdir(path)
        found.update(f"{path}/{name}" for name in files)
        for directory in directories:
            walk(f"{path}/{directory}")

    if default_storage.exists("attachments"):
        walk("attachments")
    return found


def test_a_run_that_fails_while_writing_leaves_nothing_and_goes_one_by_one(
    support, monkeypatch, caplog
):
    raws = _generated(40, seed=34)
    before = _attachment_files()
    write = ingest_batch._Planner.write
    calls = []

    def fail_after_writing(self, planned):
        write(self, planned)  # every row and file of the run is written, then it fails
        calls.append(len(planned))
        if len(calls) == 1:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(ingest_batch._Planner, "write", fail_after_writing)
    assert _imported(raws) == ["ingested"] * 40
    assert calls[0] > 1  # a real run failed
    assert "ingesting them one by one" in caplog.text
    # Each message once, every attachment row with its file, no file of the failed run left.
    assert Message.objects.filter(kind="message").count() == 40
    files = {attachment.file.name for attachment in Attachment.objects.all()}
    assert files and _attachment_files() - before == files
    statuses = _snapshot()
    _clear()
    monkeypatch.setattr(ingest_batch._Planner, "write", write)
    assert _one_by_one(raws) == ["ingested"] * 40
    assert _snapshot() == statuses


def _with_attachment(raw: bytes, filename: bytes) -> bytes:
    head, _, body = raw.partition(b"\n\n")
    head = b"\n".join(
        line for line in head.split(b"\n") if not line.lower().startswith(b"content-")
    )
    return (
        head + b"\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
        b"Content-Type: text/plain; charset=utf-8\n\n" + body + b"\n--XX\n"
        b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="'
        + filename
        + b'"\n\n%PDF-1.4\n--XX--\n'
    )


def test_one_message_that_cannot_be_written_is_quarantined_and_the_others_stored(
    support, monkeypatch
):
    """Its run fails, goes one by one: the message alone is quarantined with the reason."""
    raws = _generated(10, seed=35)
    raws[4] = _with_attachment(raws[4], b"broken.pdf")
    default_storage.exists("attachments")  # the lazy storage set up
    storage_class = type(default_storage._wrapped)
    storage_save = storage_class.save

    def refuse(storage, name, *args, **kwargs):
        if name.endswith("broken.pdf"):
            raise OSError("No space left on device")
        return storage_save(storage, name, *args, **kwargs)

    monkeypatch.setattr(storage_class, "save", refuse)
    statuses = _imported(raws)
    assert statuses[4] == "quarantined" and statuses.count("ingested") == 9
    kept = QuarantinedEmail.objects.get()
    assert bytes(kept.raw) == raws[4] and kept.reason_code == "error"
    assert "No space left on device" in kept.reason
    assert Message.objects.filter(kind="message").count() == 9


def test_control_characters_in_a_file_name_are_replaced(support):
    raw = _with_attachment(_generated(1, seed=36)[0], b"fattura\x00 marzo\x07.pdf")
    assert _imported([raw]) == ["ingested"]
    assert Attachment.objects.get().filename == "fattura_ marzo_.pdf"


@pytest.mark.django_db
def test_nothing_to_ingest_is_nothing_written():
    assert ingest_batch.ingest_many([]) == []


def test_a_message_ingest_refuses_comes_back_as_its_error(support):
    good = InboundMessage(
        endpoint=support,
        sender_kind="email",
        sender_address="anna@example.it",
        text="Ciao",
        provider_message_id="<ok@example.it>",
        is_historical=True,
    )
    refused = InboundMessage(
        endpoint=support,
        sender_kind="email",
        sender_address="not an address",
        text="Ciao",
        provider_message_id="<bad@example.it>",
        is_historical=True,
    )
    results = ingest_batch.ingest_many([good, refused, good])
    assert results[0].created and not results[2].created
    assert isinstance(results[1], InvalidInbound)
    assert Message.objects.count() == 1


def _mail(
    sender: str, message_id: str, minute: int, refs=(), extra: str = "", name="X", subject=""
) -> bytes:
    threading = ""
    if refs:
        names = " ".join(f"<{ref}>" for ref in refs)
        threading = f"In-Reply-To: <{refs[-1]}>\r\nReferences: {names}\r\n"
    return (
        f"From: {name} <{sender}>\r\nTo: {MAILBOX}\r\n{extra}{threading}"
        f"Subject: {subject or f'S {message_id}'}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Mon, 06 Jan 2025 10:{minute:02d}:00 +0000\r\n\r\nBody {message_id}\r\n"
    ).encode()


def _stored_first(*raws: bytes):
    return lambda: _one_by_one(list(raws))


# A message that answers someone else's mail joins their conversation: the run's later lookups
# "the same person's message that refers to this one" go by the conversation's person, as the
# stored rows do (found by review: the run used the sender's).
CROSS_PERSON_CASES = {
    "not another person's thread": (
        _stored_first(_mail("bob@example.it", "m0@b", 0)),
        [
            _mail("anna@example.it", "a1@a", 1, refs=["x1@z", "m0@b"]),
            _mail("anna@example.it", "a2@a", 2, refs=["x1@z"]),
        ],
    ),
    "the person's own thread": (
        _stored_first(_mail("anna@example.it", "a0@a", 0)),
        [
            _mail("bob@example.it", "b1@b", 1, refs=["y1@z", "a0@a"]),
            _mail("anna@example.it", "a2@a", 2, refs=["y1@z"]),
        ],
    ),
    "a late message that merges": (
        _stored_first(_mail("anna@example.it", "a0@a", 0), _mail("anna@example.it", "a9@a", 1)),
        [
            _mail("bob@example.it", "b1@b", 2, refs=["y1@a", "a0@a"]),
            _mail("anna@example.it", "y1@a", 3, refs=["a9@a"]),
        ],
    ),
}


def _subject_and_cross_sender_mail() -> list[bytes]:
    from tests.test_email_threading_relink import _thread as cross_sender
    from tests.test_email_threading_subject import _thread as by_subject

    return [
        *by_subject(),
        *by_subject(sender="marco@example.it"),  # another person's thread of the same subject
        *cross_sender(),
        _mail("anna@example.it", "s1@a", 1, subject="Re: Consegna urgente 42"),
        _mail("anna@example.it", "s2@a", 2, subject="Consegna urgente 42"),
        _mail("anna@example.it", "s3@a", 3, subject="Consegna urgente 42"),
        _mail("anna@example.it", "s4@a", 4, subject="R: consegna URGENTE 42!"),
    ]


def _team_addresses():
    from hub.models import Endpoint

    Endpoint.objects.filter(address=MAILBOX).update(
        settings={"team_addresses": ["help-desk@shop.example"]}
    )


@pytest.mark.parametrize("order", ["as written", "reversed", "shuffled"])
def test_subject_threading_and_other_senders_answers_are_stored_as_one_by_one(support, order):
    raws = _subject_and_cross_sender_mail()
    if order == "reversed":
        raws.reverse()
    elif order == "shuffled":
        random.Random(17).shuffle(raws)
    _assert_same_as_one_by_one(raws, _team_addresses)


@pytest.mark.parametrize("case", CROSS_PERSON_CASES)
def test_answers_to_another_persons_mail_thread_as_one_by_one(support, case):
    setup, raws = CROSS_PERSON_CASES[case]
    _assert_same_as_one_by_one(raws, setup)


def test_a_person_writing_from_two_addresses_is_named_once(support):
    def one_unnamed_contact_with_two_addresses():
        contact = Contact.objects.create(name="")
        Identity.objects.create(contact=contact, kind="email", value="anna@x.it")
        Identity.objects.create(contact=contact, kind="email", value="anna@y.it")

    raws = [
        _mail("anna@x.it", "n1@a", 1, name="Anna X"),
        _mail("anna@y.it", "n2@a", 2, name="Anna Y"),
    ]
    _assert_same_as_one_by_one(raws, one_unnamed_contact_with_two_addresses)
    assert Contact.objects.get().name == "Anna X"


def test_a_copy_with_someone_on_cc_of_a_message_the_run_stored_adds_nobody(support):
    raws = [
        _mail("anna@example.it", "d1@a", 1),
        _mail("anna@example.it", "d1@a", 1, extra="Cc: Marco <marco@example.it>\r\n"),
    ]
    assert _assert_same_as_one_by_one(raws) == ["ingested", "duplicate"]
    assert not Identity.objects.filter(value="marco@example.it").exists()


def test_webhook_events_carry_what_one_by_one_sends(support):
    from hub.models import WebhookDelivery, WebhookSubscription

    WebhookSubscription.objects.create(
        url="https://integrator.example/hook", events=["conversation.created", "message.created"]
    )
    raws = [
        _mail("anna@example.it", "w1@a", 1),
        _mail("anna@example.it", "w2@a", 9, refs=["w1@a"]),
    ]

    def events():
        keep = ("last_activity_at", "subject", "status", "text", "occurred_at", "channel")
        return [
            (delivery.event_type, {k: v for k, v in delivery.payload["data"].items() if k in keep})
            for delivery in WebhookDelivery.objects.order_by("id")
        ]

    _one_by_one(raws)
    expected = events()
    _clear()
    WebhookDelivery.objects.all().delete()
    _imported(raws)
    assert events() == expected
    assert [event for event, _ in expected] == [
        "conversation.created",
        "message.created",
        "message.created",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_hook_failing_after_the_run_committed_does_not_store_it_again(
    endpoint_for, monkeypatch, caplog
):
    """E.g. the broker down when the webhook deliveries are queued: the run is stored, so its
    messages are reported stored, not ingested again one by one (and called duplicates)."""
    from django.db import transaction

    from hub.services import realtime

    endpoint_for("email")
    monkeypatch.setattr(
        realtime, "publish_batch", lambda *args: transaction.on_commit(lambda: 1 / 0)
    )
    assert _imported(_generated(5, seed=37)) == ["ingested"] * 5
    assert Message.objects.filter(kind="message").count() == 5
    assert "after a run of 5 messages was stored" in caplog.text


def _with_reply_token(raw: bytes) -> bytes:
    """Plain, but not planned in a run: a reply token (of no conversation) in the address."""
    return raw.replace(f"To: {MAILBOX}".encode(), b"To: support+abc@shop.example")


@pytest.mark.django_db(transaction=True)
def test_a_message_stored_on_its_own_in_an_import_is_tried_again_after_a_deadlock(
    endpoint_for, monkeypatch
):
    from hub.services import ingestion
    from tests.db_errors import deadlock

    endpoint_for("email")
    store, calls = ingestion._store, []

    def deadlocking_once(inbound):
        calls.append(inbound.provider_message_id)
        if len(calls) == 1:
            raise deadlock()
        return store(inbound)

    monkeypatch.setattr(ingestion, "_store", deadlocking_once)
    assert _imported([_with_reply_token(_mail("anna@example.it", "t1@a", 1))]) == ["ingested"]
    assert calls == ["t1@a", "t1@a"] and not QuarantinedEmail.objects.exists()


def test_a_copy_that_ingest_would_refuse_is_a_duplicate_as_one_by_one(support):
    """Same Message-ID, a sender ``ingest`` refuses: one by one the copy is found before any
    check of its content; in a run too."""
    raws = [
        _mail("anna@example.it", "c1@a", 1),
        _mail("anna@example.it", "c1@a", 1).replace(b"anna@example.it", b"anna@example"),
    ]
    assert _assert_same_as_one_by_one(raws) == ["ingested", "duplicate"]


def test_an_email_that_can_be_neither_stored_nor_quarantined_is_reported_alone(
    support, monkeypatch
):
    """E.g. the database gone while quarantining: the others of the batch keep their outcomes
    and nothing is ingested or quarantined twice."""
    from django.db import OperationalError

    quarantine, calls = services.quarantine, []

    def failing_second_time(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return quarantine(*args, **kwargs)

    monkeypatch.setattr(services, "quarantine", failing_second_time)
    own = b"To: support@shop.example\r\nMessage-ID: <o1@s>\r\n\r\nhi\r\n"  # no sender: quarantined
    raws = [
        own,
        _mail("anna@example.it", "r1@a", 1),
        _mail("bob@example.it", "r2@b", 2, extra="Cc: Marco <marco@example.it>\r\n"),
        own.replace(b"o1@s", b"o2@s"),
    ]
    items = [MailItem(raw, f"#{index}", index) for index, raw in enumerate(raws)]
    results = list(MailImporter().run(items))
    assert [r.outcome.status if r.outcome else type(r.error).__name__ for r in results] == [
        "quarantined",
        "ingested",
        "ingested",
        "OperationalError",
    ]
    assert list(QuarantinedEmail.objects.values_list("attempts", flat=True)) == [1]
    assert Message.objects.filter(kind="message").count() == 2


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_imported_mail_is_reported_stored(endpoint_for, monkeypatch):
    """Queueing a webhook delivery fails after the commit: the message is stored (the beat
    queues the delivery later), so it is "ingested", in a run as on its own."""
    from hub.models import WebhookDelivery, WebhookSubscription
    from hub.tasks import deliver_webhook

    endpoint_for("email")
    WebhookSubscription.objects.create(url="https://integrator.example/hook", events=[])

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to the broker")

    monkeypatch.setattr(deliver_webhook, "delay", broker_down)
    raws = [
        _mail("anna@example.it", "h1@a", 1),
        _with_reply_token(_mail("anna@example.it", "h2@a", 2)),
    ]
    assert _imported(raws) == ["ingested", "ingested"]
    assert not QuarantinedEmail.objects.exists()
    assert WebhookDelivery.objects.filter(status="pending").count() >= 2


def test_people_on_cc_become_identities_as_one_by_one(support):
    """Made in order with the senders: someone on Cc who writes later in the run is a known
    person then; one put on Cc without a name takes the name they write with."""
    raws = [
        _mail(
            "anna@example.it",
            "p1@a",
            1,
            extra="Cc: Marco Neri <marco@example.it>, luca@example.it, not-an-address\r\n",
        ),
        _mail("marco@example.it", "p2@m", 2, name="Marco"),
        _mail("luca@example.it", "p3@l", 3, name="Luca Bianchi"),
        _mail("anna@example.it", "p4@a", 4, refs=["p1@a"], extra="Cc: marco@example.it\r\n"),
    ]
    _assert_same_as_one_by_one(raws)
    names = dict(Identity.objects.values_list("value", "contact__name"))
    assert names == {
        "anna@example.it": "X",
        "marco@example.it": "Marco Neri",
        "luca@example.it": "Luca Bianchi",
    }
    first = Message.objects.get(provider_message_id="p1@a")
    assert [p["address"] for p in first.metadata["participants"]] == [
        "marco@example.it",
        "luca@example.it",
    ]


@pytest.mark.parametrize(
    "cc",
    ['" B <anna@example.it>', "Anna <ANNA@Example.IT>"],
    ids=["malformed", "other-case"],
)
def test_the_sender_written_differently_on_cc_is_no_participant(support, cc):
    raw = _mail("anna@example.it", "s1@a", 1, extra=f"Cc: {cc}\r\nCc: marco@example.it\r\n")
    assert _assert_same_as_one_by_one([raw]) == ["ingested"]
    message = Message.objects.get(provider_message_id="s1@a")
    assert [p["address"] for p in message.metadata["participants"]] == ["marco@example.it"]


def test_a_nul_in_a_name_on_cc_or_from_is_dropped_not_a_quarantine(support):
    raw = _mail(
        "anna@example.it",
        "n0@a",
        1,
        name="Anna\x00 Rossi",
        extra="Cc: Mar\x00co <marco@example.it>\r\n",
    )
    assert _assert_same_as_one_by_one([raw]) == ["ingested"]
    names = dict(Identity.objects.values_list("value", "contact__name"))
    assert names == {"anna@example.it": "Anna Rossi", "marco@example.it": "Marco"}


def _said(sender: str, message_id: str, minute: int, body: str) -> bytes:
    name = sender.split("@")[0].title()
    return _mail(sender, message_id, minute, name=name).replace(
        f"Body {message_id}".encode(), body.encode()
    )


def test_the_analysis_and_the_learned_language_are_as_one_by_one(support):
    """In a run the messages are read in order: the language a person's long message teaches is
    the prior of their next short one; a contact stored before the run relearns as one by one;
    a chosen language is kept."""

    def known_people():
        english = Contact.objects.create(name="Bob", language="en", language_source="learned")
        Identity.objects.create(contact=english, kind="email", value="bob@example.it")
        chosen = Contact.objects.create(name="Eve", language="de", language_source="explicit")
        Identity.objects.create(contact=chosen, kind="email", value="eve@example.it")

    raws = [
        _said("anna@example.it", "l1@a", 1, "Buongiorno, perché il mio ordine è in ritardo?"),
        _said("anna@example.it", "l2@a", 2, "ok"),
        _said("bob@example.it", "l3@b", 3, "Salve, vorrei sapere dove si trova il vostro negozio"),
        _said("bob@example.it", "l4@b", 4, "ok"),
        _said("eve@example.it", "l5@e", 5, "Hello, what time do you open tomorrow morning?"),
        _said("new@example.it", "l6@n", 6, "ok"),
    ]
    _assert_same_as_one_by_one(raws, known_people)
    short = Message.objects.get(provider_message_id__contains="l2@a")
    assert short.analysis["language"] == "it"  # the prior the first message taught
    assert Message.objects.get(provider_message_id__contains="l6@n").analysis["language"] == ""
    languages = dict(Contact.objects.values_list("name", "language"))
    assert languages == {"Anna": "it", "Bob": "it", "Eve": "de", "New": ""}


def _team_answer(message_id: str, minute: int, to: str, refs=(), subject="") -> bytes:
    """An answer the team sent (from the listed team address) to ``to``, as imported history."""
    names = " ".join(f"<{ref}>" for ref in refs)
    threading = f"In-Reply-To: <{refs[-1]}>\r\nReferences: {names}\r\n" if refs else ""
    return (
        f"From: Help <help-desk@shop.example>\r\nTo: {to}\r\nCc: {MAILBOX}\r\n{threading}"
        f"Subject: {subject or f'Re: S {message_id}'}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Mon, 06 Jan 2025 10:{minute:02d}:00 +0000\r\n\r\nBody {message_id}\r\n"
    ).encode()


def _history_with_team_answers() -> list[bytes]:
    return [
        _mail("anna@example.it", "t1@a", 1, subject="Fattura 7"),
        _team_answer("t2@shop", 2, "anna@example.it", refs=["t1@a"], subject="Re: Fattura 7"),
        _mail("anna@example.it", "t3@a", 3, refs=["t1@a", "t2@shop"], subject="Re: Fattura 7"),
        # A copy of the team's answer to the mailbox only (its address stands in for the
        # customer), threaded by its headers.
        _mail("help-desk@shop.example", "t8@shop", 8, refs=["t1@a", "t3@a"],
              subject="Re: Fattura 7"),
        # The team writing first to a new customer, then the customer answering.
        _team_answer("t4@shop", 4, "bruno@example.it", subject="Il suo ordine"),
        _mail("bruno@example.it", "t5@b", 5, refs=["t4@shop"], subject="Re: Il suo ordine"),
        # An answer to a message that arrives later.
        _team_answer("t6@shop", 6, "carla@example.it", refs=["t7@c"], subject="Re: Reso"),
        _mail("carla@example.it", "t7@c", 7, subject="Reso"),
    ]


@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_the_teams_answers_to_a_customer_are_stored_as_one_by_one(support, order):
    raws = _history_with_team_answers()
    if order == "reversed":
        raws.reverse()
    _assert_same_as_one_by_one(raws, _team_addresses)
    assert Message.objects.filter(direction="out", author__isnull=True).count() == 4


def test_the_teams_answers_to_a_customer_are_written_in_the_run(support, monkeypatch):
    """The team's mail (naming its customer, or found by its headers) does not break a run
    into pieces (import speed): nothing of this history goes one by one."""
    _team_addresses()
    alone = []
    real = ingest_batch._one_by_one
    monkeypatch.setattr(
        ingest_batch, "_one_by_one", lambda inbounds: alone.extend(inbounds) or real(inbounds)
    )
    assert _imported(_history_with_team_answers()[:6]) == ["ingested"] * 6
    assert [inbound.provider_message_id for inbound in alone] == []
    assert Message.objects.filter(direction="out").count() == 3
