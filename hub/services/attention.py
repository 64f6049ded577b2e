"""Who answers a customer's message: ask the first responders, else ask for an agent.

See ``hub.signals`` for the protocol. Both signals go out after the commit of the message, so
a receiver reads committed rows, and a failing receiver is logged, never undoes the message.
"""

from __future__ import annotations

import logging

from django.db import transaction

from hub.models import Conversation, Message
from hub.signals import conversation_needs_agent, message_received

logger = logging.getLogger(__name__)


def after_inbound(message: Message, conversation: Conversation, *, created: bool, reopened: bool):
    """Queue, for after the commit, the question "who answers this?" for ``message``."""
    message_id, conversation_id = message.pk, conversation.pk
    if created:
        reason = "new"
    elif reopened:
        reason = "reopened"
    else:
        reason = "unassigned"

    def ask() -> None:
        responses = message_received.send_robust(
            sender=Message,
            message_id=message_id,
            conversation_id=conversation_id,
            conversation_created=created,
            reopened=reopened,
        )
        taken = False
        for receiver, response in responses:
            if isinstance(response, Exception):
                logger.error("message_received receiver %r failed", receiver, exc_info=response)
            elif response is True:
                taken = True
        if taken:
            return
        unassigned = Conversation.objects.filter(
            pk=conversation_id, assignee__isnull=True, status=Conversation.Status.OPEN
        ).exists()
        if unassigned:
            request_agent(conversation_id, reason=reason)

    transaction.on_commit(ask, robust=True)


def request_agent(conversation_id: int, *, reason: str, summary: str = "") -> None:
    """Send ``conversation_needs_agent`` now (call it after commit, or from a task)."""
    for receiver, response in conversation_needs_agent.send_robust(
        sender=Conversation, conversation_id=conversation_id, reason=reason, summary=summary
    ):
        if isinstance(response, Exception):
            logger.error("conversation_needs_agent receiver %r failed", receiver, exc_info=response)
