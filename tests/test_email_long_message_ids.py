"""Message-IDs longer than 250 characters (some mailers put a base64 token or a whole path in
them) are stored and matched whole: the indexed column holds a fixed-length digest of the id
(``sha256:<hex>``) and the message's metadata the full id, so a reply naming the full id joins
the conversation of the message it answers, in either arrival order, one by one or imported in
a batch, and importing the same mail twice stores it once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from channels_email import services
from hub.message_ids import matching_key
from hub.models import Message, MessageReference
from tests.test_email_flow import mail

pytestmark = pytest.mark.django_db

LONG_ID = "a" * 380 + "@mail.example.it"
LONG_REPLY_ID = "r" * 390 + "@mail.example.it"


@pytest.fixture
def support(endpoint_for):
    return endpoint_for("email")


def _parent() -> bytes:
    return mail(subject="Ordine 42", message_id=f"<{LONG_ID}>",
                Date="Mon, 03 Mar 2025 09:00:00 +0000")  # fmt: skip


def _reply() -> bytes:
    # A different subject, so only the headers can join it.
    return mail(subject="Re: altra cosa", message_id=f"<{LONG_REPLY_ID}>",
                In_Reply_To=f"<{LONG_ID}>", References=f"<{LONG_ID}>",
                Date="Mon, 03 Mar 2025 10:00:00 +0000")  # fmt: skip


def test_a_long_id_is_stored_as_a_digest_and_kept_whole_in_the_metadata(support):
    outcome = services.ingest_raw_email(_parent(), source="test")
    message = Message.objects.get(pk=outcome.message.pk)
    assert message.provider_message_id == matching_key(LONG_ID)
    assert message.provider_message_id.startswith("sha256:")
    assert len(message.provider_message_id) <= 255
    assert message.metadata["email"]["message_id"] == LONG_ID
    assert matching_key("short@example.it") == "short@example.it"


@pytest.mark.parametrize("reply_first", [False, True])
def test_a_reply_naming_a_long_id_joins_its_conversation_one_by_one(support, reply_first):
    raws = [_reply(), _parent()] if reply_first else [_parent(), _reply()]
    for raw in raws:
        assert services.ingest_raw_email(raw, source="test").status == "ingested"
    messages = Message.objects.filter(direction="in")
    assert messages.count() == 2
    assert len({m.conversation_id for m in messages}) == 1
    assert MessageReference.objects.filter(provider_message_id=matching_key(LONG_ID)).exists()


def test_the_same_long_id_mail_is_stored_once(support):
    services.ingest_raw_email(_parent(), source="test")
    again = services.ingest_raw_email(_parent(), source="test")
    assert again.status == "duplicate"
    assert Message.objects.filter(direction="in").count() == 1


@pytest.mark.parametrize("reply_first", [False, True])
def test_a_reply_naming_a_long_id_joins_its_conversation_when_imported(
    support, tmp_path, reply_first
):
    folder = tmp_path / "emls"
    folder.mkdir()
    raws = [_reply(), _parent()] if reply_first else [_parent(), _reply()]
    for index, raw in enumerate(raws):
        (folder / f"{index:02d}.eml").write_bytes(raw)
    for _run in range(2):  # the second run finds both stored
        call_command("import_mail", str(folder), "--no-progress", stdout=io.StringIO())
    messages = Message.objects.filter(direction="in")
    assert messages.count() == 2
    assert len({m.conversation_id for m in messages}) == 1
