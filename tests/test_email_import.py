"""import_mail's fast path: worker processes parse, this process writes in order; the duplicate
check per batch; the cached header parsing gives what ``policy.default`` gives."""

from __future__ import annotations

import asyncio
import email
import io
import pickle
import uuid
from email import policy
from email.message import EmailMessage

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command

from channels_email import importer, services
from channels_email.generator import generate_messages, write_eml_files
from channels_email.mailsource import MailItem, MailSource
from channels_email.models import QuarantinedEmail
from channels_email.parsing import PARSE_POLICY, parse_message
from channels_email.prepare import prepare_raw_email
from crm.models import Contact, Identity
from hub.db_errors import TRANSIENT_RETRIES
from hub.models import Conversation, Message
from hub.services import realtime
from tests.db_errors import deadlock
from tests.email_corpus import raw_email_files

MAILBOX = "support@shop.example"


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def _run(path, *args) -> str:
    out = io.StringIO()
    call_command("import_mail", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def _assert_threaded(messages):
    """Every reply is in its parent's conversation; every other message opened its own."""
    by_id = {m.provider_message_id: m for m in messages}
    for message in messages:
        parents = message.metadata["email"]["in_reply_to"]
        if parents:
            assert by_id[parents[0]].conversation_id == message.conversation_id
    starters = [m for m in messages if not m.metadata["email"]["in_reply_to"]]
    assert Conversation.objects.count() == len(starters)


def test_worker_processes_import_in_order_and_thread_like_one_by_one(support, tmp_path):
    folder = write_eml_files(tmp_path / "emls", 80, seed=11)
    assert "imported 80, duplicates skipped 0, quarantined 0" in _run(folder, "--workers", "2")
    messages = list(Message.objects.filter(direction="in").order_by("id"))
    # Written in the files' order, whatever worker parsed them.
    assert [m.provider_message_id for m in messages] == [
        f"gen-11-{i}@mail.example" for i in range(80)
    ]
    _assert_threaded(messages)
    assert "imported 0, duplicates skipped 80" in _run(folder, "--workers", "2")


def test_a_dead_worker_pool_falls_back_to_parsing_here(support, tmp_path, monkeypatch):
    folder = write_eml_files(tmp_path / "emls", 40, seed=12)
    monkeypatch.setattr(importer, "prepare_many", lambda *args: 1 / 0)  # unpicklable task
    assert "imported 40, duplicates skipped 0" in _run(folder, "--workers", "1")
    _assert_threaded(list(Message.objects.filter(direction="in")))


def test_limit_stops_the_workers(support, tmp_path):
    folder = write_eml_files(tmp_path / "emls", 60, seed=13)
    assert "10 messages in" in _run(folder, "--workers", "1", "--limit", "10")
    assert Message.objects.filter(direction="in").count() == 10


def test_the_same_message_id_twice_in_one_batch_is_stored_once(support, tmp_path):
    (tmp_path / "emls").mkdir()
    raws = [raw for _, raw in generate_messages(3, seed=14, mailbox=MAILBOX)]
    copy = raws[0].replace(b"Subject:", b"X-Copy: yes\nSubject:")
    for index, raw in enumerate([*raws, copy]):
        (tmp_path / "emls" / f"{index}.eml").write_bytes(raw)
    assert "imported 3, duplicates skipped 1, quarantined 0" in _run(tmp_path / "emls")


def test_a_failing_batch_check_falls_back_to_one_check_per_message(support, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no batch today")

    monkeypatch.setattr(services, "stored_ids_for", broken)
    raws = [raw for _, raw in generate_messages(5, seed=15, mailbox=MAILBOX)]
    items = [MailItem(raw, f"#{i}", i) for i, raw in enumerate([*raws, raws[1]])]
    statuses = [r.outcome.status for r in importer.MailImporter().run(items)]
    assert statuses == ["ingested"] * 5 + ["duplicate"]


def test_realtime_pushes_of_an_import_reach_agents_through_one_event_loop(
    support, on_commit, tmp_path, monkeypatch
):
    layer = get_channel_layer()
    # A plain channel (received without a buffer), new for each run: a channel left in a team's
    # group by an earlier run would hold that run's pushes.
    channel = f"test-email-import-agent-{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)(realtime.team_group(support.team_id), channel)
    (tmp_path / "emls").mkdir()
    for index, (_, raw) in enumerate(generate_messages(2, seed=16, mailbox=MAILBOX)):
        (tmp_path / "emls" / f"{index}.eml").write_bytes(raw)
    loops: list[asyncio.AbstractEventLoop] = []
    policy = asyncio.get_event_loop_policy()
    new_event_loop = policy.new_event_loop

    def counted_event_loop() -> asyncio.AbstractEventLoop:
        loops.append(new_event_loop())
        return loops[-1]

    monkeypatch.setattr(policy, "new_event_loop", counted_event_loop)

    with on_commit():  # the pushes run here, as each message's commit would run them
        assert "imported 2" in _run(tmp_path / "emls", "--workers", "0")

    # At most one event loop for all the pushes: the process's push loop
    # (hub.services.realtime), started here unless an earlier test did.
    assert len(loops) <= 1 and all(loop is realtime._sender.loop for loop in loops)

    async def receive_all():  # one loop for all the receives
        pushes = []
        while True:
            try:
                pushes.append(await asyncio.wait_for(layer.receive(channel), 1))
            except TimeoutError:
                return pushes

    pushes = async_to_sync(receive_all)()
    stored = Message.objects.filter(direction="in")
    assert stored.count() == 2
    # The messages written together are announced together: one push per kind of event.
    # (The second message answers the first: one conversation.)
    assert Conversation.objects.count() == 1
    assert sorted((p["type"], p["event"], len(p["items"])) for p in pushes) == [
        ("hub.events", "conversation.created", 1),
        ("hub.events", "message.created", 2),
    ]
    events = {(p["event"], item["id"]) for p in pushes for item in p["items"]}
    assert {("message.created", m.pk) for m in stored} <= events
    assert {("conversation.created", m.conversation_id) for m in stored} <= events


def _corpus_and_generated() -> list[bytes]:
    raws = [path.read_bytes() for path in raw_email_files()]
    return raws + [raw for _, raw in generate_messages(40, seed=17, mailbox=MAILBOX)]


def test_cached_header_policy_parses_exactly_like_policy_default():
    for raw in _corpus_and_generated():
        try:
            expected = parse_message(email.message_from_bytes(raw, policy=policy.default))
        except Exception as exc:  # the same failure either way
            with pytest.raises(type(exc)):
                parse_message(email.message_from_bytes(raw, policy=PARSE_POLICY))
            continue
        assert parse_message(email.message_from_bytes(raw, policy=PARSE_POLICY)) == expected


def test_prepared_emails_survive_the_trip_to_and_from_a_worker():
    for raw in _corpus_and_generated():
        prepared = prepare_raw_email(raw, 100_000)
        assert pickle.loads(pickle.dumps(prepared)) == prepared


def _mail(**headers) -> bytes:
    message = EmailMessage()
    message["From"] = "Lucia Bianchi <lucia@example.it>"
    message["To"] = MAILBOX
    message["Subject"] = "Ordine 42"
    message["Message-ID"] = "<atomic@example.it>"
    for name, value in headers.items():
        message[name] = value
    message.set_content("Ciao, dov'è il mio ordine?")
    return bytes(message)


@pytest.mark.parametrize("cc", ["", "Marco <marco@example.it>"], ids=["alone", "with-cc"])
def test_a_message_failing_after_its_rows_leaves_none_of_them(support, monkeypatch, cc):
    from hub.services import ingestion

    def fail(*args, **kwargs):
        raise RuntimeError("webhook outbox down")

    monkeypatch.setattr(ingestion.webhooks, "emit", fail)  # after the message's INSERT
    outcome = services.ingest_raw_email(_mail(**({"Cc": cc} if cc else {})), source="test")
    assert outcome.status == "quarantined" and outcome.quarantine.reason_code == "error"
    assert not Message.objects.exists() and not Conversation.objects.exists()
    assert not Identity.objects.exists() and not Contact.objects.exists()


def test_a_folder_is_read_in_path_order_and_listed_as_short_strings(tmp_path):
    for name in ["b.eml", "a/z.eml", "a.b/c.eml", "a/b/c.eml", "a/notes.txt", "A.eml", ".x.eml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    source = MailSource(tmp_path)
    expected = sorted(p for p in tmp_path.rglob("*.eml") if p.is_file())
    assert [item.label for item in source] == [str(p) for p in expected]
    assert all(isinstance(name, str) for name in source.files)


def _deadlocking(times: int):
    """``ingest_with_outcome`` that meets a deadlock ``times`` times, then works."""
    real = services.ingest_with_outcome
    calls = []

    def ingest(inbound):
        calls.append(inbound.provider_message_id)
        if len(calls) <= times:
            raise deadlock()
        return real(inbound)

    return ingest, calls


@pytest.mark.django_db(transaction=True)
def test_a_message_that_meets_a_deadlock_is_tried_again(endpoint_for, monkeypatch):
    endpoint_for("email")
    ingest, calls = _deadlocking(times=2)
    monkeypatch.setattr(services, "ingest_with_outcome", ingest)
    raw = _mail(Cc="Marco <marco@example.it>")  # not plain: stored on its own
    assert services.ingest_raw_email(raw, source="test").status == "ingested"
    assert len(calls) == 3 and Message.objects.filter(kind="message").count() == 1
    assert not QuarantinedEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_that_keeps_meeting_deadlocks_is_quarantined(endpoint_for, monkeypatch):
    endpoint_for("email")
    ingest, calls = _deadlocking(times=99)
    monkeypatch.setattr(services, "ingest_with_outcome", ingest)
    assert services.ingest_raw_email(_mail(), source="test").status == "quarantined"
    assert len(calls) == 1 + TRANSIENT_RETRIES
    assert "deadlock" in QuarantinedEmail.objects.get().reason


def test_inside_a_callers_transaction_a_deadlock_is_not_retried(support, monkeypatch):
    """The error aborted the caller's transaction too: nothing can run in it any more."""
    ingest, calls = _deadlocking(times=1)
    monkeypatch.setattr(services, "ingest_with_outcome", ingest)
    assert services.ingest_raw_email(_mail(), source="test").status == "quarantined"
    assert len(calls) == 1
