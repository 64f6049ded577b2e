"""A message that arrives after its answers links them: their conversations merge into its own.

An answer that arrived first could not find the message it answers, so it opened a conversation
of its own (or joined another thread of its sender). When the message arrives, the answers'
conversations on the same endpoint that name it in ``In-Reply-To``/``References`` merge into the
message's conversation, whoever sent them, when the headers and the people prove they belong:

- the answer's conversation is the same person's (as before); or
- the answer was sent by the team (the mailbox's own address, an address listed in the
  endpoint's ``settings["team_addresses"]``, or an agent's email); or
- the answer's sender is among the people of the message (its sender, To and Cc) or of the
  conversation it is in, or the message's sender is among the answer's To and Cc (a colleague
  of the customer on Cc answering; the customer answering a colleague).

An id alone is not proof: anyone can name a newsletter's Message-ID, or claim one, so a message
that merely claims an id other people's mail refers to does not pull their conversations in.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from config.prepared import PreparedQuery
from crm.models import Contact
from hub.inbound import InboundMessage
from hub.message_ids import matching_key
from hub.models import Conversation, Endpoint, Message, MessageReference
from hub.services import merge

# Messages in other conversations on an endpoint that answer ``provider_message_id`` (they
# arrived before it).
_answers_elsewhere = PreparedQuery(
    lambda provider_message_id, channel, endpoint_id, conversation_id: (
        MessageReference.objects.filter(
            channel=channel,
            provider_message_id=provider_message_id,
            message__endpoint_id=endpoint_id,
        )
        .exclude(message__conversation_id=conversation_id)
        .order_by("message_id")
        .values_list("message_id", flat=True)
    ),
    provider_message_id=str,
    channel=str,
    endpoint_id=int,
    conversation_id=int,
)


def team_addresses(endpoint: Endpoint) -> frozenset[str]:
    """The addresses the team writes from: the mailbox's own, the endpoint's
    ``settings["team_addresses"]`` and every active agent's email, lower case."""
    listed = (endpoint.settings or {}).get("team_addresses") or []
    if isinstance(listed, str):
        listed = listed.replace(";", ",").split(",")
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    addresses = {endpoint.address, *listed, *users.values_list("email", flat=True)}
    return frozenset(a.strip().lower() for a in addresses if isinstance(a, str) and a.strip())


def _people(metadata: dict) -> set[int]:
    return {
        entry["contact_id"]
        for entry in (metadata or {}).get("participants") or ()
        if isinstance(entry, dict) and entry.get("contact_id")
    }


def join_answers(
    inbound: InboundMessage, conversation: Conversation, contact: Contact, metadata: dict
) -> None:
    """Merge into ``conversation`` (locked, holding the message just stored from ``contact``
    with ``metadata``) the other conversations on its endpoint holding a proven answer to it."""
    endpoint = inbound.endpoint
    answers = _answers_elsewhere.list(
        provider_message_id=matching_key(inbound.provider_message_id),
        channel=endpoint.channel,
        endpoint_id=endpoint.pk,
        conversation_id=conversation.pk,
    )
    if not answers:  # the common case: no ORM query to compile
        return
    rows = Message.objects.filter(pk__in=answers).values_list(
        "conversation_id",
        "conversation__contact_id",
        "sender_identity__contact_id",
        "sender_identity__value",
        "metadata",
    )
    ours = {contact.pk} | _people(metadata)
    team: frozenset[str] | None = None
    kept_people: set[int] | None = None
    joined: set[int] = set()
    for conversation_id, owner_id, sender_id, sender_value, answer_meta in rows:
        if conversation_id in joined:
            continue
        proven = owner_id == contact.pk or sender_id in ours or contact.pk in _people(answer_meta)
        if not proven:
            if team is None:
                team = team_addresses(endpoint)
            team_sender = (answer_meta or {}).get("team_sender") or sender_value or ""
            proven = team_sender.lower() in team
        if not proven:
            if kept_people is None:
                kept_people = _conversation_people(conversation)
            proven = sender_id in kept_people
        if proven:
            joined.add(conversation_id)
    if not joined:
        return
    for other in (
        Conversation.objects.select_for_update(of=("self",))
        .filter(pk__in=joined, merged_into__isnull=True)
        .order_by("pk")
    ):
        merge.merge_into(conversation, other, reason="a late message links the two threads")


def _conversation_people(conversation: Conversation) -> set[int]:
    """Everyone who wrote in ``conversation`` or was on To/Cc of its messages."""
    people: set[int] = {conversation.contact_id}
    for sender_id, metadata in Message.objects.filter(
        conversation=conversation, kind=Message.Kind.MESSAGE
    ).values_list("sender_identity__contact_id", "metadata"):
        if sender_id:
            people.add(sender_id)
        people |= _people(metadata)
    return people
