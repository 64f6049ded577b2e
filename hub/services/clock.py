"""The TTL clock of a conversation: since when the person waits, and when the answer is due.

This is the hub core's part of the clock (start on a person's message, stop on a reply). The due
time comes from the channel adapter's default TTLs; TTL policies refine it.
"""

from __future__ import annotations

from datetime import datetime

from hub import adapters
from hub.models import Conversation


def _ttl_for(conversation: Conversation):
    try:
        capabilities = adapters.get_adapter(conversation.channel).capabilities
    except LookupError:
        return None
    if conversation.last_outbound_at is None:
        return capabilities.first_response_ttl
    return capabilities.next_response_ttl or capabilities.first_response_ttl


def start(conversation: Conversation, at: datetime) -> None:
    """A person's message is waiting. Does nothing if the clock already runs (earliest wins)."""
    if conversation.waiting_since is not None:
        return
    conversation.waiting_since = at
    ttl = _ttl_for(conversation)
    conversation.due_at = at + ttl if ttl else None


def stop(conversation: Conversation) -> None:
    conversation.waiting_since = None
    conversation.due_at = None
