"""Every state change of the hub. Views, API, admin, tasks and channel apps call these."""

from hub.services.channel_actions import agent_typing, request_email
from hub.services.conversations import add_note, assign, mark_pending, reopen, resolve, snooze
from hub.services.errors import ServiceError
from hub.services.ingestion import IngestOutcome, ingest, ingest_with_outcome
from hub.services.merge import merge_conversations
from hub.services.outbound import (
    check_reply,
    deliver,
    send_reply,
    update_delivery_status,
    uploaded_attachments,
)

__all__ = [
    "IngestOutcome",
    "ServiceError",
    "add_note",
    "agent_typing",
    "assign",
    "check_reply",
    "deliver",
    "ingest",
    "ingest_with_outcome",
    "mark_pending",
    "merge_conversations",
    "reopen",
    "request_email",
    "resolve",
    "send_reply",
    "snooze",
    "update_delivery_status",
    "uploaded_attachments",
]
