"""State changes of the SMS/WhatsApp channel. The views, tasks and the management command call
these; they reach the hub only through its services (ingest, delivery status, timeline)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from channels_sms import conf
from channels_sms.keywords import OPT_OUT, keyword_action
from channels_sms.media import (
    MediaTemporarilyUnavailable,
    MediaUnavailable,
    fetch_media,
    media_filenames,
)
from channels_sms.parsing import channel_of, message_sid, parse_inbound, strip_channel_prefix
from consent.intent import NONE, Decision, classify, is_plain_keyword
from crm.identities import InvalidIdentity, normalise, normalise_phone
from crm.models import Identity
from crm.services import (
    IdentityTaken,
    add_identity,
    find_identity,
    get_or_create_identity,
    name_unnamed_contact,
)
from hub import selectors
from hub.files import atomic_with_files
from hub.inbound import InboundMessage
from hub.models import Channel, Endpoint, Message
from hub.payloads import message_payload
from hub.services import IngestOutcome, ingest_with_outcome, realtime, update_delivery_status
from hub.services import consent as consent_service
from hub.services.errors import ServiceError
from hub.services.ingestion import store_attachment
from hub.services.timeline import record_event

logger = logging.getLogger(__name__)

SMS_CHANNELS = (Channel.SMS, Channel.WHATSAPP)
WHATSAPP_WINDOW = timedelta(hours=24)


class InvalidWebhook(ServiceError):
    pass


# --- Endpoints --------------------------------------------------------------------------------


def find_endpoint(number: str, channel: str, messaging_service_sid: str = "") -> Endpoint | None:
    """The endpoint of our ``number`` (``To`` of an inbound message, ``From`` of a status
    callback), else the one configured for the Messaging Service."""
    raw = strip_channel_prefix(number)
    if raw:
        candidates = [raw]
        with contextlib.suppress(InvalidIdentity):
            e164 = normalise_phone(raw)
            if e164 != raw:
                candidates.insert(0, e164)
        for candidate in candidates:
            found = selectors.endpoint_by_address(channel, candidate)
            if found is not None:
                return found
        if len(candidates) == 2:
            found = _endpoint_typed_otherwise(channel, candidates[0])
            if found is not None:
                return found
    if messaging_service_sid:
        found = list(
            Endpoint.objects.filter(
                channel__in=SMS_CHANNELS,
                settings__twilio_messaging_service_sid=messaging_service_sid,
            )
        )
        found.sort(key=lambda endpoint: endpoint.channel != channel)
        return found[0] if found else None
    return None


def _endpoint_typed_otherwise(channel: str, e164: str) -> Endpoint | None:
    """An endpoint whose address was typed in another format ("+39 02 ..."): a scan of the
    channel's few endpoints, only when the exact lookup missed."""
    for endpoint in Endpoint.objects.filter(channel=channel):
        with contextlib.suppress(InvalidIdentity):
            if normalise_phone(strip_channel_prefix(endpoint.address)) == e164:
                return endpoint
    return None


def endpoint_for_inbound(params: Mapping[str, Any]) -> Endpoint | None:
    sender, to = params.get("From") or "", params.get("To") or ""
    channel = channel_of(sender) if sender else channel_of(to)
    return find_endpoint(to, channel, params.get("MessagingServiceSid") or "")


def endpoint_for_status(params: Mapping[str, Any], idempotency_key: uuid.UUID | None):
    """The endpoint a status callback is about: from the message it names when we know it
    (our callback URL carries its idempotency key; else its ``MessageSid``), else from our
    number in ``From``."""
    messages = Message.objects.filter(
        direction=Message.Direction.OUTBOUND, channel__in=SMS_CHANNELS
    ).select_related("endpoint")
    message = None
    if idempotency_key is not None:
        message = messages.filter(idempotency_key=idempotency_key).first()
    sid = message_sid(params)
    if message is None and sid:
        message = messages.filter(provider_message_id=sid).first()
    if message is not None:
        return message.endpoint
    sender = params.get("From") or ""
    return find_endpoint(sender, channel_of(sender), params.get("MessagingServiceSid") or "")


# --- Inbound ----------------------------------------------------------------------------------


def _lock_phone_number(value: str) -> None:
    """Serialise the linking of one phone number's identities until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on the number. SQLite: the transaction already
    holds the database's single write lock (``transaction_mode`` IMMEDIATE)."""
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"channels_sms.phone:{value}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


@transaction.atomic(savepoint=False)  # part of the caller's transaction, if any
def link_phone_identities(
    kind: str, address: str, *, display_name: str = ""
) -> tuple[Identity, bool]:
    """The sender's identity, created on the contact that already has the same number on the
    other channel (an SMS number and a WhatsApp number of one phone are one person), and
    whether it and its contact were created now. An identity found at once comes with its
    contact row locked (``contact_locked``), as the ingest would read it.

    Race-safe: under a lock on the number, so the first SMS and the first WhatsApp message of a
    new person, arriving together, still make one contact. Raises ``InvalidIdentity``.
    """
    value = normalise(kind, address)
    existing = find_identity(kind, value, lock_contact=True)
    if existing is not None:
        name_unnamed_contact(existing, display_name)
        return existing, False
    if not value.startswith("+"):  # a WhatsApp user id that shares no number with anything
        return get_or_create_identity(kind, value, display_name=display_name, lock_contact=True)
    _lock_phone_number(value)
    other = Identity.Kind.WHATSAPP if kind == Identity.Kind.PHONE else Identity.Kind.PHONE
    rows = {
        row.kind: row
        for row in Identity.objects.select_related("contact").filter(
            kind__in=[kind, other], value=value
        )
    }
    if other not in rows:
        return get_or_create_identity(kind, value, display_name=display_name, lock_contact=True)
    if kind in rows:
        identity = rows[kind]
    else:
        try:
            identity = add_identity(rows[other].contact, kind, value, display_name=display_name)
        except IdentityTaken as taken:  # created meanwhile by a path that takes no lock
            identity = taken.identity
    identity.contact_locked = False  # read without the lock: the ingest takes it
    name_unnamed_contact(identity, display_name)
    return identity, False


def receive_inbound(endpoint: Endpoint, params: Mapping[str, Any]) -> IngestOutcome | None:
    """Store one incoming Twilio message (idempotent by ``MessageSid``); None when there is
    nothing to store (no text, no media). Opt-out/opt-in keywords take effect; media download is
    queued for after commit. Raises ``InvalidWebhook`` (the caller answers 400)."""
    parsed = parse_inbound(params)
    if not parsed.message_sid:
        raise InvalidWebhook("MessageSid is missing.", field="MessageSid")
    if parsed.is_empty:
        logger.info("Twilio message %s has no text and no media: not stored", parsed.message_sid)
        return None
    kind = Identity.Kind.WHATSAPP if endpoint.channel == Channel.WHATSAPP else Identity.Kind.PHONE
    action = keyword_action(parsed.text)
    decision = classify(parsed.text) if action is None else None
    inbound = InboundMessage(
        endpoint=endpoint,
        sender_kind=kind,
        sender_address=parsed.sender,
        sender_name=parsed.sender_name,
        text=parsed.text,
        provider_message_id=parsed.message_sid,
        references=parsed.references,
        pending_attachments=len(parsed.media),
        metadata=parsed.metadata,
        # STOP / START and clear requests ask nothing of an agent; an unsure one does.
        awaits_reply=action is None and not (decision and decision.acts),
    )
    with atomic_with_files():
        try:
            inbound.resolved_sender = link_phone_identities(
                kind, parsed.sender, display_name=parsed.sender_name
            )
        except InvalidIdentity as exc:
            raise InvalidWebhook(
                f"Invalid sender From={parsed.sender!r}: {exc}", field="From"
            ) from exc
        try:
            outcome = ingest_with_outcome(inbound)
        except ServiceError as exc:
            raise InvalidWebhook(exc.message, code=exc.code, field=exc.field) from exc
        if action is not None and outcome.created:
            apply_opt_keyword(outcome.message, *action)
        elif decision is not None and decision.intent != NONE and outcome.created:
            apply_opt_decision(outcome.message, decision)
        if parsed.media:
            # Queued again on a provider retry too: the task skips what is already stored.
            message_id = outcome.message.pk

            def queue_media() -> None:
                from channels_sms.tasks import download_inbound_media

                download_inbound_media.delay(message_id)

            transaction.on_commit(queue_media)
    return outcome


def _confirms(message: Message, text: str) -> bool:
    """Whether the hub sends the confirmation: not for Twilio's own keywords on SMS, which
    Twilio's opt-out handling answers (and after which it blocks our messages)."""
    return not (message.channel == Channel.SMS and is_plain_keyword(text))


def apply_opt_keyword(message: Message, action: str, keyword: str) -> bool:
    """Opt the sender's identity out of (or back into) this channel; returns whether it changed.

    The identity is per channel (a phone number for SMS, a WhatsApp number), so STOP by SMS does
    not silence WhatsApp. The change is an event on the conversation's timeline, and the person
    gets a confirmation in their language (``hub.services.consent``)."""
    identity = Identity.objects.get(pk=message.sender_identity_id)
    change = consent_service.opt_out if action == OPT_OUT else consent_service.opt_in
    return change(
        message.conversation,
        identity,
        trigger=keyword,
        message=message,
        confirm=_confirms(message, message.text),
        metadata={"keyword": keyword},
    )


def apply_opt_decision(message: Message, decision: Decision) -> bool:
    """A natural-language request ("please quit texting me"): a sure one takes effect as a
    keyword does; an unsure one becomes a suggestion for an agent and holds the number out of
    automatic messages until decided. Returns whether consent changed."""
    identity = Identity.objects.get(pk=message.sender_identity_id)
    if not decision.sure:
        consent_service.suggest(
            message,
            identity,
            intent=decision.intent,
            rule=decision.rule,
            confidence=decision.confidence,
        )
        return False
    change = consent_service.opt_out if decision.intent == OPT_OUT else consent_service.opt_in
    return change(
        message.conversation,
        identity,
        trigger=message.text[:80],
        message=message,
        metadata={"rule": decision.rule, "confidence": decision.confidence},
    )


# --- Inbound media ----------------------------------------------------------------------------


def fetch_inbound_media(message_id: int, *, final: bool = False) -> bool:
    """Download the message's Twilio media and attach it. Idempotent: an item whose file is
    stored, or whose failure is on the timeline, is skipped. Returns False when an item failed
    for a reason that may pass (the caller retries); on the ``final`` attempt such failures are
    recorded instead. Failures are events on the timeline, never silent."""
    message = Message.objects.select_related("endpoint", "conversation").get(pk=message_id)
    media = ((message.metadata or {}).get("twilio") or {}).get("media") or []
    if not media:
        return True
    names = media_filenames(media)
    stored = set(message.attachments.values_list("filename", flat=True))
    failed = _failed_media(message)
    credentials = conf.twilio_credentials(message.endpoint)
    done = True
    for index, item in enumerate(media):
        if names[index] in stored or index in failed:
            continue
        try:
            content, content_type = fetch_media(
                item["url"], credentials=credentials, fallback_type=item.get("content_type", "")
            )
        except MediaUnavailable as exc:
            _record_media_failure(message, index, item, str(exc))
            continue
        except MediaTemporarilyUnavailable as exc:
            if final:
                _record_media_failure(message, index, item, str(exc))
            else:
                logger.info("media %s of message %s: %s (will retry)", index, message_id, exc)
                done = False
            continue
        _attach(message_id, names[index], content_type, content)
    return done


def _failed_media(message: Message) -> set[int]:
    events = Message.objects.filter(
        conversation_id=message.conversation_id,
        kind=Message.Kind.EVENT,
        event_type="media_unavailable",
        metadata__message_id=message.pk,
    ).values_list("metadata", flat=True)
    return {item.get("index") for item in events}


@atomic_with_files()
def _attach(message_id: int, filename: str, content_type: str, content: bytes) -> None:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .get(pk=message_id)
    )
    if message.attachments.filter(filename=filename).exists():
        return  # a concurrent run of the task stored it first
    store_attachment(message, filename, content_type, content)
    realtime.publish(message.conversation, "message.updated", message_payload(message))


@transaction.atomic
def _record_media_failure(message: Message, index: int, item: dict, reason: str) -> None:
    Message.objects.select_for_update(of=("self",)).get(pk=message.pk)
    if index in _failed_media(message):
        return
    logger.warning("media %s of message %s not downloaded: %s", index, message.pk, reason)
    record_event(
        message.conversation,
        "media_unavailable",
        text=f"A file sent with message #{message.pk} could not be downloaded: {reason}",
        metadata={
            "message_id": message.pk,
            "index": index,
            "url": item.get("url", ""),
            "content_type": item.get("content_type", ""),
            "reason": reason[:500],
        },
    )


# --- Delivery status --------------------------------------------------------------------------

# Twilio's MessageStatus values (its Message.Status enum) -> the hub's delivery statuses.
STATUS_MAP = {
    "accepted": Message.DeliveryStatus.QUEUED,
    "scheduled": Message.DeliveryStatus.QUEUED,
    "queued": Message.DeliveryStatus.QUEUED,
    "sending": Message.DeliveryStatus.SENT,
    "sent": Message.DeliveryStatus.SENT,
    "partially_delivered": Message.DeliveryStatus.SENT,
    "delivered": Message.DeliveryStatus.DELIVERED,
    "read": Message.DeliveryStatus.READ,
    "undelivered": Message.DeliveryStatus.FAILED,
    "failed": Message.DeliveryStatus.FAILED,
    "canceled": Message.DeliveryStatus.FAILED,
}

# Short descriptions of the error codes agents meet most (https://www.twilio.com/docs/api/errors).
ERROR_CODES = {
    "21211": "Invalid 'To' phone number",
    "21610": "Attempt to send to unsubscribed recipient",
    "21612": "The 'To' number is not reachable via this channel",
    "21614": "'To' number is not a valid mobile number",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "63003": "Channel could not find the 'To' address",
    "63016": "Outside the WhatsApp 24-hour window: only templates can be sent",
    "63024": "Invalid message recipient",
}
# Codes that say the address itself cannot receive messages on this channel.
UNDELIVERABLE_CODES = {"21211", "21614", "30005", "30006", "63003", "63024"}
OPTED_OUT_CODE = "21610"


def describe_error(code: str, message: str = "") -> str:
    code = (code or "").strip()
    message = (message or "").strip() or ERROR_CODES.get(code, "")
    if not code:
        return message
    text = f"Twilio error {code}: {message}" if message else f"Twilio error {code}"
    return f"{text} (https://www.twilio.com/docs/api/errors/{code})"


def parse_idempotency_key(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@transaction.atomic
def apply_status_callback(
    endpoint: Endpoint, params: Mapping[str, Any], *, idempotency_key: uuid.UUID | None = None
) -> Message | None:
    """Apply one status callback through the hub (never backwards). Error codes that say the
    address is dead or opted out mark the recipient's identity. Returns the message, or None for
    a message we do not know or a status we do not track."""
    sid = message_sid(params)
    if not sid:
        raise InvalidWebhook("MessageSid is missing.", field="MessageSid")
    raw_status = str(params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    status = STATUS_MAP.get(raw_status)
    if status is None:
        logger.info("Twilio status %r for %s ignored", raw_status, sid)
        return None
    code = str(params.get("ErrorCode") or "").strip()[:16]
    error = describe_error(code, str(params.get("ErrorMessage") or "")[:500])
    message = update_delivery_status(
        endpoint, sid, status, error=error, idempotency_key=idempotency_key
    )
    if message is None or status != Message.DeliveryStatus.FAILED or not code:
        return message
    if code == OPTED_OUT_CODE or code in UNDELIVERABLE_CODES:
        _mark_recipient(message, code, error)
    return message


def _mark_recipient(message: Message, code: str, error: str) -> None:
    if message.recipient_identity_id is None:
        return
    identity = Identity.objects.select_for_update().get(pk=message.recipient_identity_id)
    now = timezone.now()
    if code == OPTED_OUT_CODE:
        if identity.opted_out_at is not None:
            return
        identity.opted_out_at = now
        identity.save(update_fields=["opted_out_at"])
        event, text = "opted_out", f"{identity.value} has unsubscribed at Twilio ({error})."
    else:
        if identity.undeliverable_at is not None:
            return
        identity.undeliverable_at = now
        identity.undeliverable_reason = error[:500]
        identity.save(update_fields=["undeliverable_at", "undeliverable_reason"])
        event, text = "undeliverable", f"{identity.value} cannot receive messages: {error}"
    record_event(
        message.conversation,
        event,
        text=text,
        metadata={"identity_id": identity.pk, "message_id": message.pk, "error_code": code},
    )


# --- WhatsApp customer-service window ---------------------------------------------------------


def last_inbound_at(endpoint: Endpoint, identity: Identity) -> datetime | None:
    """When ``identity`` last wrote to ``endpoint`` (any conversation): WhatsApp's window runs
    per business number and person, not per conversation."""
    last = (
        Message.objects.filter(
            endpoint=endpoint,
            sender_identity=identity,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.MESSAGE,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return last
