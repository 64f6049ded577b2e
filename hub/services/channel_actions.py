"""Channel-specific actions an agent triggers from the hub (agent UI, API). The hub never imports
a channel app: each action goes through the conversation's channel adapter, and a channel that
cannot do it refuses with ``OutboundRefused``."""

from __future__ import annotations

from hub import adapters
from hub.models import Conversation, Message


def request_email(conversation: Conversation, *, by=None) -> Message:
    """Ask the person for their email address in the conversation (live chat: a small form)."""
    try:
        adapter = adapters.get_adapter(conversation.channel)
    except LookupError as exc:
        raise adapters.OutboundRefused(str(exc), code="unsupported") from exc
    return adapter.request_contact_details(conversation, by=by, fields=("email",))


def agent_typing(conversation: Conversation, *, by=None, active: bool = True) -> None:
    """Tell the person an agent is (or stopped) typing, where the channel shows it."""
    try:
        adapter = adapters.get_adapter(conversation.channel)
    except LookupError:
        return
    adapter.typing(conversation, by=by, active=active)
