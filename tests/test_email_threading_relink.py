"""A reply that arrives before its parent, from someone else (a colleague of the customer on Cc,
a team member from their own address), ends up in the parent's conversation when the parent
arrives, in any arrival order; an id alone (a newsletter's, or one a stranger claims) moves
nobody's mail. Mail the team sent (imported history of a shared mailbox) is outbound."""

from __future__ import annotations

import itertools

import pytest

from channels_email import services
from hub.models import Conversation, Message
from tests.factories import UserFactory
from tests.test_email_flow import MAILBOX, mail

pytestmark = pytest.mark.django_db

CUSTOMER = "lucia@example.it"
COLLEAGUE = "paolo@example.it"


@pytest.fixture
def support(endpoint_for):
    endpoint = endpoint_for("email")
    endpoint.settings = {"team_addresses": ["help-desk@shop.example"]}
    endpoint.save()
    return endpoint


def ingest(raw: bytes, **kwargs) -> Message:
    outcome = services.ingest_raw_email(raw, source="test", historical=True, **kwargs)
    assert outcome.status == "ingested", outcome
    return outcome.message


def _conversation_of(message: Message) -> Conversation:
    conversation = Conversation.objects.get(pk=Message.objects.get(pk=message.pk).conversation_id)
    assert conversation.merged_into_id is None
    return conversation


def _thread() -> list[bytes]:
    """The customer writes with a colleague on Cc; the colleague answers; a team member answers
    the colleague from a team address (To: the mailbox only); the customer answers that."""
    return [
        mail(sender=CUSTOMER, Cc=COLLEAGUE, subject="Contratto 2025", message_id="<c1@example.it>",
             Date="Mon, 03 Mar 2025 09:00:00 +0000"),
        mail(sender=COLLEAGUE, subject="Re: Contratto 2025", message_id="<c2@example.it>",
             In_Reply_To="<c1@example.it>", References="<c1@example.it>",
             Date="Mon, 03 Mar 2025 10:00:00 +0000"),
        mail(sender="help-desk@shop.example", subject="Re: Contratto 2025",
             message_id="<c3@shop.example>", In_Reply_To="<c2@example.it>",
             References="<c1@example.it> <c2@example.it>",
             Date="Mon, 03 Mar 2025 11:00:00 +0000"),
        mail(sender=CUSTOMER, subject="Re: Contratto 2025", message_id="<c4@example.it>",
             In_Reply_To="<c3@shop.example>",
             References="<c1@example.it> <c2@example.it> <c3@shop.example>",
             Date="Mon, 03 Mar 2025 12:00:00 +0000"),
    ]  # fmt: skip


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_answers_from_other_senders_join_the_parent_in_any_arrival_order(support, order):
    raws = _thread()
    messages = {i: ingest(raws[i]) for i in order}
    conversations = {_conversation_of(m).pk for m in messages.values()}
    assert len(conversations) == 1
    conversation = Conversation.objects.get(pk=conversations.pop())
    # It stays the customer's conversation whoever's answer arrived first.
    assert conversation.contact.identities.filter(value=CUSTOMER).exists()


def test_the_colleagues_answer_before_the_parent_is_relinked_whatever_the_sender(support):
    answer = ingest(_thread()[1])
    parent = ingest(_thread()[0])
    assert _conversation_of(answer).pk == parent.conversation_id


def test_a_stranger_claiming_an_id_other_people_answered_pulls_nothing(support):
    alice = ingest(mail(sender="alice@a.example", message_id="<a1@a.example>",
                        In_Reply_To="<news-1@marketing.example>"))  # fmt: skip
    claimer = ingest(mail(sender="eve@e.example", message_id="<news-1@marketing.example>"))
    assert _conversation_of(alice).pk != claimer.conversation_id
    assert not Conversation.objects.filter(merged_into__isnull=False).exists()


def test_mail_from_the_mailbox_in_history_is_the_outbound_side_of_the_conversation(support):
    agent = UserFactory(email="marco@shop.example")
    question = ingest(mail(sender=CUSTOMER, subject="Rimborso", message_id="<q1@example.it>",
                           Date="Mon, 03 Mar 2025 09:00:00 +0000"))  # fmt: skip
    answer = ingest(
        mail(sender=f"Assistenza <{MAILBOX}>", to=CUSTOMER, subject="Re: Rimborso",
             message_id="<q2@shop.example>", In_Reply_To="<q1@example.it>",
             Date="Mon, 03 Mar 2025 10:00:00 +0000")
    )  # fmt: skip
    by_agent = ingest(
        mail(
            sender="Marco <marco@shop.example>",
            to=CUSTOMER,
            subject="Re: Rimborso",
            message_id="<q3@shop.example>",
            Date="Mon, 03 Mar 2025 11:00:00 +0000",
        ),
        mailbox=MAILBOX,  # as ``import_mail --mailbox`` files a shared mailbox's history
    )  # no thread headers: the customer on To and the subject thread it
    for message in (answer, by_agent):
        message.refresh_from_db()
        assert message.conversation_id == question.conversation_id
        assert message.direction == Message.Direction.OUTBOUND
        assert message.delivery_status == Message.DeliveryStatus.SENT  # never sent again
        assert message.next_attempt_at is None
        assert message.sender_identity is None
        assert message.recipient_identity.value == CUSTOMER
    assert by_agent.author == agent and answer.author is None
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert conversation.last_outbound_at is not None
    assert conversation.waiting_since is None  # history starts no clock
    # Nobody new: the customer is the only contact, the mailbox no person.
    assert Conversation.objects.count() == 1
    assert not Message.objects.filter(sender_identity__value__endswith="@shop.example").exists()


def test_live_team_mail_starts_no_clock_and_is_not_quarantined(support):
    question = services.ingest_raw_email(mail(sender=CUSTOMER, message_id="<l1@example.it>"),
                                         source="test").message  # fmt: skip
    conversation = Conversation.objects.get(pk=question.conversation_id)
    assert conversation.waiting_since is not None
    outcome = services.ingest_raw_email(
        mail(sender=MAILBOX, to=CUSTOMER, message_id="<l2@shop.example>",
             In_Reply_To="<l1@example.it>"),
        source="test",
    )  # fmt: skip
    assert outcome.status == "ingested"
    assert outcome.message.direction == Message.Direction.OUTBOUND
    assert outcome.message.conversation_id == conversation.pk
