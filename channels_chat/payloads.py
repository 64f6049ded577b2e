"""What the widget sees of a message: text, who said it and the files of a reply, never notes,
events, metadata, HTML or addresses."""

from __future__ import annotations

from typing import Any

from channels_chat.files import files_payload
from hub.models import Message


def form_of(message: Message) -> str:
    """The small form the widget renders under an outbound message ("email"), if any: the
    agent's "may I have your email?" and the SLA engine's expectation message asking for one."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    chat = metadata.get("chat") if isinstance(metadata.get("chat"), dict) else {}
    if chat.get("form") == "email" or metadata.get("asks_for") == "email":
        return "email"
    return ""


def visitor_payload(message: Message) -> dict[str, Any]:
    """``message`` as the visitor's widget shows it. ``author`` needs ``message.author`` loaded
    (select_related) to avoid a query."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    chat = metadata.get("chat") if isinstance(metadata.get("chat"), dict) else {}
    author = ""
    if message.direction == Message.Direction.OUTBOUND and message.author_id:
        user = message.author
        author = (user.first_name or "").strip()[:60]
    data: dict[str, Any] = {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "text": message.text,
        "at": message.occurred_at.isoformat() if message.occurred_at else None,
        "author": author,
        "channel": message.channel,
    }
    if message.direction == Message.Direction.INBOUND and chat.get("client_id"):
        data["client_id"] = chat["client_id"]
    if chat.get("greeting_rule"):
        data["greeting"] = True
    form = form_of(message)
    if form:
        data["form"] = form
        data["answered"] = bool(chat.get("answered"))
    if message.direction == Message.Direction.OUTBOUND:
        data["seen"] = message.delivery_status == Message.DeliveryStatus.READ
    files = files_payload(message)
    if files:
        data["files"] = files
    return data
