"""Hooks to features other apps provide, looked up at run time (the UI hides what is missing).

HOOK (channels_chat): "request the visitor's email". The agent UI shows the button only when a
hub-level service exists for it (``hub.services.request_email``, added with the live chat
channel; ``request_visitor_email`` is also accepted) and the conversation's channel adapter can do
it (it overrides ``ChannelAdapter.request_contact_details``; live chat does). The service is
called as ``fn(conversation, by=user)`` and may raise ``OutboundRefused``.
"""

from __future__ import annotations

from collections.abc import Callable

from hub import adapters
from hub.models import Channel

REQUEST_EMAIL_CANDIDATES = ("request_email", "request_visitor_email")


def request_email_service() -> Callable | None:
    from hub import services

    for name in REQUEST_EMAIL_CANDIDATES:
        function = getattr(services, name, None)
        if callable(function):
            return function
    return None


def can_request_email(conversation) -> bool:
    if request_email_service() is None:
        return False
    base = getattr(adapters.ChannelAdapter, "request_contact_details", None)
    if base is None:
        return conversation.channel == Channel.CHAT
    try:
        adapter = adapters.get_adapter(conversation.channel)
    except LookupError:
        return False
    return type(adapter).request_contact_details is not base


def agent_typing_service() -> Callable | None:
    """``hub.services.agent_typing(conversation, by=, active=)`` when the hub has it."""
    from hub import services

    function = getattr(services, "agent_typing", None)
    return function if callable(function) else None
