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

``prompt_answered`` (``prompt_id``, ``kind``, ``answer``, ``message_id``, ``conversation_id``):
a person's short reply answered a ``Prompt`` an app asked with ``hub.services.prompts.ask``
(a CSAT "reply 1 to 5", the bot's "did this help?"). The message is stored on the prompt's
conversation and asks nothing of an agent (no reopen, no clock, no ``message_received``).
"""

from django.dispatch import Signal

message_received = Signal()
conversation_needs_agent = Signal()
prompt_answered = Signal()
