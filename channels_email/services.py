"""State changes of the email channel. Views, the Anymail signal receivers, ``import_mail`` and
the admin call these; each inbound email is ingested in one transaction, or quarantined.

Every inbound path ends in :func:`ingest_email_message`: raw MIME from an MTA or a mailbox file
is parsed with the stdlib (``email.policy.default``), and Anymail hands us its own parsed
``AnymailInboundMessage`` (an ``EmailMessage`` too), so all ESPs share one set of rules for
endpoints, threading, text, attachments and auto-replies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import Message as MimeMessage
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from channels_email import team_mail
from channels_email.models import QuarantinedEmail, SentEmail
from channels_email.parsing import ParsedEmail, UnreadableEmail, parse_message
from channels_email.prepare import (
    EmailContent,
    PreparedEmail,
    email_content,
    listing_headers,
    prepare_raw_email,
)
from crm.identities import InvalidIdentity, normalise_email
from crm.models import Identity
from hub import config_cache
from hub.db_errors import retrying
from hub.files import atomic_with_files
from hub.inbound import InboundAttachment, InboundMessage, InboundParticipant
from hub.message_ids import matching_key
from hub.models import Channel, Conversation, Endpoint, Message
from hub.services import update_delivery_status
from hub.services.errors import ServiceError
from hub.services.ingest_batch import ingest_many
from hub.services.ingestion import IngestOutcome, ingest_with_outcome
from hub.services.timeline import record_event
from hub.text import escape_unstorable

logger = logging.getLogger(__name__)


def _setting(name: str) -> Any:
    return settings.HUB_EMAIL[name]


@dataclass(frozen=True)
class EmailOutcome:
    """What happened to one inbound email: ``ingested``, ``duplicate`` or ``quarantined``."""

    status: str
    message: Message | None = None
    quarantine: QuarantinedEmail | None = None
    reason: str = ""

    @property
    def conversation_id(self) -> int | None:
        return self.message.conversation_id if self.message else None


class _Quarantine(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- inbound ------------------------------------------------------------------------------------


def ingest_raw_email(
    raw: bytes,
    *,
    source: str,
    envelope_recipient: str = "",
    mailbox: str = "",
    historical: bool = False,
) -> EmailOutcome:
    """Parse RFC 822 bytes and ingest them; never raises for bad input (it quarantines)."""
    prepared = prepare_raw_email(raw, settings.HUB["MAX_MESSAGE_CHARS"])
    return ingest_prepared(
        prepared,
        raw,
        source=source,
        envelope_recipient=envelope_recipient,
        mailbox=mailbox,
        historical=historical,
    )


def ingest_prepared(
    prepared: PreparedEmail,
    raw: bytes,
    *,
    source: str,
    envelope_recipient: str = "",
    mailbox: str = "",
    historical: bool = False,
    mailboxes: Mailboxes | None = None,
    stored_ids: set[tuple[int, str]] | None = None,
) -> EmailOutcome:
    """Ingest an email parsed by :func:`~channels_email.prepare.prepare_raw_email` (possibly in
    another process). ``mailboxes`` spares the endpoint query; with ``stored_ids``, the
    (endpoint id, provider message id) pairs already stored, looked up for a batch at once, the
    duplicate check needs no query either."""
    if prepared.parsed is None:
        recipient = envelope_recipient or mailbox
        if prepared.error_traceback:
            logger.warning("unparseable email from %s\n%s", source, prepared.error_traceback)
        return quarantine(raw, code=prepared.error_code, reason=prepared.error_reason,
                          source=source, envelope_recipient=recipient)  # fmt: skip
    return _ingest_parsed(
        prepared.parsed,
        raw,
        prepared.listing,
        source=source,
        envelope_recipient=envelope_recipient,
        mailbox=mailbox,
        historical=historical,
        content=prepared.content,
        mailboxes=mailboxes,
        stored_ids=stored_ids,
    )


def ingest_email_message(
    message: MimeMessage,
    *,
    source: str,
    raw: bytes | None = None,
    envelope_recipient: str = "",
    mailbox: str = "",
    historical: bool = False,
) -> EmailOutcome:
    """Ingest a parsed email. ``envelope_recipient`` is the SMTP RCPT TO (most precise for the
    mailbox); ``mailbox`` forces the endpoint (``import_mail --mailbox``)."""
    if raw is None:
        raw = _as_bytes(message)
    try:
        parsed = parse_message(message)
    except UnreadableEmail as exc:
        return quarantine(raw, code=exc.code, reason=exc.reason, source=source,
                          envelope_recipient=envelope_recipient or mailbox,
                          listing=listing_headers(message))  # fmt: skip
    except Exception as exc:
        logger.exception("email from %s could not be ingested", source)
        return quarantine(raw, code="error", reason=f"{type(exc).__name__}: {exc}", source=source,
                          envelope_recipient=envelope_recipient or mailbox,
                          listing=listing_headers(message))  # fmt: skip
    return _ingest_parsed(
        parsed,
        raw,
        listing_headers(message),
        source=source,
        envelope_recipient=envelope_recipient,
        mailbox=mailbox,
        historical=historical,
    )


def _ingest_parsed(
    parsed: ParsedEmail, raw: bytes, listing: dict[str, str], **options
) -> EmailOutcome:
    """``_ready`` (``options`` are its keywords), then ``_store_one``."""
    email = _ready(parsed, raw, listing, **options)
    return email if isinstance(email, EmailOutcome) else _store_one(email)


@dataclass
class _Email:
    """An inbound email ready for the hub: its ``InboundMessage``, what the email channel does
    beside it in the same transaction (skipped attachments, bounce reports), and what a
    quarantine keeps should storing it fail."""

    inbound: InboundMessage
    skipped: list[dict]
    reports: list  # a bounce's per-recipient delivery reports
    raw: bytes
    source: str
    recipient: str
    listing: dict[str, str]

    @property
    def plain(self) -> bool:
        """Nothing but the hub's ingest to do: the message can be written with others."""
        return not (self.skipped or self.reports)


def _ready(
    parsed: ParsedEmail,
    raw: bytes,
    listing: dict[str, str],
    *,
    source: str,
    envelope_recipient: str,
    mailbox: str,
    historical: bool,
    content: EmailContent | None = None,
    mailboxes: Mailboxes | None = None,
    stored_ids: set[tuple[int, str]] | None = None,
) -> _Email | EmailOutcome:
    """The email to store, or what became of it already (a duplicate, a quarantine)."""
    recipient = envelope_recipient or mailbox
    try:
        mailboxes = mailboxes or load_mailboxes()
        endpoint, token = endpoint_for(parsed, envelope_recipient, mailbox, mailboxes)
        provider_id = provider_id_for(parsed, raw)
        if stored_ids is not None:
            duplicate = (endpoint.pk, provider_id) in stored_ids
        else:
            duplicate = _is_duplicate(endpoint, provider_id)
        if duplicate:
            return EmailOutcome("duplicate")
        if content is None:
            content = email_content(parsed, settings.HUB["MAX_MESSAGE_CHARS"])
        return _email(parsed, content, raw, endpoint, token, source, historical, mailboxes,
                      provider_id, recipient, listing)  # fmt: skip
    except Exception as exc:
        return _failed(exc, raw, source, recipient, listing)


def _failed(
    exc: Exception, raw: bytes, source: str, recipient: str, listing: dict[str, str]
) -> EmailOutcome:
    """Quarantine an email that could not be stored, with the reason."""
    if isinstance(exc, _Quarantine | UnreadableEmail):
        code, reason = exc.code, exc.reason
    elif isinstance(exc, ServiceError):
        code, reason = "refused", str(exc)
    else:
        logger.error("email from %s could not be ingested", source, exc_info=exc)
        code, reason = "error", f"{type(exc).__name__}: {exc}"
    return quarantine(raw, code=code, reason=reason, source=source, envelope_recipient=recipient,
                      listing=listing)  # fmt: skip


def _as_bytes(message: MimeMessage) -> bytes:
    try:
        return message.as_bytes(policy=policy.default.clone(linesep="\r\n"))
    except Exception:
        return message.as_string().encode("utf-8", "surrogateescape")


def provider_id_for(parsed: ParsedEmail, raw: bytes) -> str:
    """The Message-ID (idempotency key); a content hash for messages that have none."""
    if parsed.message_id:
        return matching_key(parsed.message_id)
    return f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid"


def _is_duplicate(endpoint: Endpoint, provider_id: str) -> bool:
    return Message.objects.filter(endpoint=endpoint, provider_message_id=provider_id).exists()


def stored_ids_for(
    emails: list[tuple[ParsedEmail, bytes]], *, mailbox: str, mailboxes: Mailboxes
) -> set[tuple[int, str]]:
    """The (endpoint id, provider message id) pairs of these emails that are already stored, in
    one query (emails that would be quarantined are left out)."""
    candidates = []
    for parsed, raw in emails:
        try:
            endpoint, _ = endpoint_for(parsed, "", mailbox, mailboxes)
        except _Quarantine:
            continue
        candidates.append((endpoint.pk, provider_id_for(parsed, raw)))
    if not candidates:
        return set()
    endpoint_ids = {endpoint_id for endpoint_id, _ in candidates}
    provider_ids = {provider_id for _, provider_id in candidates}
    found = Message.objects.filter(
        endpoint_id__in=endpoint_ids, provider_message_id__in=provider_ids
    ).values_list("endpoint_id", "provider_message_id")
    return set(found) & set(candidates)


@dataclass(frozen=True)
class Mailboxes:
    """Our email endpoints: the active ones by address, and every address of ours."""

    active: dict[str, Endpoint]
    addresses: frozenset[str]
    # Every address the team writes from (``team_mail``): its mail is outbound history.
    team: frozenset[str] = frozenset()


def load_mailboxes(*, cached: bool = False) -> Mailboxes:
    """One query for every email endpoint; ``cached``: from the process's configuration cache
    (cleared when an endpoint is saved here, at most a few seconds old otherwise), as
    ``import_mail`` uses it."""

    def load() -> Mailboxes:
        endpoints = list(Endpoint.objects.filter(channel=Channel.EMAIL))
        return Mailboxes(
            active={e.address.lower(): e for e in endpoints if e.is_active},
            addresses=frozenset(e.address.lower() for e in endpoints),
            team=team_mail.team_addresses(endpoints),
        )

    return config_cache.cached("email_mailboxes", load) if cached else load()


def _split_address(address: str) -> tuple[str, str]:
    """``Support+Tok@Shop.example`` -> (``support@shop.example``, ``Tok``)."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    base, _, token = local.partition("+")
    return f"{base}@{domain}".lower(), token


def endpoint_for(
    parsed: ParsedEmail, envelope_recipient: str, mailbox: str, mailboxes: Mailboxes
) -> tuple[Endpoint, str]:
    """The mailbox the message was sent to, and our reply token if the address carried one."""
    endpoints = mailboxes.active
    candidates = [envelope_recipient, *parsed.delivered_to]
    candidates += [address for _, address in (*parsed.to, *parsed.cc)]
    found: Endpoint | None = None
    if mailbox:
        found = endpoints.get(mailbox.lower())
        if found is None:
            raise _Quarantine("no_endpoint", f"No active email endpoint for {mailbox}.")
    token = ""
    for candidate in candidates:
        if not candidate or "@" not in candidate:
            continue
        base, plus = _split_address(candidate)
        endpoint = endpoints.get(base)
        if endpoint is None:
            continue
        if found is None:
            found = endpoint
        if plus and not token and endpoint == found:
            token = plus
    if found is None:
        # Sent from one of our mailboxes to the customer only: that mailbox's history.
        found = endpoints.get(_split_address(parsed.from_address)[0])
    if found is None:
        listed = ", ".join(sorted({c for c in candidates if c})) or "none"
        raise _Quarantine("no_endpoint", f"No active email endpoint for the recipients ({listed}).")
    return found, token


def _received_at(parsed: ParsedEmail):
    """The Date header, unless it is in the future (a wrong clock must not reorder timelines)."""
    now = timezone.now()
    if parsed.date is None or parsed.date > now + timedelta(minutes=5):
        return now
    return parsed.date


def _email(
    parsed: ParsedEmail,
    content: EmailContent,
    raw: bytes,
    endpoint: Endpoint,
    token: str,
    source: str,
    historical: bool,
    mailboxes: Mailboxes,
    provider_id: str,
    recipient: str,
    listing: dict[str, str],
) -> _Email:
    visible, html = content.visible, content.html
    meta: dict[str, Any] = {"source": source, **content.meta}
    attachments, skipped = _attachments(parsed)
    if skipped:
        meta["attachments_skipped"] = skipped
    if parsed.reports:
        meta["delivery_reports"] = [vars(report) for report in parsed.reports]
        meta["bounce"] = _bounce_summary(parsed)
        if not _setting("KEEP_RAW"):
            # The report's own parts are in the raw message when it is kept; else keep them
            # here, so nothing the provider sent is lost.
            attachments += [_attachment(part) for part in parsed.report_parts]
    elif parsed.report_parts:  # not a bounce after all: its parts are attachments
        attachments += [_attachment(part) for part in parsed.report_parts]
    if parsed.charsets:
        meta["charsets"] = parsed.charsets[:10]
    empty = not (visible or attachments)
    if empty:
        # Nothing written: the timeline says so ("no text"); the subject is never the text.
        meta["empty_body"] = True
    if _setting("KEEP_RAW"):
        meta["raw"] = _store_raw(raw)
    participants = _other_recipients(parsed, mailboxes)
    sender_address, sender_name = parsed.from_address, parsed.from_name
    from_team = team_mail.team_sender(parsed, mailboxes.team)
    if from_team:
        customer = team_mail.customer_of(parsed, mailboxes.team)
        if customer is not None:  # else the team address itself stands in for the customer
            sender_name, sender_address = customer
        participants = [
            p for p in participants
            if p.address != sender_address and _split_address(p.address)[0] not in mailboxes.team
        ]  # fmt: skip
    inbound = InboundMessage(
        endpoint=endpoint,
        sender_kind=Identity.Kind.EMAIL,
        sender_address=sender_address,
        sender_name=sender_name[:200],
        from_team=from_team,
        text=visible,
        html=html,
        provider_message_id=provider_id,
        subject=parsed.subject,
        received_at=_received_at(parsed),
        attachments=attachments,
        conversation_token=token,
        conversation_ref=parsed.subject_ref,
        references=parsed.thread_references,
        is_auto_reply=parsed.is_auto_reply,
        is_bounce=parsed.is_bounce,
        is_historical=historical,
        participants=participants,
        allow_empty=empty,
        metadata={"email": meta},
    )
    return _Email(inbound, skipped, list(parsed.reports), raw, source, recipient, listing)


def _bounce_summary(parsed: ParsedEmail) -> dict[str, Any]:
    """What the timeline shows of a bounce: each failed recipient, hard or soft, and why."""
    return {
        "recipients": [
            {
                "address": report.recipient[:320],
                "status": report.status[:20],
                "action": report.action[:20],
                "hard": report.is_hard_bounce,
                "diagnostic": report.diagnostic[:400],
            }
            for report in parsed.reports[:20]
        ],
        "original_message_id": next(
            (r.original_message_id for r in parsed.reports if r.original_message_id), ""
        ),
        "report_parts": [part.filename for part in parsed.report_parts],
    }


def _store_one(email: _Email) -> EmailOutcome:
    """One transaction per message (tried again after a deadlock, see ``hub.db_errors``). When
    the hub's ingest is the only thing that writes, its own transaction is that one: a savepoint
    inside ours would only cost two more round trips."""

    def attempt() -> EmailOutcome:
        with nullcontext() if email.plain else atomic_with_files():
            return _stored(email, ingest_with_outcome(email.inbound))

    try:
        return retrying(attempt)
    except Exception as exc:
        return _failed(exc, email.raw, email.source, email.recipient, email.listing)


def _stored(email: _Email, outcome: IngestOutcome) -> EmailOutcome:
    """The email channel's part after the hub stored ``email`` (or found it stored)."""
    if not outcome.created:
        return EmailOutcome("duplicate", message=outcome.message)
    message = outcome.message
    if email.skipped:
        names = ", ".join(f"{item['filename']} ({item['reason']})" for item in email.skipped)
        record_event(
            message.conversation,
            "email_attachment_skipped",
            text=f"Attachments not stored: {names}. They are in the original message.",
            metadata={"message_id": message.pk, "attachments": email.skipped},
        )
    for report in email.reports:
        _apply_bounce_report(report, message)
    return EmailOutcome("ingested", message=message)


def ingest_prepared_many(
    batch: list[tuple[PreparedEmail, bytes]],
    *,
    source: str,
    mailbox: str = "",
    historical: bool = False,
    mailboxes: Mailboxes | None = None,
    stored_ids: set[tuple[int, str]] | None = None,
) -> list[EmailOutcome | Exception]:
    """Ingest many emails in order, as :func:`ingest_prepared` one at a time would: runs of
    plain ones are written together (:func:`hub.services.ingest_batch.ingest_many`), the others
    (skipped attachments, bounce reports) one by one in their place.

    Never raises: an email that could be neither stored nor quarantined (the database gone)
    has the exception as its result, and the others theirs."""
    outcomes: list[EmailOutcome | Exception | None] = [None] * len(batch)
    run: list[tuple[int, _Email]] = []

    def settle(index: int, outcome: Callable[..., EmailOutcome], *args, **kwargs) -> None:
        try:
            outcomes[index] = result = outcome(*args, **kwargs)
        except Exception as exc:
            outcomes[index] = exc
            return
        if result.status == "ingested" and stored_ids is not None:
            # A later copy in this batch is a duplicate.
            stored_ids.add((result.message.endpoint_id, result.message.provider_message_id))

    def write_run() -> None:
        try:
            results = ingest_many([email.inbound for _, email in run])
        except Exception as exc:  # not expected: ingest_many reports per message
            results = [exc] * len(run)
        for (index, email), result in zip(run, results, strict=True):
            if isinstance(result, Exception):
                settle(index, _failed, result, email.raw, email.source, email.recipient,
                       email.listing)  # fmt: skip
            else:
                settle(index, _stored, email, result)
        run.clear()

    for index, (prepared, raw) in enumerate(batch):
        if prepared.parsed is None:
            settle(index, ingest_prepared, prepared, raw, source=source, mailbox=mailbox)
            continue
        try:
            email = _ready(prepared.parsed, raw, prepared.listing, source=source,
                           envelope_recipient="", mailbox=mailbox, historical=historical,
                           content=prepared.content, mailboxes=mailboxes,
                           stored_ids=stored_ids)  # fmt: skip
        except Exception as exc:
            outcomes[index] = exc
            continue
        if isinstance(email, EmailOutcome):
            outcomes[index] = email
        elif email.plain:
            run.append((index, email))
        else:
            if run:
                write_run()
            settle(index, _copy_or_store, email, stored_ids)
    if run:
        write_run()
    return outcomes  # type: ignore[return-value]


def _copy_or_store(email: _Email, stored_ids: set[tuple[int, str]] | None) -> EmailOutcome:
    """``_store_one``, unless a run of the batch stored the same message meanwhile (found
    before the run was written, it was not a duplicate yet)."""
    endpoint, provider_id = email.inbound.endpoint, email.inbound.provider_message_id
    if stored_ids is None:
        copy = _is_duplicate(endpoint, provider_id)
    else:
        copy = (endpoint.pk, provider_id) in stored_ids
    if copy:
        return EmailOutcome("duplicate")
    return _store_one(email)


def _attachments(parsed: ParsedEmail) -> tuple[list[InboundAttachment], list[dict]]:
    limit = _setting("MAX_ATTACHMENT_BYTES")
    kept: list[InboundAttachment] = []
    skipped: list[dict] = []
    for part in parsed.parts:
        if len(part.content) > limit:
            skipped.append(
                {
                    "filename": part.filename,
                    "content_type": part.content_type,
                    "size": len(part.content),
                    "reason": f"larger than the {limit} byte limit",
                }
            )
            continue
        kept.append(_attachment(part))
    return kept, skipped


def _attachment(part) -> InboundAttachment:
    return InboundAttachment(
        filename=part.filename,
        content_type=part.content_type,
        content=part.content,
        content_id=part.content_id,
    )


def _store_raw(raw: bytes) -> dict[str, Any]:
    """The original bytes under a content-addressed name (a re-import writes nothing new)."""
    digest = hashlib.sha256(raw).hexdigest()
    path = f"email/raw/{digest[:2]}/{digest}.eml"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(raw))
    return {"path": path, "size": len(raw), "sha256": digest}


def _other_recipients(parsed: ParsedEmail, mailboxes: Mailboxes) -> list[InboundParticipant]:
    """Everyone on To and Cc but us and the sender (20 of each): the hub makes them identities
    (of their own contact, or the one that already has the address), so a reply-all reaches
    them and the CRM knows them. Compared as identities (``" B <anna@x>`` is anna@x); an
    address that is none is left out, as the hub would."""
    ours = mailboxes.addresses
    seen = {_as_identity(parsed.from_address) or parsed.from_address.lower()}
    result = []
    for role, pairs in (("to", parsed.to), ("cc", parsed.cc)):
        for name, address in pairs[:20]:
            key = _as_identity(address)
            if key is None or key in seen or _split_address(address)[0] in ours:
                continue
            seen.add(key)
            result.append(InboundParticipant(Identity.Kind.EMAIL, address, name[:200], role))
    return result


def _as_identity(address: str) -> str | None:
    try:
        return normalise_email(address)
    except InvalidIdentity:
        return None


def quarantine(
    raw: bytes,
    *,
    code: str,
    reason: str,
    source: str,
    envelope_recipient: str = "",
    message: MimeMessage | None = None,
    listing: dict[str, str] | None = None,
) -> EmailOutcome:
    """Keep the raw bytes with the reason. One row per distinct content: a re-import or a retry
    updates it instead of piling up copies. ``listing``: the Message-ID, subject and sender
    fields (from :func:`~channels_email.prepare.listing_headers`), else read from ``message``."""
    digest = hashlib.sha256(raw).hexdigest()
    details = listing if listing is not None else listing_headers(message)
    # What came from outside is kept as it came in ``raw``; the text columns beside it must be
    # storable (PostgreSQL refuses NUL, no database stores a lone surrogate).
    texts = {
        "reason_code": code[:40],
        "source": source[:60],
        "envelope_recipient": envelope_recipient[:320],
        **details,
        "reason": reason[:4000],
    }
    escaped = []
    for name, value in texts.items():
        texts[name] = storable = escape_unstorable(value)
        if storable != value:
            escaped.append(name.replace("_", " "))
    if escaped:
        texts["reason"] += (
            f" (control characters in the {', '.join(escaped)} escaped as \\xNN;"
            " the raw message is unchanged)"
        )
    with transaction.atomic():
        item, created = QuarantinedEmail.objects.select_for_update().get_or_create(
            sha256=digest,
            defaults={"raw": raw, "size": len(raw), **texts},
        )
        if not created:
            item.reason_code = texts["reason_code"]
            item.reason = texts["reason"]
            item.attempts += 1
            item.status = QuarantinedEmail.Status.PENDING
            item.save(update_fields=["reason_code", "reason", "attempts", "status", "updated_at"])
    logger.info("email quarantined (%s): %s", texts["reason_code"], texts["reason"])
    return EmailOutcome("quarantined", quarantine=item, reason=texts["reason"])


def reprocess_quarantined(item: QuarantinedEmail) -> EmailOutcome:
    """Run a quarantined email through the parser again (after a fix or a new endpoint)."""
    outcome = ingest_raw_email(
        bytes(item.raw), source=item.source, envelope_recipient=item.envelope_recipient
    )
    if outcome.status in ("ingested", "duplicate"):
        message = outcome.message
        QuarantinedEmail.objects.filter(pk=item.pk).update(
            status=QuarantinedEmail.Status.REPROCESSED,
            message=message,
            updated_at=timezone.now(),
        )
    return outcome


# --- bounces and tracking -----------------------------------------------------------------------


def mark_undeliverable(
    identity: Identity, reason: str, *, conversation: Conversation | None = None
) -> bool:
    """Mark an address undeliverable (a hard bounce); the agent sees it on the timeline and the
    hub refuses further replies to it. Returns False if it already was."""
    updated = Identity.objects.filter(pk=identity.pk, undeliverable_at__isnull=True).update(
        undeliverable_at=timezone.now(), undeliverable_reason=reason[:500]
    )
    if updated and conversation is not None:
        record_event(
            conversation,
            "email_undeliverable",
            text=f"{identity.value} is undeliverable: {reason}"[:2000],
            metadata={"identity_id": identity.pk, "reason": reason[:500]},
        )
    return bool(updated)


def _identity_for(address: str | None, fallback: Identity | None) -> Identity | None:
    if address:
        try:
            value = normalise_email(address)
        except InvalidIdentity:
            value = ""
        found = Identity.objects.filter(kind=Identity.Kind.EMAIL, value=value).first()
        if found is not None:
            return found
    return fallback


def _apply_bounce_report(report, bounce: Message) -> None:
    """One recipient of a bounce. Hard (a permanent failure): the sent email it reports on is
    failed and the address undeliverable. Soft (delayed, a temporary failure): noted on the
    timeline, the address stays usable."""
    sent = None
    if report.original_message_id:
        sent = (
            Message.objects.filter(
                provider_message_id=matching_key(report.original_message_id),
                direction=Message.Direction.OUTBOUND,
                channel=Channel.EMAIL,
            )
            .select_related("conversation", "endpoint", "recipient_identity")
            .first()
        )
    identity = _identity_for(report.recipient, sent.recipient_identity if sent else None)
    conversation = sent.conversation if sent is not None else bounce.conversation
    diagnostic = report.diagnostic or "no diagnostic"
    if not report.is_hard_bounce:
        record_event(
            conversation,
            "email_soft_bounce",
            text=f"Delivery to {report.recipient} delayed ({report.status}): {diagnostic}"[:2000],
            metadata={
                "identity_id": identity.pk if identity else None,
                "address": report.recipient[:320],
                "status": report.status[:20],
                "bounce_id": bounce.pk,
            },
        )
        return
    reason = f"hard bounce {report.status}: {diagnostic}"
    if sent is not None:
        update_delivery_status(
            sent.endpoint, sent.provider_message_id, Message.DeliveryStatus.FAILED, error=reason
        )
    if identity is not None:
        mark_undeliverable(identity, reason, conversation=conversation)


_TRACKING_STATUS = {
    "queued": Message.DeliveryStatus.SENT,
    "sent": Message.DeliveryStatus.SENT,
    "deferred": Message.DeliveryStatus.SENT,
    "delivered": Message.DeliveryStatus.DELIVERED,
    "autoresponded": Message.DeliveryStatus.DELIVERED,
    "opened": Message.DeliveryStatus.READ,
    "clicked": Message.DeliveryStatus.READ,
    "bounced": Message.DeliveryStatus.FAILED,
    "rejected": Message.DeliveryStatus.FAILED,
    "failed": Message.DeliveryStatus.FAILED,
}
_HARD_REJECT_REASONS = {"bounced", "invalid"}


def sent_message_for(esp_message_id: str, metadata: dict | None = None) -> Message | None:
    """Our outbound message an ESP event is about: by the hub id we put in the ESP's metadata,
    by the ESP's message id recorded at send time, or by our Message-ID."""
    queryset = Message.objects.filter(
        direction=Message.Direction.OUTBOUND, channel=Channel.EMAIL
    ).select_related("conversation", "endpoint", "recipient_identity")
    hub_id = (metadata or {}).get("hub_message_id")
    if hub_id and str(hub_id).isdigit():
        found = queryset.filter(pk=int(hub_id)).first()
        if found is not None:
            return found
    if not esp_message_id:
        return None
    sent = SentEmail.objects.filter(esp_message_id=esp_message_id).first()
    if sent is not None:
        return queryset.filter(pk=sent.message_id).first()
    return queryset.filter(provider_message_id=esp_message_id.strip("<>")).first()


def apply_tracking_event(event, esp_name: str) -> Message | None:
    """An Anymail tracking event: move the reply's delivery status (never backwards); a hard
    bounce makes the address undeliverable, a spam complaint opts it out."""
    message = sent_message_for(str(event.message_id or ""), getattr(event, "metadata", None))
    if message is None:
        logger.info("%s tracking event %s for an unknown message", esp_name, event.event_type)
        return None
    event_type = str(event.event_type)
    detail = " ".join(
        str(part) for part in (event.reject_reason, event.description, event.mta_response) if part
    )[:500]
    status = _TRACKING_STATUS.get(event_type)
    if status and message.provider_message_id:
        update_delivery_status(
            message.endpoint,
            message.provider_message_id,
            status,
            error=detail if status == Message.DeliveryStatus.FAILED else "",
        )
    identity = _identity_for(event.recipient, message.recipient_identity)
    hard = event_type == "bounced" or (
        event_type == "rejected" and event.reject_reason in _HARD_REJECT_REASONS
    )
    if hard and identity is not None:
        reason = f"{esp_name} {event_type}: {detail or 'no details'}"
        mark_undeliverable(identity, reason, conversation=message.conversation)
    elif event_type in ("complained", "unsubscribed") and identity is not None:
        updated = Identity.objects.filter(pk=identity.pk, opted_out_at__isnull=True).update(
            opted_out_at=timezone.now()
        )
        if updated:
            record_event(
                message.conversation,
                f"email_{event_type}",
                text=f"{identity.value} {event_type} ({esp_name}); no more email is sent to it.",
                metadata={"identity_id": identity.pk, "message_id": message.pk},
            )
    return message


def record_sent_email(
    message: Message, *, message_id_header: str, esp_name: str, esp_message_id: str, recipient: str
) -> None:
    SentEmail.objects.update_or_create(
        message=message,
        defaults={
            "message_id_header": message_id_header[:255],
            "esp_name": esp_name[:40],
            "esp_message_id": esp_message_id[:255],
            "recipient": recipient[:320],
        },
    )
