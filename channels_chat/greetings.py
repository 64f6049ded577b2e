"""Proactive greetings: which to offer on a page, recording that one was shown (once per visitor
per rule, decided by the database), and storing it on the timeline when the visitor answers."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_chat.errors import ChatError
from channels_chat.models import GreetingDisplay, GreetingRule
from hub.models import Conversation, Message
from hub.payloads import message_payload
from hub.services import realtime, webhooks

if TYPE_CHECKING:
    from channels_chat.services import Visitor

# A greeting answered later than this is not what the visitor is answering.
ANSWER_WINDOW = timedelta(hours=24)
# No greeting interrupts a conversation active this recently.
BUSY_WINDOW = timedelta(hours=12)


def eligible(visitor: Visitor, url: str, language: str) -> list[dict[str, Any]]:
    """Active rules of the visitor's endpoint that match ``url`` and were never shown to them,
    unless they are already chatting: ``[{"id", "delay", "text"}]``, first first."""
    rules = list(GreetingRule.objects.filter(endpoint=visitor.endpoint, is_active=True))
    matching = [rule for rule in rules if rule.matches(url) and rule.message_for(language)]
    if not matching:
        return []
    from channels_chat.services import visitor_conversation

    conversation = visitor_conversation(visitor)
    if (
        conversation is not None
        and conversation.status != Conversation.Status.RESOLVED
        and conversation.last_activity_at >= timezone.now() - BUSY_WINDOW
    ):
        return []
    shown = set(
        GreetingDisplay.objects.filter(identity=visitor.identity, rule__in=matching).values_list(
            "rule_id", flat=True
        )
    )
    return [
        {"id": rule.pk, "delay": rule.delay_seconds, "text": rule.message_for(language)}
        for rule in matching
        if rule.pk not in shown
    ]


def mark_shown(visitor: Visitor, rule_id: object, url: object, language: str) -> dict | None:
    """The widget is about to show rule ``rule_id``: record it. None when it was already shown
    to this visitor (another tab won): the widget then does not show it."""
    if not isinstance(rule_id, int):
        raise ChatError("invalid", "rule must be a greeting rule id.")
    rule = GreetingRule.objects.filter(
        pk=rule_id, endpoint=visitor.endpoint, is_active=True
    ).first()
    if rule is None:
        raise ChatError("unknown_greeting", "No such greeting.", status=404)
    text = rule.message_for(language)
    try:
        with transaction.atomic():
            display = GreetingDisplay.objects.create(
                rule=rule,
                identity=visitor.identity,
                language=language,
                text=text,
                page_url=url[:2000] if isinstance(url, str) else "",
                shown_at=timezone.now(),
            )
    except IntegrityError:
        return None
    return {"id": rule.pk, "display": display.pk, "text": text}


def store_answered(visitor: Visitor, answer: Message) -> list[Message]:
    """The visitor wrote ``answer`` after seeing greetings: each becomes an outbound bot message
    on the conversation, at the moment it was shown (so before the answer on the timeline).
    Call inside the transaction that stored the answer."""
    pending = list(
        GreetingDisplay.objects.select_for_update()
        .filter(
            identity=visitor.identity,
            message__isnull=True,
            rule__endpoint=visitor.endpoint,
            shown_at__gte=answer.occurred_at - ANSWER_WINDOW,
            shown_at__lte=answer.occurred_at,
        )
        .order_by("shown_at")
    )
    stored = []
    conversation = answer.conversation
    for display in pending:
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            kind=Message.Kind.MESSAGE,
            channel=answer.channel,
            endpoint=answer.endpoint,
            recipient_identity=visitor.identity,
            text=display.text,
            delivery_status=Message.DeliveryStatus.DELIVERED,
            metadata={
                "bot": "greeting",
                "chat": {"greeting_rule": display.rule_id, "page_url": display.page_url},
            },
            occurred_at=min(display.shown_at, answer.occurred_at - timedelta(milliseconds=1)),
        )
        display.message = message
        display.save(update_fields=["message"])
        payload = message_payload(message)
        webhooks.emit("message.created", payload)
        realtime.publish(conversation, "message.created", payload)
        stored.append(message)
    return stored
