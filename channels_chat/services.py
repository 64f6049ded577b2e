"""State changes and reads of the live chat. The consumer (WebSocket) and the HTTP fallback views
call these and hold no logic of their own.

A visitor is a signed token (``channels_chat.tokens``) -> a ``chat_visitor`` identity -> a CRM
contact. "Their conversation" is the latest conversation holding a message *they* sent, so a
handoff to email, a merge of contacts or another device of the same person never shows them
anything but their own thread.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_chat import conf, greetings, ratelimit, tokens
from channels_chat.errors import ChatError
from channels_chat.payloads import visitor_payload
from crm.models import Contact, Identity, LanguageSource, PageView
from crm.services import resolve_identity
from crm.verification import pending_claims
from hub.adapters import OutboundRefused
from hub.files import atomic_with_files
from hub.inbound import InboundMessage
from hub.models import Channel, Conversation, Endpoint, Message
from hub.services import ingest_with_outcome, realtime, send_reply, update_delivery_status
from hub.services.errors import ServiceError
from hub.services.handoff import handoff
from hub.services.ingestion import InvalidInbound
from hub.services.outbound import recipient_identity, uploaded_attachment
from hub.services.understanding import language_for
from hub.text import clean_text

logger = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGES = ("en", "it")
# Messages created this recently are returned again by a resync after a cursor, so a row whose
# transaction committed after a later id's (ids are taken at insert) is not skipped.
RESYNC_OVERLAP = timedelta(seconds=30)


def visitor_group(identity_id: int) -> str:
    """The channel-layer group of a visitor's open sockets (all their tabs)."""
    return f"chat.visitor.{identity_id}"


def language_of(value: str | None) -> str:
    value = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return value if value in LANGUAGES else "en"


@dataclass(frozen=True)
class Visitor:
    endpoint: Endpoint
    identity: Identity
    token: tokens.VisitorToken

    @property
    def visitor_id(self) -> str:
        return self.token.visitor_id


# --- Who is asking ---------------------------------------------------------------------------


def chat_endpoint(public_key: object) -> Endpoint:
    """The active chat endpoint with this public key, or ``ChatError`` 404."""
    if isinstance(public_key, str) and 0 < len(public_key) <= 64:
        endpoint = Endpoint.objects.filter(
            public_key=public_key, channel=Channel.CHAT, is_active=True
        ).first()
        if endpoint is not None:
            return endpoint
    raise ChatError("unknown_endpoint", "No active live chat has this key.", status=404)


def authenticate(token: object, endpoint: Endpoint | None = None) -> Visitor:
    """The visitor of ``token`` (their identity created on first use), or ``ChatError`` 401."""
    try:
        data = tokens.read(token)
    except tokens.InvalidToken as exc:
        raise ChatError(
            "invalid_token", "Missing, expired or forged visitor token.", status=401
        ) from exc
    if endpoint is None:
        endpoint = Endpoint.objects.filter(
            pk=data.endpoint_id, channel=Channel.CHAT, is_active=True
        ).first()
    if endpoint is None or endpoint.pk != data.endpoint_id:
        raise ChatError("invalid_token", "This token belongs to another chat.", status=401)
    identity = resolve_identity(Identity.Kind.CHAT_VISITOR, data.visitor_id)
    return Visitor(endpoint, identity, data)


def start_session(
    endpoint: Endpoint, token: object = None, *, language: str = "", client_ip: str = ""
) -> tuple[str, Visitor]:
    """A valid token for ``endpoint``: the widget's own one (re-issued for the same visitor when
    half its life is used), else a new visitor. New visitors are rate limited per address."""
    visitor = None
    if token:
        try:
            visitor = authenticate(token, endpoint)
        except ChatError:
            visitor = None
    if visitor is None:
        try:
            ratelimit.hit(
                "session-ip", client_ip or "-", int(conf.setting("SESSIONS_PER_MINUTE_PER_IP"))
            )
        except ratelimit.Limited as limited:
            raise _limited(limited) from limited
        token = tokens.issue(endpoint.pk)
        visitor = authenticate(token, endpoint)
    elif tokens.needs_refresh(visitor.token):
        token = tokens.issue(endpoint.pk, visitor.visitor_id)
        visitor = Visitor(endpoint, visitor.identity, tokens.read(token))
    if language and visitor.identity.contact.language_source != LanguageSource.EXPLICIT:
        # The widget's language is the visitor's choice: it wins over a learned one, not over
        # an agent's (nor a choice made already).
        Contact.objects.filter(pk=visitor.identity.contact_id).exclude(
            language_source=LanguageSource.EXPLICIT
        ).update(
            language=language_of(language),
            language_source=LanguageSource.EXPLICIT,
            language_confidence=None,
        )
    return str(token), visitor


def session_info(visitor: Visitor) -> dict[str, Any]:
    """What the widget needs to start: its settings, who the visitor is, their conversation."""
    endpoint = visitor.endpoint
    contact = Contact.objects.get(pk=contact_id_of(visitor))
    has_email = _has_email(contact)
    claims = pending_claims(contact.pk)
    return {
        "title": str(conf.endpoint_setting(endpoint, "title") or endpoint.name)[:80],
        "prechat": conf.prechat_fields(endpoint),
        "max_chars": conf.max_message_chars(endpoint),
        "max_upload_bytes": int(conf.setting("MAX_UPLOAD_BYTES")),
        "heartbeat": int(conf.setting("HEARTBEAT_SECONDS")),
        "poll_interval": int(conf.setting("POLL_INTERVAL_SECONDS")),
        "visitor": {
            "name": bool(contact.name or visitor.identity.display_name),
            "email": has_email,
        },
        # The address waiting for its code (the widget shows the code field).
        "verify": {"email": claims[0].value, "code_sent": bool(claims[0].code_hash)}
        if claims
        else None,
        **history(visitor),
    }


def _limited(limited: ratelimit.Limited) -> ChatError:
    return ChatError(
        "rate_limited", "Too many requests; slow down.", status=429, retry_after=limited.retry_after
    )


# --- The visitor's conversation ------------------------------------------------------------------


def contact_id_of(visitor: Visitor) -> int:
    """The visitor's contact now (a merge may have moved their identity since the token was
    read)."""
    return Identity.objects.values_list("contact_id", flat=True).get(pk=visitor.identity.pk)


def visitor_conversation(visitor: Visitor) -> Conversation | None:
    conversation_id = (
        Message.objects.filter(
            sender_identity=visitor.identity, direction=Message.Direction.INBOUND
        )
        .order_by("-id")
        .values_list("conversation_id", flat=True)
        .first()
    )
    if conversation_id is None:
        return None
    return Conversation.objects.filter(pk=conversation_id).first()


def visible_messages(visitor: Visitor, conversation: Conversation):
    """The messages of ``conversation`` the visitor may read: from their own first message on,
    what the team sent and what the person sent (this visitor, or their email/phone), never
    notes, events or another visitor's chat."""
    first_own = (
        Message.objects.filter(conversation=conversation, sender_identity=visitor.identity)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if first_own is None:
        return Message.objects.none()
    person = Q(sender_identity=visitor.identity) | (
        Q(sender_identity__contact_id=conversation.contact_id)
        & ~Q(sender_identity__kind=Identity.Kind.CHAT_VISITOR)
    )
    return (
        Message.objects.filter(
            conversation=conversation, kind=Message.Kind.MESSAGE, id__gte=first_own
        )
        .filter(
            Q(direction=Message.Direction.OUTBOUND)
            | (Q(direction=Message.Direction.INBOUND) & person)
        )
        .select_related("author")
    )


def history(visitor: Visitor, after: int = 0, limit: int = 100) -> dict[str, Any]:
    """The visitor's messages after the cursor ``after`` (a message id; 0: the latest
    ``limit``), oldest first, and the new cursor."""
    conversation = visitor_conversation(visitor)
    if conversation is None:
        return {"conversation_id": None, "messages": [], "cursor": after, "more": False}
    items = visible_messages(visitor, conversation).prefetch_related("attachments")
    if after > 0:
        recent = timezone.now() - RESYNC_OVERLAP
        rows = list(
            items.filter(Q(id__gt=after) | Q(created_at__gte=recent)).order_by("id")[: limit + 1]
        )
        more = len(rows) > limit
        rows = rows[:limit]
    else:
        rows = list(items.order_by("-id")[:limit])[::-1]
        more = False
    rows.sort(key=lambda m: (m.occurred_at, m.pk))
    cursor = max([after, *(m.pk for m in rows)])
    return {
        "conversation_id": conversation.pk,
        "messages": [visitor_payload(m) for m in rows if not _is_email_copy(m)],
        "cursor": cursor,
        "more": more,
    }


def _is_email_copy(message: Message) -> bool:
    """The email that carried unseen chat replies (continuity): the widget shows the replies."""
    chat = message.metadata.get("chat") if isinstance(message.metadata, dict) else None
    return isinstance(chat, dict) and "continuity_of" in chat


def send_message(
    visitor: Visitor, text: object, client_id: object = None, page_url: object = ""
) -> Message:
    """Store the visitor's message through the hub's ingest (which fans it out to agents) and
    echo it to the visitor's other tabs. A retry with the same ``client_id`` stores nothing new."""
    if not isinstance(text, str):
        raise ChatError("invalid", "A message needs text.")
    text = clean_text(text)
    if not text:
        raise ChatError("empty", "An empty message.")
    _check_length(visitor, text)
    _hit("msg", visitor, "MESSAGES_PER_MINUTE")
    return _store(visitor, text, client_id, page_url)


def send_file(
    visitor: Visitor, upload, text: object = "", client_id: object = None, page_url: object = ""
) -> Message:
    """A file the visitor sends (``upload``: Django's ``UploadedFile``), with an optional
    caption, stored like their messages: the agents see it as an attachment of an inbound
    message, typed from its bytes. Over ``MAX_UPLOAD_BYTES`` or empty, nothing is stored."""
    limit = int(conf.setting("MAX_UPLOAD_BYTES"))
    if not limit:
        raise ChatError("uploads_off", "This chat does not take files.", status=403)
    if upload is None:
        raise ChatError("invalid", "Attach a file (form field 'file').")
    if upload.size > limit:
        raise ChatError(
            "too_large", f"Files are limited to {limit} bytes.", status=413, limit=limit
        )
    if not upload.size:
        raise ChatError("empty", "An empty file.")
    caption = clean_text(text) if isinstance(text, str) else ""
    _check_length(visitor, caption)
    _hit("upload", visitor, "UPLOADS_PER_MINUTE")
    return _store(visitor, caption, client_id, page_url, attachment=uploaded_attachment(upload))


def _check_length(visitor: Visitor, text: str) -> None:
    limit = conf.max_message_chars(visitor.endpoint)
    if len(text) > limit:
        raise ChatError(
            "too_long", f"Messages are limited to {limit} characters.", status=413, limit=limit
        )


def _hit(kind: str, visitor: Visitor, limit_setting: str) -> None:
    try:
        ratelimit.hit(kind, visitor.visitor_id, int(conf.setting(limit_setting)))
    except ratelimit.Limited as limited:
        raise _limited(limited) from limited


def _store(
    visitor: Visitor, text: str, client_id: object, page_url: object, attachment=None
) -> Message:
    if not (isinstance(client_id, str) and CLIENT_ID.match(client_id)):
        client_id = uuid.uuid4().hex
    conversation = visitor_conversation(visitor)
    if conversation is None:
        _check_prechat(visitor)
    inbound = InboundMessage(
        endpoint=visitor.endpoint,
        sender_kind=Identity.Kind.CHAT_VISITOR,
        sender_address=visitor.visitor_id,
        text=text,
        provider_message_id=f"{visitor.visitor_id}:{client_id}",
        subject=(text.splitlines()[0] if text else attachment.filename)[:80],
        conversation_token=conversation.reply_token if conversation else "",
        attachments=[attachment] if attachment else [],
        metadata={"chat": {"client_id": client_id, "page_url": _http_url(page_url)}},
    )
    for attempt in range(2):
        try:
            with atomic_with_files():
                outcome = ingest_with_outcome(inbound)
                stored = []
                if outcome.created:
                    stored = greetings.store_answered(visitor, outcome.message)
                    _back_to_chat(outcome.message.conversation)
            break
        except Contact.DoesNotExist:
            # The contact was merged away between resolving the sender and locking it.
            if attempt:
                raise
        except InvalidInbound as exc:
            raise ChatError("invalid", exc.message) from exc
    message = Message.objects.select_related("author").get(pk=outcome.message.pk)
    if outcome.created:
        for item in [*stored, message]:
            push_to_visitor(
                visitor.identity.pk, {"type": "chat.message", "message": visitor_payload(item)}
            )
    return message


def _check_prechat(visitor: Visitor) -> None:
    """Required pre-chat fields must be known before the first message."""
    fields = conf.prechat_fields(visitor.endpoint)
    missing = []
    contact = Contact.objects.get(pk=contact_id_of(visitor))
    if fields["name"] == "required" and not (contact.name or visitor.identity.display_name):
        missing.append("name")
    if fields["email"] == "required" and not _has_email(contact):
        missing.append("email")
    if missing:
        raise ChatError(
            "details_required", f"Please fill in: {', '.join(missing)}.", fields=missing
        )


def _has_email(contact: Contact) -> bool:
    """Whether the visitor gave an email (their own, or claimed and not yet proven)."""
    return (
        contact.identities.filter(kind=Identity.Kind.EMAIL).exists()
        or contact.claims.filter(kind=Identity.Kind.EMAIL).exists()
    )


def _back_to_chat(conversation: Conversation) -> None:
    """The visitor writes in the chat again while the thread was handed to another channel
    (e.g. email after they left): replies come back to the chat, where they are now."""
    if conversation.channel == Channel.CHAT:
        return
    try:
        with transaction.atomic():
            handoff(conversation, channel=Channel.CHAT, reason="visitor_returned")
    except ServiceError as exc:
        logger.info("conversation %s stays on %s: %s", conversation.pk, conversation.channel, exc)


def push_to_visitor(identity_id: int, event: dict[str, Any]) -> None:
    """Send ``event`` to the visitor's open sockets, after commit; never fails the caller.
    From the web server it goes out on the server's loop, from the worker through the process's
    one push loop (``hub.services.realtime.push``)."""
    transaction.on_commit(lambda: realtime.push([visitor_group(identity_id)], event))


def mark_seen(visitor: Visitor, up_to: object) -> int:
    """The visitor saw our messages up to id ``up_to``: each becomes ``read`` (through the hub's
    delivery status service, which tells the agents). Returns how many changed."""
    if not isinstance(up_to, int) or up_to <= 0:
        raise ChatError("invalid", "up_to must be a message id.")
    conversation = visitor_conversation(visitor)
    if conversation is None:
        return 0
    unseen = (
        visible_messages(visitor, conversation)
        .filter(direction=Message.Direction.OUTBOUND, channel=Channel.CHAT, id__lte=up_to)
        .filter(
            delivery_status__in=[
                Message.DeliveryStatus.QUEUED,
                Message.DeliveryStatus.SENT,
                Message.DeliveryStatus.DELIVERED,
            ]
        )
        .select_related("endpoint")
        .order_by("id")[:200]
    )
    changed = 0
    for message in unseen:
        updated = update_delivery_status(
            message.endpoint,
            message.provider_message_id or f"chat-{message.pk}",
            Message.DeliveryStatus.READ,
            idempotency_key=message.idempotency_key,
        )
        changed += bool(updated and updated.delivery_status == Message.DeliveryStatus.READ)
    return changed


def publish_typing(identity_id: int, conversation_id: int, team_id: int, active: bool) -> None:
    """Tell the agents watching the conversation that the visitor is (no longer) typing."""
    realtime.publish(
        SimpleNamespace(pk=conversation_id, team_id=team_id),
        "chat.typing",
        {"conversation_id": conversation_id, "identity_id": identity_id, "typing": bool(active)},
    )


def publish_presence(conversation: Conversation, online: bool) -> None:
    """Tell the agents the visitor opened their first socket, or closed their last one."""
    realtime.publish(
        conversation, "chat.presence", {"conversation_id": conversation.pk, "online": online}
    )


def visitor_typing(visitor: Visitor, active: bool) -> None:
    conversation = visitor_conversation(visitor)
    if conversation is not None:
        publish_typing(visitor.identity.pk, conversation.pk, conversation.team_id, active)


def agent_typing_flag(identity_id: int) -> bool:
    """Whether an agent is typing to this visitor (for HTTP-polling widgets)."""
    return bool(cache.get(f"chat:agent-typing:{identity_id}"))


# --- Agent side --------------------------------------------------------------------------------


ASK_EMAIL = {
    "en": "May I have your email address? Then we can also reach you if the chat gets cut off.",
    "it": "Posso avere il tuo indirizzo email? Così possiamo risponderti anche se la chat si "
    "interrompe.",
}


def request_email(conversation: Conversation, by=None) -> Message:
    """Ask the visitor for their email: an outbound message the widget renders with a small
    email form. It is not the answer to their question, so the TTL clock keeps running."""
    if conversation.channel != Channel.CHAT:
        raise OutboundRefused(
            "Only a live chat can show the visitor an email form.", code="not_chat"
        )
    language = language_for(conversation.contact, conversation.endpoint, LANGUAGES)
    return send_reply(
        conversation,
        text=ASK_EMAIL[language],
        author=by,
        metadata={"chat": {"form": "email"}},
        counts_as_response=False,
    )


def agent_typing(conversation: Conversation, by=None, active: bool = True) -> None:
    """Show (or hide) "typing..." in the visitor's widget."""
    if conversation.channel != Channel.CHAT:
        return
    recipient = recipient_identity(conversation, conversation.endpoint)
    if recipient is None or recipient.kind != Identity.Kind.CHAT_VISITOR:
        return
    key = f"chat:agent-typing:{recipient.pk}"
    if active:
        cache.set(key, 1, timeout=8)
    else:
        cache.delete(key)
    name = (getattr(by, "first_name", "") or "").strip()[:60]
    push_to_visitor(recipient.pk, {"type": "chat.typing", "active": bool(active), "name": name})


# --- Context: page views -------------------------------------------------------------------------


def _http_url(value: object) -> str:
    """``value`` if it is an http(s) URL (agents get it as a link), else ""."""
    if not isinstance(value, str) or len(value) > 2000:
        return ""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return clean_text(value)


def record_page_view(
    visitor: Visitor, url: object, title: object = "", referrer: object = "", language: str = ""
) -> tuple[PageView, list[dict[str, Any]]]:
    """Store a page view of the visitor's contact; returns it and the greetings the widget may
    show on that page."""
    page_url = _http_url(url)
    if not page_url:
        raise ChatError("invalid_url", "url must be an http(s) URL.")
    try:
        ratelimit.hit("pageview", visitor.visitor_id, int(conf.setting("PAGE_VIEWS_PER_MINUTE")))
    except ratelimit.Limited as limited:
        raise _limited(limited) from limited
    view = PageView.objects.create(
        contact_id=contact_id_of(visitor),
        url=page_url,
        title=clean_text(title if isinstance(title, str) else "")[:300],
        referrer=_http_url(referrer),
        viewed_at=timezone.now(),
    )
    return view, greetings.eligible(visitor, page_url, language_of(language))


def page_left(visitor: Visitor, page_view_id: object, seconds: object) -> bool:
    """The visitor left the page after ``seconds``: the time on page of their own page view."""
    if (
        not isinstance(page_view_id, int)
        or isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds < math.inf  # NaN compares false: refused too
    ):
        raise ChatError("invalid", "page_view and seconds (a number, 0 or more) are needed.")
    return bool(
        PageView.objects.filter(
            pk=page_view_id, contact_id=contact_id_of(visitor), duration_seconds__isnull=True
        ).update(duration_seconds=min(int(seconds), 86400))
    )
