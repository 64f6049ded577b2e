"""Signals the hub sends for apps that extend it without the hub importing them.

The protocol for a customer's message that waits for an answer (sent after commit, see
``hub.services.attention``):

1. ``message_received`` (``message_id``, ``conversation_id``, ``conversation_created``,
   ``reopened``). A receiver that takes the first answer upon itself (the bot, when it is on for
   that endpoint at that moment) returns ``True``; it must decide quickly and do the slow work
   in a task.
2. If no receiver returned ``True`` and the conversation has no assignee,
   ``conversation_needs_agent`` (``conversation_id``, ``reason``, ``summary``) is sent. Routing
   listens and picks the most pertinent agent. The bot sends it too when it hands over
   (reason ``"bot_handover"``, with its one-line summary).

Reasons: ``"new"``, ``"reopened"``, ``"unassigned"`` (a further message on a conversation still
without an assignee), ``"bot_handover"``. The hub never imports the apps that listen.
"""

from django.dispatch import Signal

message_received = Signal()
conversation_needs_agent = Signal()
