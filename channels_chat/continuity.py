"""Email continuity: an agent's chat reply the visitor never saw, because they left, goes to their
email address, and their email answer lands in the same conversation.

How: the conversation is handed off to email (``hub.services.handoff``: replies go out there, the
TTL clock follows email's policy, the timeline shows the handoff), then the unseen replies are
sent as one email with ``send_reply``, so they take the hub's outbox (retries, idempotency key,
local outbox without a provider) and the email adapter's threading: its Reply-To carries the
conversation's reply token, which ``ingest`` threads the answer by. When the visitor writes in
the chat again, the conversation comes back to chat (``services._back_to_chat``).

Run from a Celery task ``delay`` seconds after a reply is pushed and after a visitor's last
socket closes. Idempotent: the conversation row is locked, and each reply is marked once handled.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_chat import conf, presence
from channels_chat.services import LANGUAGES
from crm.models import Identity
from crm.selectors import recent_page_views
from hub.adapters import OutboundRefused
from hub.models import Channel, Conversation, Message
from hub.services import send_reply
from hub.services.errors import ServiceError
from hub.services.handoff import handoff, target_address
from hub.services.timeline import record_event
from hub.services.understanding import language_for

logger = logging.getLogger(__name__)

# Celery may run an ETA task a little early relative to this process's clock.
TOLERANCE_SECONDS = 2

EMAIL_TEXT = {
    "en": (
        "Hi{name},\n\nyou left the chat before our reply arrived:\n\n{replies}\n\n"
        "Just answer this email to continue the conversation{page}."
    ),
    "it": (
        "Ciao{name},\n\nhai lasciato la chat prima che arrivasse la nostra risposta:\n\n{replies}"
        "\n\nRispondi pure a questa email per continuare la conversazione{page}."
    ),
}
PAGE_TEXT = {"en": ", or come back to the chat: {url}", "it": ", oppure torna in chat: {url}"}


def schedule(conversation_id: int, delay: int) -> None:
    """Check the conversation ``delay`` seconds from now (after the current transaction)."""
    from channels_chat.tasks import email_unseen_replies

    transaction.on_commit(
        lambda: email_unseen_replies.apply_async((conversation_id,), countdown=delay)
    )


def _chat_state(message: Message) -> dict:
    chat = message.metadata.get("chat") if isinstance(message.metadata, dict) else None
    return chat if isinstance(chat, dict) else {}


def _mark(messages: list[Message], value) -> None:
    for message in messages:
        message.metadata = {
            **message.metadata,
            "chat": {**_chat_state(message), "continuity": value},
        }
        message.save(update_fields=["metadata", "updated_at"])


@transaction.atomic
def email_unseen_replies(conversation_id: int) -> str:
    """Email the conversation's unseen chat replies if the visitor has been gone long enough.
    Returns what happened (for logs and tests)."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        return "gone"
    candidates = list(
        Message.objects.filter(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.MESSAGE,
            channel=Channel.CHAT,
            delivery_status__in=[Message.DeliveryStatus.SENT, Message.DeliveryStatus.DELIVERED],
        )
        .select_related("endpoint", "recipient_identity")
        .order_by("-id")[:50]
    )
    unseen = [
        m
        for m in reversed(candidates)
        if "continuity" not in _chat_state(m) and not _chat_state(m).get("greeting_rule")
    ]
    if not unseen:
        return "nothing"
    delay = conf.continuity_delay(unseen[-1].endpoint)
    if delay is None:
        return "off"
    now = timezone.now()
    due = [m for m in unseen if now - m.occurred_at >= timedelta(seconds=delay - TOLERANCE_SECONDS)]
    if not due:
        return "too_early"
    visitor = due[-1].recipient_identity
    if visitor is None or visitor.kind != Identity.Kind.CHAT_VISITOR:
        return "no_visitor"
    away = presence.away_seconds(visitor.pk)
    if away is None or away < delay - TOLERANCE_SECONDS:
        return "present"
    address = target_address(conversation, Channel.EMAIL)
    if address is None:
        record_event(
            conversation,
            "chat_continuity_unavailable",
            text="The visitor left before seeing the reply, and no email address is known to "
            "send it to.",
            metadata={"messages": [m.pk for m in due]},
        )
        _mark(due, "no_address")
        return "no_address"
    try:
        if conversation.channel != Channel.EMAIL:
            handoff(conversation, channel=Channel.EMAIL, reason="visitor_left")
        email = send_reply(
            conversation,
            text=_email_text(conversation, due),
            metadata={"chat": {"continuity_of": [m.pk for m in due]}},
            counts_as_response=False,
            automatic=True,
        )
    except (ServiceError, OutboundRefused) as exc:
        reason = getattr(exc, "message", None) or getattr(exc, "reason", str(exc))
        record_event(
            conversation,
            "chat_continuity_failed",
            text=f"The unseen reply could not be emailed: {reason}",
            metadata={"messages": [m.pk for m in due]},
        )
        _mark(due, "failed")
        return "failed"
    _mark(due, {"emailed_as": email.pk, "to": address.value})
    return "emailed"


def _email_text(conversation: Conversation, replies: list[Message]) -> str:
    contact = conversation.contact
    language = language_for(contact, conversation.endpoint, LANGUAGES)
    first_name = (contact.name or "").split(" ")[0]
    views = recent_page_views(contact, 1)
    page = PAGE_TEXT[language].format(url=views[0].url) if views else ""
    return EMAIL_TEXT[language].format(
        name=f" {first_name}" if first_name else "",
        replies="\n\n".join(m.text for m in replies),
        page=page,
    )
