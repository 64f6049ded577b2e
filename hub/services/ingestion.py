"""The one way in: every channel hands its normalised ``InboundMessage`` to ``ingest``.

In one transaction: resolve the sender to a CRM identity, find or open the conversation, store
the message and its attachments, move the conversation's status and TTL clock, and queue side
effects (webhooks, realtime, channel follow-ups) for after commit. A provider message id is
stored once per endpoint whatever the retries: the database's unique constraint decides, so two
concurrent deliveries of the same message store one row.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from config.prepared import PreparedQuery
from crm.identities import InvalidIdentity
from crm.models import Contact
from crm.services import LANGUAGE_FIELDS, get_or_create_identity, resolve_identity
from hub import adapters
from hub.files import atomic_with_files, note_written
from hub.inbound import InboundMessage, InboundParticipant
from hub.message_ids import matching_key
from hub.models import (
    Attachment,
    Conversation,
    Endpoint,
    Message,
    MessageReference,
    SlaRecord,
)
from hub.payloads import conversation_payload, message_payload
from hub.sanitize import html_to_text, sanitize_html
from hub.services import (
    attention,
    clock,
    prompts,
    realtime,
    relink,
    temperature,
    understanding,
    webhooks,
)
from hub.services import thread_rules as rules
from hub.services.conversations import _reopen
from hub.services.errors import ServiceError
from hub.services.policies import policy_for
from hub.services.timeline import record_event
from hub.text import clean_text

logger = logging.getLogger(__name__)

_UNSAFE_IN_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")

# Queries of every inbound message, compiled once (see config.prepared).
_locked_by_id = PreparedQuery(
    lambda pk: Conversation.objects.select_for_update(of=("self",)).filter(pk=pk), pk=int
)
_locked_by_reply_token = PreparedQuery(
    lambda reply_token: Conversation.objects.select_for_update(of=("self",)).filter(
        reply_token=reply_token
    ),
    reply_token=str,
)
_stored_message = PreparedQuery(
    lambda endpoint_id, provider_message_id: (
        Message.objects.select_related("conversation")
        .filter(
            endpoint_id=endpoint_id,
            provider_message_id=provider_message_id,
            direction=Message.Direction.INBOUND,
        )
        .order_by("id")
    ),
    endpoint_id=int,
    provider_message_id=str,
)
# The conversation of the latest stored message among ``refs`` (the ones this one answers).
_answered = PreparedQuery(
    lambda refs, channel: (
        Message.objects.filter(provider_message_id__in=refs, channel=channel)
        .order_by("-occurred_at", "-id")
        .values_list("conversation_id", flat=True)
    ),
    refs=list[str],
    channel=str,
)
# The conversation of the same contact on the same endpoint whose latest message refers to one
# of ``keys``. Only the contact's own: an id anyone can name (a newsletter's, a mailing list
# post's) must not join two people's mail, nor two mailboxes.
_answering = PreparedQuery(
    lambda keys, channel, endpoint_id, contact_id: (
        MessageReference.objects.filter(
            channel=channel,  # the index's first column
            provider_message_id__in=keys,
            message__endpoint_id=endpoint_id,
            message__conversation__contact_id=contact_id,
        )
        .order_by("-message__occurred_at", "-message_id")
        .values_list("message__conversation_id", flat=True)
    ),
    keys=list[str],
    channel=str,
    endpoint_id=int,
    contact_id=int,
)
# The latest conversation of a contact on an endpoint: the thread of chat, SMS, WhatsApp, API.
_latest_on_endpoint = PreparedQuery(
    lambda contact_id, endpoint_id: (
        Conversation.objects.select_for_update(of=("self",))
        .filter(contact_id=contact_id, endpoint_id=endpoint_id)
        .order_by("-last_activity_at", "-id")
    ),
    contact_id=int,
    endpoint_id=int,
)


@dataclass(frozen=True)
class IngestOutcome:
    message: Message
    created: bool
    conversation_created: bool = False
    reopened: bool = False


class InvalidInbound(ServiceError):
    pass


def ingest(inbound: InboundMessage) -> Message:
    """Store ``inbound`` once and return its ``Message`` (the existing one for a retry)."""
    return ingest_with_outcome(inbound).message


def ingest_with_outcome(inbound: InboundMessage) -> IngestOutcome:
    validate(inbound)
    # A retry is normally caught by the unique constraint below; with attachments, look first
    # so a retry does not write files that the rollback would leave behind.
    if inbound.provider_message_id and (inbound.attachments or inbound.pending_attachments):
        existing = stored_message(inbound)
        if existing is not None:
            return IngestOutcome(existing, created=False)
    inbound, prompt = prompts.match(inbound)  # "4" to a survey: recorded where it was asked
    try:
        with atomic_with_files():
            outcome = _store(inbound)
            if prompt is not None:
                prompts.answered(prompt, outcome.message)
            return outcome
    except IntegrityError:
        # A concurrent delivery of the same provider message won the unique constraint.
        if inbound.provider_message_id:
            existing = stored_message(inbound)
            if existing is not None:
                return IngestOutcome(existing, created=False)
        raise


def validate(inbound: InboundMessage) -> None:
    endpoint = inbound.endpoint
    if not isinstance(endpoint, Endpoint) or endpoint.pk is None:
        raise InvalidInbound("Unknown endpoint.", field="endpoint")
    if not endpoint.is_active:
        raise InvalidInbound("This endpoint is not active.", field="endpoint", code="inactive")
    if len(inbound.provider_message_id) > 255:
        raise InvalidInbound("Provider message id too long.", field="provider_message_id")
    limit = settings.HUB["MAX_MESSAGE_CHARS"]
    if len(inbound.text or "") > limit or len(inbound.html or "") > limit * 4:
        raise InvalidInbound(f"Message longer than {limit} characters.", field="text")
    if not (
        inbound.text
        or inbound.html
        or inbound.attachments
        or inbound.pending_attachments
        or inbound.allow_empty
    ):
        raise InvalidInbound("An empty message (no text, HTML or attachment).", field="text")


def stored_message(inbound: InboundMessage) -> Message | None:
    """The message already stored for ``inbound``'s provider message id on its endpoint."""
    return _stored_message.first(
        endpoint_id=inbound.endpoint.pk, provider_message_id=inbound.provider_message_id
    )


def capabilities_of(channel: str) -> adapters.Capabilities:
    try:
        return adapters.get_adapter(channel).capabilities
    except LookupError:
        return adapters.Capabilities()


def references_of(inbound: InboundMessage) -> list[str]:
    """The message ids ``inbound`` answers, nearest first, as stored (at most 100)."""
    return list(dict.fromkeys(matching_key(ref) for ref in inbound.references if ref))[:100]


def _threaded_conversation(
    inbound: InboundMessage, contact: Contact, refs: list[str], *, new_person: bool
) -> tuple[Conversation | None, str]:
    """The conversation the message's threading hints point to, if any, locked; where that
    one was merged, the one it was merged into; and the rule that found it (``thread_rules``).
    ``refs``: the message ids it answers (``references_of``)."""
    conversation, rule = _hinted_conversation(inbound, contact, refs, new_person=new_person)
    for _hop in range(20):  # a chain of merges is short; a cycle cannot be made, but bound it
        if conversation is None or not conversation.merged_into_id:
            break
        conversation = _locked_by_id.first(pk=conversation.merged_into_id)
    return conversation, rule if conversation is not None else rules.NEW


def _hinted_conversation(
    inbound: InboundMessage, contact: Contact, refs: list[str], *, new_person: bool
) -> tuple[Conversation | None, str]:
    endpoint = inbound.endpoint
    capabilities = capabilities_of(endpoint.channel)
    locked = Conversation.objects.select_for_update(of=("self",))
    if inbound.conversation_token:
        found = _locked_by_reply_token.first(reply_token=inbound.conversation_token)
        if found is not None:
            return found, rules.REPLY_TOKEN
    if refs:
        # A stored message this one answers. Only the id: the row is read once, locked.
        conversation_id = _answered.first(refs=refs, channel=endpoint.channel)
        if conversation_id is not None:
            return _locked_by_id.first(pk=conversation_id), rules.REFERENCES
    if new_person:
        return None, rules.NEW  # nobody else's subject token, and no conversation of theirs yet
    own = matching_key(inbound.provider_message_id)
    keys = [*refs, own] if own else refs
    if keys and capabilities.threads_by_references:
        # The person's message that answers this one (it arrived first) or the same one.
        conversation_id = _answering.first(
            keys=keys, channel=endpoint.channel, endpoint_id=endpoint.pk, contact_id=contact.pk
        )
        if conversation_id is not None:
            return _locked_by_id.first(pk=conversation_id), rules.REVERSE_REFERENCES
    if inbound.conversation_ref:
        # A subject token is guessable, so it only threads the same person's conversation.
        found = locked.filter(pk=inbound.conversation_ref, contact=contact).first()
        if found is not None:
            return found, rules.SUBJECT_REF
    if capabilities.threads_by_references:
        if stands_in(inbound):
            found = _team_mail_by_subject(inbound, refs)
        else:
            found = _by_subject(inbound, contact, refs)
        if found is not None:
            return found, rules.SUBJECT
    if capabilities.threads_by_contact:
        found = _latest_on_endpoint.first(contact_id=contact.pk, endpoint_id=endpoint.pk)
        return found, rules.CONTACT_LATEST
    return None, rules.NEW


# The time of a conversation's earliest message (for ``thread_rules.joins_by_subject``).
started_at = Subquery(
    Message.objects.filter(conversation=OuterRef("pk"), kind=Message.Kind.MESSAGE)
    .order_by("occurred_at")
    .values("occurred_at")[:1]
)


def stands_in(inbound: InboundMessage) -> bool:
    """Whether the team's address stands in for a customer the team's mail did not name."""
    return bool(inbound.from_team) and inbound.sender_address.strip().lower() == inbound.from_team


def _team_mail_by_subject(inbound: InboundMessage, refs: list[str]) -> Conversation | None:
    """The one conversation on the mailbox, whoever's, that the team's mail naming no customer
    joins by its subject; None if there are none or several (a subject is no proof)."""
    key = rules.subject_key(inbound.subject)
    if not key or refs:
        return None
    now = timezone.now()
    occurred_at = inbound.received_at or now
    window = settings.HUB["SUBJECT_THREAD_WINDOW"]
    found = [
        conversation
        for conversation in Conversation.objects.select_for_update(of=("self",))
        .filter(
            endpoint=inbound.endpoint,
            merged_into__isnull=True,
            subject__icontains=key,
            last_activity_at__gte=occurred_at - window,
            last_activity_at__lte=occurred_at + window,
        )
        .order_by("-last_activity_at", "-id")[:20]
        if rules.joins_by_subject(
            conversation,
            key=key,
            is_reply=True,
            has_references=False,
            holds_references=True,
            started_at=None,
            occurred_at=occurred_at,
            now=now,
        )
    ]
    return found[0] if len(found) == 1 else None


def _by_subject(inbound: InboundMessage, contact: Contact, refs: list[str]) -> Conversation | None:
    """The person's latest conversation on the endpoint that the message joins by its subject
    (``thread_rules.joins_by_subject``), locked."""
    key = rules.subject_key(inbound.subject)
    if not key:
        return None
    now = timezone.now()
    occurred_at = inbound.received_at or now
    window = settings.HUB["SUBJECT_THREAD_WINDOW"]
    candidates = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(
            contact=contact,
            endpoint=inbound.endpoint,
            merged_into__isnull=True,
            last_activity_at__gte=occurred_at - window,
            last_activity_at__lte=occurred_at + window,
        )
        .annotate(
            holds_references=Exists(
                MessageReference.objects.filter(message__conversation=OuterRef("pk"))
            ),
            started_at=started_at,
        )
        .order_by("-last_activity_at", "-id")
    )
    is_reply = rules.is_reply_subject(inbound.subject)
    for conversation in candidates:
        if rules.joins_by_subject(
            conversation,
            key=key,
            is_reply=is_reply,
            has_references=bool(refs),
            holds_references=conversation.holds_references,
            started_at=conversation.started_at,
            occurred_at=occurred_at,
            now=now,
        ):
            return conversation
    return None


def _open_conversation(inbound: InboundMessage, contact: Contact, occurred_at, now) -> Conversation:
    """A new conversation. Where the channel runs no TTL clock it is inserted complete, so the
    common case costs one INSERT and no UPDATE."""
    conversation = new_conversation(inbound, contact, occurred_at, now)
    if inbound.wants_answer:
        conversation.last_inbound_at = occurred_at
        policy = policy_for(conversation)
        if policy.ttl(SlaRecord.Kind.FIRST_RESPONSE) is None and not policy.resolution:
            clock.start(conversation, occurred_at, policy)  # no timed clock: nothing to record
    conversation.save(force_insert=True)
    return conversation


def new_conversation(inbound: InboundMessage, contact: Contact, occurred_at, now) -> Conversation:
    """The unsaved conversation ``inbound`` opens (its clock not started)."""
    endpoint: Endpoint = inbound.endpoint
    return Conversation(
        contact=contact,
        endpoint=endpoint,
        channel=endpoint.channel,
        team_id=endpoint.team_id,
        subject=clean_text(inbound.subject)[:500],
        last_activity_at=occurred_at,
        created_at=now,
    )


def message_body(inbound: InboundMessage) -> tuple[str, str]:
    """The text and sanitised HTML stored of ``inbound``; ``InvalidInbound`` if nothing of it
    is visible."""
    html = sanitize_html(inbound.html)
    text = clean_text(inbound.text) or html_to_text(html)
    if not (
        text
        or "<img" in html
        or inbound.attachments
        or inbound.pending_attachments
        or inbound.allow_empty
    ):
        raise InvalidInbound("An empty message (no visible text or attachment).", field="text")
    return text, html


def new_message(
    inbound: InboundMessage,
    conversation: Conversation,
    identity,
    text: str,
    html: str,
    occurred_at,
    metadata: dict,
    rule: str,
) -> Message:
    """The unsaved inbound ``Message`` of ``inbound`` (``metadata``: the inbound's, with what
    the ingest adds; ``rule``: the threading rule that chose its conversation)."""
    endpoint: Endpoint = inbound.endpoint
    metadata = {**metadata, "threading": {"rule": rule}}
    if inbound.from_team:
        # The team's own mail (history): outbound, already sent, never sent again.
        return Message(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.MESSAGE,
            channel=endpoint.channel,
            endpoint=endpoint,
            recipient_identity=identity,
            author=_agent(inbound.from_team),
            text=text,
            html=html,
            provider_message_id=inbound.provider_message_id,
            delivery_status=Message.DeliveryStatus.SENT,
            metadata={**metadata, "team_sender": inbound.from_team},
            occurred_at=occurred_at,
        )
    return Message(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        kind=Message.Kind.MESSAGE,
        channel=endpoint.channel,
        endpoint=endpoint,
        sender_identity=identity,
        text=text,
        html=html,
        provider_message_id=inbound.provider_message_id,
        delivery_status=Message.DeliveryStatus.RECEIVED,
        is_auto_reply=inbound.is_auto_reply,
        is_bounce=inbound.is_bounce,
        metadata=metadata,
        occurred_at=occurred_at,
    )


def _agent(address: str):
    """The active user whose email is ``address``, if exactly one."""
    users = list(get_user_model().objects.filter(is_active=True, email__iexact=address)[:2])
    return users[0] if len(users) == 1 else None


def participant_entry(participant: InboundParticipant, identity) -> dict:
    """How ``metadata["participants"]`` lists a participant (identity saved)."""
    return {
        "role": participant.role,
        "address": identity.value,
        "identity_id": identity.pk,
        "contact_id": identity.contact_id,
    }


def _resolve_participants(inbound: InboundMessage) -> list[dict]:
    """Everyone else it was addressed to becomes an identity, so a reply-all reaches them and
    the CRM knows them; an address that is no valid identity is left out."""
    result = []
    for participant in inbound.participants:
        try:
            identity = resolve_identity(
                participant.kind, participant.address, display_name=participant.name
            )
        except InvalidIdentity:
            continue
        result.append(participant_entry(participant, identity))
    return result


def _store(inbound: InboundMessage) -> IngestOutcome:
    endpoint: Endpoint = inbound.endpoint
    metadata = inbound.metadata
    if inbound.participants:
        participants = _resolve_participants(inbound)
        if participants:
            metadata = {**metadata, "participants": participants}
    if inbound.resolved_sender is not None:
        identity, new_person = inbound.resolved_sender
    else:
        try:
            identity, new_person = get_or_create_identity(
                inbound.sender_kind,
                inbound.sender_address,
                display_name=inbound.sender_name,
                lock_contact=True,
            )
        except InvalidIdentity as exc:
            raise InvalidInbound(str(exc), field="sender") from exc
    contact = identity.contact
    if not (new_person or identity.contact_locked):
        # One writer per contact at a time: two messages of one person never open two
        # conversations. (A contact created in this transaction is invisible to others.)
        contact = Contact.objects.select_for_update().filter(pk=identity.contact_id).first()
        if contact is None:
            # Merged into another contact since we read the identity: follow it.
            identity.refresh_from_db(fields=["contact"])
            contact = Contact.objects.select_for_update().get(pk=identity.contact_id)

    now = timezone.now()
    occurred_at = inbound.received_at or now
    refs = references_of(inbound)
    conversation, rule = _threaded_conversation(inbound, contact, refs, new_person=new_person)
    created = reopened = False
    if (
        conversation is not None
        and conversation.status == Conversation.Status.RESOLVED
        and inbound.wants_answer
    ):
        window = settings.HUB["REOPEN_WINDOW"]
        if conversation.resolved_at and conversation.resolved_at >= now - window:
            _reopen(conversation, reason="inbound message")
            reopened = True
        else:
            conversation, rule = None, rules.NEW
    if conversation is None:
        conversation = _open_conversation(inbound, contact, occurred_at, now)
        created = True
    else:
        if conversation.contact_id == contact.pk:
            conversation.contact = contact  # already loaded: spare later readers the query
        subject = rules.thread_subject(conversation.subject, clean_text(inbound.subject)[:500])
        if subject:
            conversation.subject = subject  # its first message arrived: saved below

    text, html = message_body(inbound)
    message = new_message(inbound, conversation, identity, text, html, occurred_at, metadata, rule)
    if inbound.wants_answer and understanding.read_inbound(message, contact):
        save_language(contact, now)
    message.save(force_insert=True)
    if not inbound.wants_answer:  # history, automatic replies, keywords: read after commit
        ids = [message.pk]
        transaction.on_commit(lambda: understanding.analyse_later(ids), robust=True)
    if refs:
        MessageReference.objects.bulk_create(
            MessageReference(message=message, channel=endpoint.channel, provider_message_id=ref)
            for ref in refs
        )
    for item in inbound.attachments:
        store_attachment(message, item.filename, item.content_type, item.content, item.content_id)
    message.attachments_expected = bool(inbound.attachments or inbound.pending_attachments)
    if inbound.provider_message_id and capabilities_of(endpoint.channel).threads_by_references:
        relink.join_answers(inbound, conversation, contact, metadata)

    changes: dict = {}
    # A conversation opened just now is already complete, unless its timed clock starts here
    # (the SLA record needs the conversation's row first) or its first message heats it.
    if inbound.from_team:  # the team's answer, in history: no clock moves
        conversation.last_outbound_at = max(
            conversation.last_outbound_at or occurred_at, occurred_at
        )
    save = (
        not created
        or inbound.from_team
        or (inbound.wants_answer and conversation.waiting_since is None)
    )
    if save:
        conversation.last_activity_at = max(conversation.last_activity_at, occurred_at)
        if inbound.wants_answer:
            conversation.last_inbound_at = max(
                conversation.last_inbound_at or occurred_at, occurred_at
            )
            if conversation.status in (Conversation.Status.PENDING, Conversation.Status.SNOOZED):
                changes["status"] = [conversation.status, Conversation.Status.OPEN]
                conversation.status = Conversation.Status.OPEN
                conversation.snoozed_until = None
            if conversation.status == Conversation.Status.OPEN:
                clock.start(conversation, occurred_at)
    if inbound.wants_answer:
        changes.update(temperature.refresh(conversation, occurred_at))  # as the clock
        save = save or bool(conversation.temperature_reasons)
    if save:
        conversation.save()

    conv_data = conversation_payload(conversation)
    msg_data = message_payload(message)
    if created:
        webhooks.emit("conversation.created", conv_data)
        realtime.publish(conversation, "conversation.created", conv_data)
    elif reopened or changes:
        if reopened:
            changes["status"] = [Conversation.Status.RESOLVED, Conversation.Status.OPEN]
        webhooks.emit("conversation.updated", {**conv_data, "changes": changes})
        realtime.publish(conversation, "conversation.updated", conv_data)
    webhooks.emit("message.created", msg_data)
    realtime.publish(conversation, "message.created", msg_data)
    if inbound.wants_answer:
        attention.after_inbound(message, conversation, created=created, reopened=reopened)
    if conversation.status == Conversation.Status.RESOLVED:
        if inbound.is_bounce:
            record_event(
                conversation,
                "bounce_received",
                text="Delivery failure report received; the conversation stays resolved.",
            )
        elif inbound.is_auto_reply:
            record_event(
                conversation,
                "auto_reply_received",
                text="Automatic reply received; the conversation stays resolved.",
            )

    return IngestOutcome(message, created=True, conversation_created=created, reopened=reopened)


def save_language(contact: Contact, now) -> None:
    """Store the language a message taught ``contact``."""
    Contact.objects.filter(pk=contact.pk).update(
        **{name: getattr(contact, name) for name in LANGUAGE_FIELDS}, updated_at=now
    )


def store_attachment(
    message: Message, filename: str, content_type: str, content: bytes, content_id: str = ""
) -> Attachment:
    attachment = attachment_with_file(message, filename, content_type, content, content_id)
    attachment.save()
    return attachment


def attachment_with_file(
    message: Message, filename: str, content_type: str, content: bytes, content_id: str = ""
) -> Attachment:
    """An unsaved ``Attachment`` of ``message`` whose file is written (and noted for deletion
    should the transaction roll back)."""
    # No path separators, and no control characters (a NUL makes the storage fail).
    filename = _UNSAFE_IN_NAME.sub("_", filename or "")[:200] or "attachment"
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    attachment = Attachment(
        message=message,
        filename=filename,
        content_type=content_type[:255],
        size=len(content),
        content_id=content_id.strip("<>")[:255],
    )
    attachment.file.save(filename, ContentFile(content), save=False)
    note_written(attachment.file.storage, attachment.file.name)
    return attachment
