"""Realtime fan-out to agents (and, through their own groups, channel widgets) via Channels.

Pushes happen after commit and never fail the state change that caused them: a client that
misses a push resyncs from its timeline cursor.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def team_group(team_id: int) -> str:
    return f"hub.team.{team_id}"


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("realtime push failed", exc_info=True)


def publish(conversation, event: str, data: dict[str, Any]) -> None:
    """Push ``event`` about ``conversation`` to its team's agents (superusers join every
    team's group). Channel widgets have their own groups, fed by their channel app."""
    message = {
        "type": "hub.event",
        "event": event,
        "conversation_id": conversation.pk,
        "team_id": conversation.team_id,
        "data": data,
    }
    groups = [team_group(conversation.team_id)]
    transaction.on_commit(lambda: _send(groups, message))


def publish_batch(team_id: int, event: str, items: list[dict[str, Any]]) -> None:
    """One push to a team's agents for many conversations (e.g. the sweep's warnings)."""
    message = {"type": "hub.events", "event": event, "team_id": team_id, "items": items}
    transaction.on_commit(lambda: _send([team_group(team_id)], message))
