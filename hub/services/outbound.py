"""The one way out: a reply is stored first (the outbox), then a Celery task delivers it through
the channel adapter, with retries, backoff and the message's idempotency key."""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext

from crm.models import Identity
from hub import adapters, sniffing
from hub.channels import IDENTITY_KINDS_FOR_CHANNEL
from hub.files import atomic_with_files
from hub.inbound import InboundAttachment
from hub.models import Conversation, Endpoint, Message
from hub.payloads import message_payload
from hub.sanitize import html_to_text, sanitize_html
from hub.services import clock, realtime, temperature, webhooks
from hub.services.errors import ServiceError
from hub.services.ingestion import store_attachment
from hub.text import clean_text

logger = logging.getLogger(__name__)

# A status never moves backwards: an out-of-order provider callback is ignored.
_STATUS_RANK = {
    Message.DeliveryStatus.QUEUED: 0,
    Message.DeliveryStatus.SENT: 1,
    Message.DeliveryStatus.FAILED: 2,
    Message.DeliveryStatus.DELIVERED: 2,
    Message.DeliveryStatus.READ: 3,
}


def recipient_identity(conversation: Conversation, endpoint: Endpoint) -> Identity | None:
    """Who a reply on ``endpoint`` goes to: the identity that last wrote to us there, else the
    contact's identity of a kind the channel reaches."""
    last = _last_sender_on(conversation, endpoint)
    if last is not None and last.contact_id == conversation.contact_id:
        return last
    kinds = IDENTITY_KINDS_FOR_CHANNEL.get(endpoint.channel, ())
    identities = {i.kind: i for i in conversation.contact.identities.filter(kind__in=kinds)}
    for kind in kinds:
        if kind in identities:
            return identities[kind]
    return None


# How many of a conversation's latest inbound messages are looked at for the endpoint's sender.
_RECENT_INBOUND = 50


def _last_sender_on(conversation: Conversation, endpoint: Endpoint) -> Identity | None:
    """Who last wrote to us in ``conversation`` on ``endpoint``.

    Read along the conversation's timeline index, newest first, filtering the endpoint here: a
    filter on ``endpoint_id`` in SQL lets PostgreSQL pick the endpoint index instead, and when
    its statistics predate the endpoint's traffic (a new widget or number: the next automatic
    ANALYZE of a large message table is a million writes away) it walks every message of the
    endpoint, 13 ms at 14,000 of them, on each reply. Only when none of the latest inbound
    messages came through the endpoint does the query filter by it.
    """
    inbound = Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        sender_identity__isnull=False,
    ).order_by("-occurred_at", "-id")
    recent = list(inbound.values_list("endpoint_id", "sender_identity_id")[:_RECENT_INBOUND])
    found = next((sender for ep, sender in recent if ep == endpoint.pk), None)
    if found is None and len(recent) == _RECENT_INBOUND:
        found = inbound.filter(endpoint=endpoint).values_list("sender_identity_id", flat=True)
        found = found.first()
    return Identity.objects.filter(pk=found).first() if found is not None else None


def _checked_recipient(conversation: Conversation, text: str) -> Identity:
    """The reply's recipient, or ``OutboundRefused`` with the reason the channel refuses it."""
    if conversation.merged_into_id:
        raise adapters.OutboundRefused(
            gettext("This conversation was merged into #%(id)d: reply there.")
            % {"id": conversation.merged_into_id},
            code="merged",
        )
    endpoint = conversation.endpoint
    recipient = recipient_identity(conversation, endpoint)
    if recipient is None:
        raise adapters.OutboundRefused(
            f"No {endpoint.get_channel_display()} address is known for this contact.",
            code="no_recipient",
        )
    adapters.get_adapter(endpoint.channel).validate_outbound(conversation, text, recipient)
    return recipient


def _check_attachments(
    conversation: Conversation, attachments: Sequence[InboundAttachment]
) -> None:
    """Files on a reply: within the hub's count and size limits (field errors), and what the
    channel carries (``OutboundRefused`` with its reason), before anything is stored."""
    limits = settings.HUB
    if len(attachments) > limits["MAX_REPLY_ATTACHMENTS"]:
        raise ServiceError(
            gettext("At most %(count)d files can go with one reply.")
            % {"count": limits["MAX_REPLY_ATTACHMENTS"]},
            field="attachments",
        )
    if any(not item.content for item in attachments):
        raise ServiceError(gettext("An attached file is empty."), field="attachments")
    total = sum(len(item.content) for item in attachments)
    _check_total_size(total)
    try:
        adapter = adapters.get_adapter(conversation.endpoint.channel)
    except LookupError:
        adapter = adapters.ChannelAdapter()
    adapter.validate_attachments(conversation.endpoint, len(attachments), total)


def _check_total_size(total: int) -> None:
    limit = settings.HUB["MAX_REPLY_ATTACHMENT_BYTES"]
    if total > limit:
        raise ServiceError(
            gettext("The files are too large together (%(size)s; at most %(limit)s).")
            % {"size": filesizeformat(total), "limit": filesizeformat(limit)},
            field="attachments",
        )


def uploaded_attachments(files: Sequence[UploadedFile]) -> list[InboundAttachment]:
    """Files uploaded with a reply (the API's multipart body, the agent's composer) as the
    attachments ``send_reply`` stores, typed from their bytes (``hub.sniffing``)."""
    _check_total_size(sum(upload.size or 0 for upload in files))  # before reading them
    return [uploaded_attachment(upload) for upload in files]


def uploaded_attachment(upload: UploadedFile) -> InboundAttachment:
    """One uploaded file as an attachment: its content type from the bytes, the declared one
    kept only where the bytes agree (never a type a browser would render as a page)."""
    name = upload.name or "attachment"
    content = upload.read()
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    return InboundAttachment(
        filename=name, content_type=sniffing.sniff(content, declared, name), content=content
    )


@dataclass(frozen=True)
class ReplyCheck:
    allowed: bool
    reason: str
    code: str
    notices: list[adapters.ComposeNotice]


def check_reply(conversation: Conversation, text: str) -> ReplyCheck:
    """What the composer shows before sending: whether the channel takes this draft, and its
    rules (segments, length guidance, windows). Reads only; nothing is stored."""
    text = clean_text(text)
    endpoint = conversation.endpoint
    adapter = adapters.get_adapter(endpoint.channel)
    recipient = recipient_identity(conversation, endpoint)
    notices = list(adapter.compose_notices(conversation, text, recipient))
    if recipient is not None and recipient.opt_out_pending_at is not None:
        notices.append(
            adapters.ComposeNotice(
                "opt_out_pending",
                gettext(
                    "%(address)s may have asked to stop receiving messages: confirm or dismiss "
                    "the opt-out suggestion on the timeline before writing."
                )
                % {"address": recipient.value},
                "warning",
            )
        )
    try:
        _checked_recipient(conversation, text)
    except adapters.OutboundRefused as refused:
        return ReplyCheck(False, refused.reason, refused.code, notices)
    return ReplyCheck(True, "", "", notices)


@atomic_with_files()
def send_reply(
    conversation: Conversation,
    *,
    text: str,
    author=None,
    html: str = "",
    attachments: Sequence[InboundAttachment] = (),
    metadata: dict | None = None,
    counts_as_response: bool = True,
    automatic: bool = False,
) -> Message:
    """Store an outbound reply on the conversation's current channel and queue its delivery.

    A reply stops the TTL clock; a message the hub sends on its own while the person still waits
    for the real answer (the expectation message) passes ``counts_as_response=False``.

    ``automatic``: the hub sends it on its own (expectation and handoff notices, chat
    continuity): refused too while the person may have asked to opt out and no agent has decided
    yet (``Identity.opt_out_pending_at``). An agent's own reply still goes.

    Raises ``adapters.OutboundRefused`` when the channel cannot take it (too long, no address,
    opted out, outside a window) and ``ServiceError`` for an empty reply.
    """
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("endpoint", "contact", "sla_record")  # the clock stop reads the record
        .get(pk=conversation.pk)
    )
    html = sanitize_html(html)
    text = clean_text(text) or html_to_text(html)
    if not text and not attachments:
        raise ServiceError("A reply needs text or an attachment.", field="text")
    endpoint = conversation.endpoint
    if attachments:
        _check_attachments(conversation, attachments)
    recipient = _checked_recipient(conversation, text)
    if automatic and recipient.opt_out_pending_at is not None:
        raise adapters.OutboundRefused(
            f"{recipient.value} may have asked to opt out: no automatic messages until an agent "
            "confirms or dismisses it.",
            code="opt_out_pending",
        )
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.MESSAGE,
        channel=endpoint.channel,
        endpoint=endpoint,
        recipient_identity=recipient,
        author=author,
        text=text,
        html=html,
        delivery_status=Message.DeliveryStatus.QUEUED,
        next_attempt_at=now,
        metadata=metadata or {},
        occurred_at=now,
    )
    for item in attachments:
        store_attachment(message, item.filename, item.content_type, item.content, item.content_id)
    conversation.last_activity_at = now
    temperature_changes: dict = {}
    if counts_as_response:
        conversation.last_outbound_at = now
        clock.stop(conversation, now, by=author)
        temperature_changes = temperature.refresh(conversation, now)  # answered: cools down
    conversation.save()

    # Registered before the agents' pushes: after commit the person's delivery goes first.
    # Robust: the reply is stored and queued; should the broker be down, the beat's
    # stalled-delivery task hands it to the worker later.
    transaction.on_commit(lambda: _dispatch(message), robust=True)  # (a partial has no name to log)
    payload = message_payload(message)
    webhooks.emit("message.created", payload)
    realtime.publish(conversation, "message.created", payload)
    if temperature_changes:
        temperature.announce(conversation, temperature_changes)
    return message


def _dispatch(message: Message) -> None:
    """After commit: hand a queued message to the worker, or deliver it here at once when the
    channel's adapter delivers inline (see ``Capabilities.delivers_inline``)."""
    from hub.tasks import RetryLater, attempt_delivery, deliver_message

    message_id = message.pk
    try:
        inline = adapters.get_adapter(message.channel).capabilities.delivers_inline
    except LookupError:
        inline = False
    if inline:
        try:
            attempt_delivery(message_id, 0, loaded=message)
            return
        except RetryLater as later:
            # Recorded as a failed attempt; the worker takes the retries from here.
            deliver_message.apply_async((message_id,), countdown=later.countdown)
            return
        except Exception:
            logger.exception("inline delivery of message %s failed; queued instead", message_id)
    deliver_message.delay(message_id)


def deliver(message_id: int, *, loaded: Message | None = None) -> Message:
    """Send one queued message through its channel adapter. Idempotent: a message that is no
    longer queued is left alone, and the row lock keeps two workers from sending it twice.

    ``loaded``: the message as its sender just stored it (with conversation, endpoint and
    recipient), so only its row lock and status are read again.

    Raises ``adapters.DeliveryError`` when the adapter fails (the caller retries or gives up).
    """
    with transaction.atomic():
        if loaded is not None:
            status = (
                Message.objects.select_for_update(of=("self",))
                .filter(pk=message_id)
                .values_list("delivery_status", flat=True)
                .first()
            )
            if status != Message.DeliveryStatus.QUEUED:
                loaded.refresh_from_db()
                return loaded
            message = loaded
        else:
            message = (
                Message.objects.select_for_update(of=("self",))
                .select_related("conversation", "endpoint", "recipient_identity")
                .get(pk=message_id)
            )
        if message.delivery_status != Message.DeliveryStatus.QUEUED:
            return message
        result = adapters.get_adapter(message.channel).send(message)
        message.delivery_status = (
            Message.DeliveryStatus.DELIVERED if result.delivered else Message.DeliveryStatus.SENT
        )
        message.delivery_attempts += 1
        message.delivery_error = ""
        message.next_attempt_at = None
        _save_sent(message, storable_remote_id(result.provider_message_id))
        realtime.publish(message.conversation, "message.updated", message_payload(message))
        return message


_SENT_FIELDS = ["delivery_status", "delivery_attempts", "delivery_error", "next_attempt_at"]


def storable_remote_id(value: object) -> str:
    """The id a remote gave a sent message, as it can be stored: text without control
    characters or lone surrogates, at most 255 characters. Remotes promise nothing about it."""
    if value is None:
        return ""
    text = str(value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs")).strip()
    return text[:255]


def _save_sent(message: Message, remote_id: str) -> None:
    """Record a message the remote accepted. The remote's id is kept where it can be (outbound
    ids carry no unique constraint: the constraint keeps *inbound* messages idempotent per
    endpoint); should writing it fail all the same, the message is still marked sent without
    it: after the remote took the message, nothing it answered may make the hub send it again.
    """
    if remote_id and remote_id != message.provider_message_id:
        previous = message.provider_message_id
        message.provider_message_id = remote_id
        try:
            with transaction.atomic():
                _write_sent(message, [*_SENT_FIELDS, "provider_message_id"])
            return
        except DatabaseError:
            logger.warning(
                "message %s: the remote id %r could not be stored; marked sent without it",
                message.pk,
                remote_id,
                exc_info=True,
            )
            message.provider_message_id = previous
    _write_sent(message, _SENT_FIELDS)


def _write_sent(message: Message, fields: list[str]) -> None:
    message.save(update_fields=[*fields, "updated_at"])


def backoff_seconds(attempt: int) -> int:
    """Exponential backoff: 10 s, 20 s, 40 s ... capped (attempt counts from 0)."""
    base = settings.HUB["DELIVERY_BACKOFF_BASE"]
    return max(1, int(min(settings.HUB["DELIVERY_BACKOFF_CAP"], base * 2**attempt)))


@transaction.atomic
def record_delivery_failure(
    message_id: int, reason: str, *, final: bool, retry_in: int = 0
) -> None:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .get(pk=message_id)
    )
    if message.delivery_status != Message.DeliveryStatus.QUEUED:
        return
    message.delivery_attempts += 1
    message.delivery_error = reason[:2000]
    if final:
        message.delivery_status = Message.DeliveryStatus.FAILED
        message.next_attempt_at = None
    else:
        message.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    message.save()
    realtime.publish(message.conversation, "message.updated", message_payload(message))


@transaction.atomic
def update_delivery_status(
    endpoint: Endpoint,
    provider_message_id: str,
    status: str,
    *,
    error: str = "",
    idempotency_key: uuid.UUID | None = None,
) -> Message | None:
    """Apply a provider's delivery callback. Never moves a status backwards.

    A provider whose callback carries the message's ``idempotency_key`` (in the callback URL the
    adapter gave it) passes it: the row lock then waits for a delivery still in progress, and a
    message whose send timed out after the provider accepted it learns its provider id here, so
    a retry does not send it again.
    """
    outbound = Message.objects.select_for_update(of=("self",)).select_related("conversation")
    outbound = outbound.filter(endpoint=endpoint, direction=Message.Direction.OUTBOUND)
    adopted = False
    if idempotency_key is not None:
        message = outbound.filter(idempotency_key=idempotency_key).first()
        if message is None or message.provider_message_id not in ("", provider_message_id):
            return None
        if not message.provider_message_id:
            taken = Message.objects.filter(
                endpoint=endpoint, provider_message_id=provider_message_id
            ).exists()
            if taken:
                return None
            message.provider_message_id = provider_message_id
            adopted = True
    else:
        message = outbound.filter(provider_message_id=provider_message_id).first()
    if message is None:
        return None
    moves = _STATUS_RANK.get(status, -1) > _STATUS_RANK.get(message.delivery_status, -1)
    if not moves and not adopted:
        return message
    if moves:
        if error or message.delivery_status == Message.DeliveryStatus.QUEUED:
            message.delivery_error = error[:2000]
        message.delivery_status = status
    message.save(
        update_fields=["delivery_status", "delivery_error", "provider_message_id", "updated_at"]
    )
    realtime.publish(message.conversation, "message.updated", message_payload(message))
    return message


def stalled_deliveries(limit: int = 500) -> list[int]:
    """Queued messages whose next attempt is overdue: their broker task was lost."""
    now = timezone.now()
    cutoff = now - settings.HUB["STALLED_DELIVERY_AFTER"]
    ids = list(
        Message.objects.filter(
            delivery_status=Message.DeliveryStatus.QUEUED, next_attempt_at__lt=cutoff
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    # Claimed for another full interval, so a worker that is down does not pile up copies.
    Message.objects.filter(pk__in=ids).update(next_attempt_at=now)
    return ids
