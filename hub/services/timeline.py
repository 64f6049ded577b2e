"""System events on a conversation's timeline (assignment, status changes, ...)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hub.models import Conversation, Message
from hub.payloads import message_payload
from hub.services import realtime


def record_event(
    conversation: Conversation,
    event_type: str,
    *,
    text: str = "",
    author=None,
    metadata: dict[str, Any] | None = None,
    occurred_at=None,
) -> Message:
    event = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.EVENT,
        channel=conversation.channel,
        event_type=event_type,
        text=text,
        author=author,
        metadata=metadata or {},
        occurred_at=occurred_at or timezone.now(),
    )
    realtime.publish(conversation, "message.created", message_payload(event))
    return event
