"""Plain-dict views of hub objects for outgoing webhooks and realtime pushes.

Kept apart from the REST serializers on purpose: these must be cheap (no queries beyond what
the caller already loaded) because they are built inside the ingest transaction.
"""

from __future__ import annotations

from typing import Any

from hub.models import Conversation, Message


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "contact_id": conversation.contact_id,
        "endpoint_id": conversation.endpoint_id,
        "channel": conversation.channel,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
        "subject": conversation.subject,
        "priority": conversation.priority,
        "temperature": conversation.temperature,
        "temperature_score": conversation.temperature_score,
        "temperature_reasons": conversation.temperature_reasons,
        "waiting_since": _iso(conversation.waiting_since),
        "due_at": _iso(conversation.due_at),
        "last_activity_at": _iso(conversation.last_activity_at),
        "created_at": _iso(conversation.created_at),
        "resolved_at": _iso(conversation.resolved_at),
        "merged_into_id": conversation.merged_into_id,
    }


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "kind": message.kind,
        "channel": message.channel,
        "endpoint_id": message.endpoint_id,
        "sender_identity_id": message.sender_identity_id,
        "author_id": message.author_id,
        "event_type": message.event_type,
        "text": message.text,
        "html": message.html,
        "provider_message_id": message.provider_message_id,
        "delivery_status": message.delivery_status,
        "is_auto_reply": message.is_auto_reply,
        "is_bounce": message.is_bounce,
        "metadata": message.metadata,
        "analysis": message.analysis,
        "occurred_at": _iso(message.occurred_at),
    }
