"""hub.services.prompts: a short reply to a question the hub asked is its answer, not a request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.models import Conversation, Message
from hub.prompt_models import Prompt
from hub.services import ingest, prompts, resolve
from hub.signals import message_received, prompt_answered
from tests.factories import inbound

pytestmark = pytest.mark.django_db

PHONE = "+393471234567"


@pytest.fixture
def heard():
    answers: list[dict] = []
    received: list[dict] = []

    def on_answer(sender, **kwargs):
        answers.append(kwargs)

    def on_message(sender, **kwargs):
        received.append(kwargs)

    prompt_answered.connect(on_answer, weak=False)
    message_received.connect(on_message, weak=False)
    yield answers, received
    prompt_answered.disconnect(on_answer)
    message_received.disconnect(on_message)


@pytest.fixture
def surveyed(endpoint_for, on_commit):
    """A resolved SMS conversation whose person was asked "reply 1 to 5"."""
    sms = endpoint_for("sms")
    with on_commit():
        first = ingest(inbound(sms, PHONE, text="Where is my order?", provider_message_id="m1"))
    conversation = resolve(first.conversation)
    prompt = prompts.ask(
        conversation,
        identity=first.sender_identity,
        kind="csat",
        choices=["1", "2", "3", "4", "5"],
        ttl=timedelta(days=3),
        data={"survey": 7},
    )
    return sms, conversation, prompt


@pytest.mark.parametrize("reply", ["4", " 4! ", "4️⃣", "4."])
def test_a_short_reply_answers_the_prompt_and_leaves_the_conversation_resolved(
    surveyed, heard, on_commit, reply
):
    sms, conversation, prompt = surveyed
    answers, received = heard
    with on_commit():
        message = ingest(inbound(sms, PHONE, text=reply, provider_message_id="m2"))
    assert message.conversation_id == conversation.pk
    assert message.metadata["prompt"] == {"id": prompt.pk, "kind": "csat", "answer": "4"}
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED
    assert conversation.due_at is None and conversation.waiting_since is None
    prompt.refresh_from_db()
    assert (prompt.answer, prompt.answer_message_id) == ("4", message.pk)
    assert prompt.answered_at is not None
    assert answers == [
        {
            "signal": prompt_answered,
            "prompt_id": prompt.pk,
            "kind": "csat",
            "answer": "4",
            "message_id": message.pk,
            "conversation_id": conversation.pk,
        }
    ]
    assert received == []  # nobody is asked to answer an answer
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    "text", ["7", "4 but the parcel is still missing", "ok", "Where is the invoice?"]
)
def test_anything_else_is_a_message_to_the_team(surveyed, heard, on_commit, text):
    sms, _conversation, prompt = surveyed
    answers, received = heard
    with on_commit():
        message = ingest(inbound(sms, PHONE, text=text, provider_message_id="m2"))
    assert "prompt" not in message.metadata
    assert answers == [] and len(received) == 1
    prompt.refresh_from_db()
    assert prompt.answered_at is None


def test_an_expired_prompt_is_not_answered(surveyed, heard, on_commit):
    sms, _conversation, prompt = surveyed
    Prompt.objects.filter(pk=prompt.pk).update(expires_at=prompt.created_at)
    with on_commit():
        message = ingest(inbound(sms, PHONE, text="5", provider_message_id="m2"))
    assert "prompt" not in message.metadata and heard[0] == []


def test_another_person_cannot_answer_it(surveyed, heard, on_commit):
    sms, conversation, _prompt = surveyed
    with on_commit():
        message = ingest(inbound(sms, "+393479999999", text="1", provider_message_id="m2"))
    assert message.conversation_id != conversation.pk and heard[0] == []


def test_a_prompt_is_answered_once(surveyed, heard, on_commit):
    sms, _conversation, prompt = surveyed
    with on_commit():
        ingest(inbound(sms, PHONE, text="2", provider_message_id="m2"))
        second = ingest(inbound(sms, PHONE, text="5", provider_message_id="m3"))
    assert "prompt" not in second.metadata
    prompt.refresh_from_db()
    assert prompt.answer == "2" and len(heard[0]) == 1


def test_a_retried_answer_is_stored_once(surveyed, heard, on_commit):
    sms, _conversation, _prompt = surveyed
    with on_commit():
        first = ingest(inbound(sms, PHONE, text="3", provider_message_id="m2"))
        again = ingest(inbound(sms, PHONE, text="3", provider_message_id="m2"))
    assert first.pk == again.pk and Message.objects.filter(provider_message_id="m2").count() == 1
    assert len(heard[0]) == 1


def test_a_newer_question_of_the_same_kind_replaces_the_older(surveyed):
    _sms, conversation, prompt = surveyed
    newer = prompts.ask(
        conversation,
        identity=prompt.identity,
        kind="csat",
        choices=["1", "2"],
        ttl=timedelta(hours=1),
    )
    prompt.refresh_from_db()
    assert prompt.expires_at <= newer.created_at
