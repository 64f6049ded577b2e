"""Many inbound messages written together, as ``ingest`` one by one would store them: the write
path of ``import_mail``.

``ingest`` costs about ten statements and a commit per message, each a round trip plus Django's
CPU for a query and a model save; importing a mailbox, that was the limit (about 120 emails/s on
two cores). Here a run of messages is planned in memory from a handful of queries for the whole
run (their senders, the stored messages and references they name, the conversations those are
in, locked), then written with one multi-row INSERT per table and one commit.

The planner applies ``ingest``'s threading rules in the same order (a stored message this one
answers; for a known person, their message that answers this one or the same earlier message;
their ``[#<ref>]`` subject token), with the messages planned earlier in the run counting as
stored. What it does not plan itself it hands to ``ingest_with_outcome`` in its place in the
order, after writing the run before it, so the one-by-one path decides:

- a message that may start a TTL clock or reopen a conversation (only history and automatic
  replies are planned), a reply token, a sender resolved by its channel, attachments still to
  come, a channel that threads by contact;
- a conversation that was merged, a late message that links two threads (a merge), an automatic
  reply to a resolved conversation (a timeline event), a second copy of a message;
- anything ``ingest`` would refuse (it raises the reason).

Any error while planning or writing a run rolls the run back and ingests its messages one by
one, each in its own transaction: one bad message never takes the others with it, and no
partial row is left. (An error in a hook after the commit, e.g. queueing a webhook delivery, is
logged: the run is stored.)

The differences from one by one are in time and locking only: the messages of a run share one
"now" (their time when the channel gives none, and their conversations' creation time), and the
run holds its senders' contacts and the conversations it may write locked until its commit.
``tests/test_ingest_batch.py`` compares the two paths' rows on the email corpus, generated mail,
threads in any arrival order and the cases review found.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.identities import InvalidIdentity, normalise
from crm.models import Contact, Identity
from hub.db_errors import retrying
from hub.files import atomic_with_files
from hub.inbound import InboundMessage, InboundParticipant
from hub.message_ids import matching_key
from hub.models import Attachment, Conversation, Message, MessageReference
from hub.payloads import conversation_payload, message_payload
from hub.services import realtime, understanding, webhooks
from hub.services import thread_rules as rules
from hub.services.ingestion import (
    IngestOutcome,
    attachment_with_file,
    capabilities_of,
    ingest_with_outcome,
    message_body,
    new_conversation,
    new_message,
    participant_entry,
    references_of,
    stands_in,
    started_at,
    stored_message,
    validate,
)
from hub.text import clean_text

logger = logging.getLogger(__name__)

# A message planned in this run sorts after every stored one with the same time (its id will be
# larger), and after the run's earlier messages.
_PLANNED_ID_BASE = 1 << 62

Result = IngestOutcome | Exception


def _participant_keys(inbound: InboundMessage) -> list[tuple[InboundParticipant, tuple[str, str]]]:
    """The participants with a valid address, and their identity keys (as ``ingest`` leaves an
    invalid one out)."""
    keys = []
    for participant in inbound.participants:
        try:
            keys.append(
                (participant, (participant.kind, normalise(participant.kind, participant.address)))
            )
        except InvalidIdentity:
            continue
    return keys


def _contact_key(row: Identity | Conversation):
    """Who a row belongs to: its contact's id, or the unsaved contact of a person new in the
    run."""
    return row.contact_id or row.contact


def _hashable(contact_key) -> object:
    """A contact key usable in a dict: an unsaved contact is not hashable."""
    return contact_key if isinstance(contact_key, int) else ("new", id(contact_key))


class _NotPlanned(Exception):
    """This message goes through ``ingest`` on its own."""


@dataclass
class _Seen:
    """A message that refers to, or is, some provider message id: where it is and when."""

    endpoint_id: int
    contact: object  # a contact id, or the unsaved Contact of a person new in this run
    conversation: Conversation
    occurred_at: datetime
    order: int  # the message id, or _PLANNED_ID_BASE + its place in the run


@dataclass
class _Planned:
    inbound: InboundMessage
    message: Message
    conversation_created: bool
    refs: list[str]
    # For the conversation it opened: its last activity then (later messages of the run move
    # it), which the ``conversation.created`` event carries, as one by one.
    opened_at: datetime | None = None
    participants: list[tuple[InboundParticipant, Identity]] = field(default_factory=list)


def ingest_many(inbounds: Sequence[InboundMessage]) -> list[Result]:
    """Store ``inbounds`` in order, as ``ingest_with_outcome`` one at a time would; one result
    per message: its outcome, or the exception ``ingest`` raised for it."""
    results: list[Result] = []
    while len(results) < len(inbounds):
        rest = inbounds[len(results) :]
        written = _write_run(rest)
        if written is None:  # the run failed: its messages one by one
            run = max(1, _plannable_prefix(rest))
            results.extend(_one_by_one(rest[:run]))
            continue
        results.extend(written)
        if len(results) < len(inbounds):
            results.extend(_one_by_one(inbounds[len(results) : len(results) + 1]))
    return results


def _one_by_one(inbounds: Sequence[InboundMessage]) -> list[Result]:
    """Each through ``ingest`` (tried again after a deadlock). A copy of a message stored
    meanwhile (by the run before it) is that message: its caller checked for stored copies
    before the run was written, and ``ingest`` would look at the copy's content first."""
    results: list[Result] = []
    for inbound in inbounds:
        try:
            existing = stored_message(inbound) if inbound.provider_message_id else None
            if existing is not None:
                results.append(IngestOutcome(existing, created=False))
            else:
                results.append(retrying(lambda inbound=inbound: ingest_with_outcome(inbound)))
        except Exception as exc:  # the caller records it (e.g. a quarantine)
            results.append(exc)
    return results


def _plannable(inbound: InboundMessage) -> bool:
    return bool(
        inbound.provider_message_id
        and not inbound.wants_answer
        and not inbound.conversation_token
        and inbound.resolved_sender is None
        and not inbound.pending_attachments
    )


def _plannable_prefix(inbounds: Sequence[InboundMessage]) -> int:
    count = 0
    for inbound in inbounds:
        if not _plannable(inbound):
            break
        count += 1
    return count


def _write_run(inbounds: Sequence[InboundMessage]) -> list[Result] | None:
    """Plan and write the longest run at the start of ``inbounds`` that can be planned (maybe
    none); None if that failed (nothing is written then)."""
    size = _plannable_prefix(inbounds)
    if not size:
        return []
    committed = False

    def mark_committed() -> None:
        nonlocal committed
        committed = True

    try:
        with atomic_with_files():
            transaction.on_commit(mark_committed)  # the first of the run's commit hooks
            planner = _Planner(inbounds[:size])
            planned = planner.plan()
            if planned:
                planner.write(planned)
    except Exception:
        if not committed:
            logger.warning("a run of up to %d messages failed; ingesting them one by one", size,
                           exc_info=True)  # fmt: skip
            return None
        # Stored: only a hook after the commit failed (e.g. queueing a webhook delivery).
        logger.exception("after a run of %d messages was stored", len(planned))
    return [
        IngestOutcome(item.message, created=True, conversation_created=item.conversation_created)
        for item in planned
    ]


class _Planner:
    def __init__(self, inbounds: Sequence[InboundMessage]):
        self.inbounds = inbounds
        self.now = timezone.now()
        self.identities: dict[tuple[str, str], Identity] = {}
        self.new_identities: list[Identity] = []
        self.renamed: dict[int, Contact] = {}
        self.conversations: dict[int, Conversation] = {}
        self.new_conversations: list[Conversation] = []
        self.updated: dict[int, Conversation] = {}
        # (channel, provider message id) -> the messages with that id / the ones referring to it
        self.messages: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
        self.references: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
        self.keys: set[tuple[int, str]] = set()
        # (endpoint id, contact key) -> the conversations a message may join by subject, and
        # whether each holds a message with thread headers (by the conversation's id()).
        self.by_contact: dict[tuple[int, object], list[Conversation]] = defaultdict(list)
        self.holds_references: dict[int, bool] = {}
        self.started: dict[int, datetime | None] = {}  # its earliest message's time
        self.order: dict[int, int] = {}

    # --- reading ----------------------------------------------------------------------------

    def _load(self, values: list[tuple[str, str]]) -> None:
        """Every row the run's threading can look at, in five queries."""
        by_kind: dict[str, set[str]] = defaultdict(set)
        for kind, value in values:
            by_kind[kind].add(value)
        condition = Q()
        for kind, kind_values in by_kind.items():
            condition |= Q(kind=kind, value__in=kind_values)
        # Each known person's contact (senders, people on Cc) locked, in id order: no deadlock.
        contacts: dict[int, Contact] = {}
        for identity in (
            Identity.objects.select_related("contact")
            .select_for_update(of=("contact",))
            .filter(condition)
            .order_by("contact_id")
        ):
            # One object per contact: a person writing from two of their addresses is one
            # contact, named once.
            identity.contact = contacts.setdefault(identity.contact_id, identity.contact)
            self.identities[(identity.kind, identity.value)] = identity

        channels = {inbound.endpoint.channel for inbound in self.inbounds}
        refs = {ref for inbound in self.inbounds for ref in references_of(inbound)}
        ids = {matching_key(inbound.provider_message_id) for inbound in self.inbounds}
        stored = list(
            Message.objects.filter(channel__in=channels, provider_message_id__in=refs).values_list(
                "channel", "provider_message_id", "conversation_id", "occurred_at", "id"
            )
        )
        # The known people's messages naming an id of the run (their threads), and anyone's
        # naming a message of the run (an answer that arrived first: a merge, see ``relink``).
        fields = (
            "channel",
            "provider_message_id",
            "message__endpoint_id",
            "message__conversation__contact_id",
            "message__conversation_id",
            "message__occurred_at",
            "message_id",
        )
        # Two queries, not one with OR: each uses the (channel, provider message id) index.
        referring = set(
            MessageReference.objects.filter(
                channel__in=channels,
                provider_message_id__in=refs,
                message__conversation__contact_id__in=contacts.keys(),
            ).values_list(*fields)
        )
        referring |= set(
            MessageReference.objects.filter(
                channel__in=channels, provider_message_id__in=ids
            ).values_list(*fields)
        )
        referring = sorted(referring, key=lambda row: row[-1])
        tokens = {inbound.conversation_ref for inbound in self.inbounds if inbound.conversation_ref}
        by_token = (
            Conversation.objects.filter(pk__in=tokens, contact_id__in=contacts.keys()).values_list(
                "pk", flat=True
            )
            if tokens and contacts
            else []
        )
        wanted = {row[2] for row in stored} | {row[4] for row in referring} | set(by_token)
        dates = [inbound.received_at or self.now for inbound in self.inbounds]
        window = settings.HUB["SUBJECT_THREAD_WINDOW"]
        if contacts and any(rules.subject_key(inbound.subject) for inbound in self.inbounds):
            # The known people's conversations a message may join by subject (``_by_subject``).
            wanted |= set(
                Conversation.objects.filter(
                    contact_id__in=contacts.keys(),
                    endpoint_id__in={inbound.endpoint.pk for inbound in self.inbounds},
                    merged_into__isnull=True,
                    last_activity_at__gte=min(dates) - window,
                    last_activity_at__lte=max(dates) + window,
                ).values_list("pk", flat=True)
            )
        for conversation in (
            Conversation.objects.select_for_update(of=("self",))
            .filter(pk__in=wanted)
            .annotate(
                holds_references=Exists(
                    MessageReference.objects.filter(message__conversation=OuterRef("pk"))
                ),
                started_at=started_at,
            )
            .order_by("pk")
        ):
            self.conversations[conversation.pk] = conversation
            self._candidate(conversation, conversation.holds_references, conversation.pk)
            self.started[id(conversation)] = conversation.started_at
        for channel, provider_id, conversation_id, occurred_at, pk in stored:
            seen = _Seen(0, None, self.conversations[conversation_id], occurred_at, pk)
            self.messages[(channel, provider_id)].append(seen)
        for channel, key, endpoint_id, contact_id, conversation_id, occurred_at, pk in referring:
            conversation = self.conversations[conversation_id]
            seen = _Seen(endpoint_id, contact_id, conversation, occurred_at, pk)
            self.references[(channel, key)].append(seen)

    def _candidate(self, conversation: Conversation, holds_references: bool, order: int) -> None:
        if not conversation.merged_into_id:
            key = (conversation.endpoint_id, _hashable(_contact_key(conversation)))
            self.by_contact[key].append(conversation)
        self.holds_references[id(conversation)] = holds_references
        self.order[id(conversation)] = order

    # --- planning ---------------------------------------------------------------------------

    def plan(self) -> list[_Planned]:
        senders: list[tuple[str, str]] = []
        participants: list[list[tuple[InboundParticipant, tuple[str, str]]]] = []
        for inbound in self.inbounds:
            try:
                validate(inbound)
                value = normalise(inbound.sender_kind, inbound.sender_address)
            except Exception:
                break  # ``ingest`` says why, on its own
            senders.append((inbound.sender_kind, value))
            participants.append(_participant_keys(inbound))
        if not senders:
            return []
        self.inbounds = self.inbounds[: len(senders)]
        self._load(senders + [key for keys in participants for _, key in keys])
        planned: list[_Planned] = []
        for position, (inbound, sender, others) in enumerate(
            zip(self.inbounds, senders, participants, strict=True)
        ):
            try:
                planned.append(self._plan_one(inbound, sender, others, position))
            except _NotPlanned:
                break
        return planned

    def _plan_one(
        self,
        inbound: InboundMessage,
        sender: tuple[str, str],
        others: list[tuple[InboundParticipant, tuple[str, str]]],
        position: int,
    ) -> _Planned:
        endpoint = inbound.endpoint
        channel = endpoint.channel
        capabilities = capabilities_of(channel)
        provider_id = matching_key(inbound.provider_message_id)
        if capabilities.threads_by_contact or (endpoint.pk, provider_id) in self.keys:
            raise _NotPlanned  # a channel threaded by contact; a second copy (a duplicate)
        if any(key == sender for _, key in others):
            raise _NotPlanned  # the sender among the other recipients: ``ingest`` sorts it out
        identity = self.identities.get(sender)
        new_person = identity is None
        contact_key = None if new_person else _contact_key(identity)
        refs = references_of(inbound)
        occurred_at = inbound.received_at or self.now

        conversation = self._latest(self.messages, channel, refs, None, None)
        rule = rules.REFERENCES
        if conversation is None and not new_person:
            keys = [*refs, provider_id]
            if capabilities.threads_by_references:
                conversation = self._latest(self.references, channel, keys, endpoint.pk,
                                            contact_key)  # fmt: skip
                rule = rules.REVERSE_REFERENCES
            if conversation is None and inbound.conversation_ref:
                found = self.conversations.get(inbound.conversation_ref)
                if found is not None and _contact_key(found) == contact_key:
                    conversation, rule = found, rules.SUBJECT_REF
                elif self.new_conversations:
                    raise _NotPlanned  # the token might name a conversation of this run
            if conversation is None and capabilities.threads_by_references:
                if stands_in(inbound):
                    # The team's mail naming no customer: ``ingest`` looks for the one
                    # conversation of its subject, whoever's.
                    raise _NotPlanned
                conversation = self._by_subject(inbound, contact_key, refs, occurred_at)
                rule = rules.SUBJECT
        created = conversation is None
        if created:
            rule = rules.NEW
        if capabilities.threads_by_references:
            for seen in self.references.get((channel, provider_id), ()):
                if (
                    seen.conversation is not conversation
                    and seen.endpoint_id == endpoint.pk
                    and not seen.conversation.merged_into_id
                ):
                    raise _NotPlanned  # an answer that arrived first: maybe a merge (``relink``)
        if not created:
            if conversation.merged_into_id:
                raise _NotPlanned  # followed by ``ingest``
            if (
                inbound.is_auto_reply or inbound.is_bounce
            ) and conversation.status == Conversation.Status.RESOLVED:
                raise _NotPlanned  # ``ingest`` records it on the timeline
        try:
            text, html = message_body(inbound)
        except Exception as exc:
            raise _NotPlanned from exc

        # Planned: from here on the run's state changes. The other recipients first, then the
        # sender, as ``ingest`` resolves them.
        resolved = [
            (participant, self._person(key, participant.name)) for participant, key in others
        ]
        identity = self._person(sender, inbound.sender_name)  # made, or an unnamed contact named
        if created:
            conversation = new_conversation(inbound, identity.contact, occurred_at, self.now)
            self.new_conversations.append(conversation)
            self._candidate(conversation, bool(refs), _PLANNED_ID_BASE + position)
            self.started[id(conversation)] = occurred_at
        else:
            started = self.started.get(id(conversation))
            self.started[id(conversation)] = min(started or occurred_at, occurred_at)
            if refs:
                self.holds_references[id(conversation)] = True
            conversation.last_activity_at = max(conversation.last_activity_at, occurred_at)
            subject = rules.thread_subject(conversation.subject, clean_text(inbound.subject)[:500])
            if subject:
                conversation.subject = subject  # as ``ingest``
            if conversation.pk:
                self.updated[conversation.pk] = conversation
        if inbound.from_team:  # the team's answer in history, as ``ingest``: no clock moves
            conversation.last_outbound_at = max(
                conversation.last_outbound_at or occurred_at, occurred_at
            )
        message = new_message(
            inbound, conversation, identity, text, html, occurred_at, inbound.metadata, rule
        )
        # Whose the message is, for the lookups: its conversation's contact (not always the
        # sender's: a message that answers someone else's mail joins their conversation).
        seen = _Seen(endpoint.pk, _contact_key(conversation), conversation, occurred_at,
                     _PLANNED_ID_BASE + position)  # fmt: skip
        self.keys.add((endpoint.pk, provider_id))
        self.messages[(channel, provider_id)].append(seen)
        for ref in refs:
            self.references[(channel, ref)].append(seen)
        return _Planned(inbound, message, created, refs, occurred_at if created else None, resolved)

    def _person(self, key: tuple[str, str], name: str) -> Identity:
        """The identity of ``key``, made (with its contact) if new; an unnamed contact takes
        ``name``: what ``get_or_create_identity`` does."""
        identity = self.identities.get(key)
        if identity is None:
            name = name[:200]
            identity = Identity(contact=Contact(name=name), kind=key[0], value=key[1],
                                display_name=name)  # fmt: skip
            self.identities[key] = identity
            self.new_identities.append(identity)
        elif name and not identity.contact.name:
            identity.contact.name = name[:200]
            if identity.contact.pk:
                self.renamed[identity.contact.pk] = identity.contact
        return identity

    def _by_subject(self, inbound: InboundMessage, contact_key, refs: list[str], occurred_at):
        """The conversation ``ingest`` finds by subject (``ingestion._by_subject``): the
        latest one the message may join."""
        key = rules.subject_key(inbound.subject)
        if not key:
            return None
        is_reply = rules.is_reply_subject(inbound.subject)
        best = None
        for conversation in self.by_contact.get((inbound.endpoint.pk, _hashable(contact_key)), ()):
            if conversation.merged_into_id or not rules.joins_by_subject(
                conversation,
                key=key,
                is_reply=is_reply,
                has_references=bool(refs),
                holds_references=self.holds_references[id(conversation)],
                started_at=self.started.get(id(conversation)),
                occurred_at=occurred_at,
                now=self.now,
            ):
                continue
            rank = (conversation.last_activity_at, self.order[id(conversation)])
            if best is None or rank > best[0]:
                best = (rank, conversation)
        return best[1] if best is not None else None

    def _latest(self, index, channel, keys, endpoint_id, contact) -> Conversation | None:
        """The conversation of the latest message among ``index``'s entries for ``keys`` (of
        that endpoint and contact, when given)."""
        best: _Seen | None = None
        for key in keys:
            for seen in index.get((channel, key), ()):
                if endpoint_id is not None and (
                    seen.endpoint_id != endpoint_id or seen.contact != contact
                ):
                    continue
                if best is None or (seen.occurred_at, seen.order) > (best.occurred_at, best.order):
                    best = seen
        return best.conversation if best is not None else None

    # --- writing ----------------------------------------------------------------------------

    def write(self, planned: list[_Planned]) -> None:
        now = timezone.now()
        contacts = [identity.contact for identity in self.new_identities]
        Contact.objects.bulk_create(contacts)
        Identity.objects.bulk_create(self.new_identities)
        for contact in self.renamed.values():
            contact.updated_at = now
        Contact.objects.bulk_update(self.renamed.values(), ["name", "updated_at"])
        Conversation.objects.bulk_create(self.new_conversations)
        for conversation in self.updated.values():
            conversation.updated_at = now
            conversation.next_check_at = conversation.derive_next_check()
        Conversation.objects.bulk_update(
            self.updated.values(),
            ["last_activity_at", "last_outbound_at", "subject", "updated_at", "next_check_at"],
        )
        for item in planned:
            if item.participants:
                item.message.metadata = {
                    **item.message.metadata,
                    "participants": [
                        participant_entry(p, identity) for p, identity in item.participants
                    ],
                }
        messages = [item.message for item in planned]
        Message.objects.bulk_create(messages)
        # Their analysis after the commit, in a task (see hub.services.understanding).
        ids = [message.pk for message in messages]
        transaction.on_commit(lambda: understanding.analyse_later(ids), robust=True)
        MessageReference.objects.bulk_create(
            MessageReference(
                message=item.message, channel=item.message.channel, provider_message_id=ref
            )
            for item in planned
            for ref in item.refs
        )
        Attachment.objects.bulk_create(
            attachment_with_file(
                item.message, part.filename, part.content_type, part.content, part.content_id
            )
            for item in planned
            for part in item.inbound.attachments
        )
        self._announce(planned)

    @staticmethod
    def _announce(planned: list[_Planned]) -> None:
        """Webhooks per event, as ``ingest`` queues them; one realtime push per team and kind."""
        pushes: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for item in planned:
            message, conversation = item.message, item.message.conversation
            message.attachments_expected = bool(item.inbound.attachments)
            if item.conversation_created:
                data = {
                    **conversation_payload(conversation),
                    "last_activity_at": item.opened_at.isoformat(),
                }
                webhooks.emit("conversation.created", data)
                pushes[(conversation.team_id, "conversation.created")].append(data)
            data = message_payload(message)
            webhooks.emit("message.created", data)
            pushes[(conversation.team_id, "message.created")].append(data)
        for (team_id, event), items in pushes.items():
            realtime.publish_batch(team_id, event, items)
