"""Signals the hub sends for apps that extend it without the hub importing them.

``conversation_needs_agent`` is sent (after commit) when a conversation needs a person: a new
customer conversation with no assignee, or the bot handing over. Routing listens to it and picks
the most pertinent agent; the hub itself never imports the routing app.

Arguments: ``conversation_id`` (int), ``reason`` (a short machine word: ``"new"``,
``"bot_handover"``, ``"reopened"``, ``"unassigned"``), ``summary`` (a one-line text for the agent,
may be empty).
"""

from django.dispatch import Signal

conversation_needs_agent = Signal()
