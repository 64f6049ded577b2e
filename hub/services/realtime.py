"""Realtime fan-out to agents (and, through their own groups, channel widgets) via Channels.

Pushes happen after commit and never fail the state change that caused them: a client that
misses a push resyncs from its timeline cursor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


class _Sender:
    """Sends to the channel layer from a background event loop, in order, without making the
    request (or task) that caused the push wait for Redis.

    ``async_to_sync(group_send)`` from a request thread blocks it for the round trips and, outside
    an event loop, builds a loop per call; that cost more than the rest of an ingest. One daemon
    thread per process (re-created after a fork) runs a loop with a queue drained by one task, so
    pushes keep the order they were made in.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None

    def _start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop, self._queue = loop, asyncio.Queue()
            self._drainer = loop.create_task(self._drain())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="hub-realtime", daemon=True).start()
        ready.wait(5)
        self._pid = os.getpid()

    async def _drain(self) -> None:
        while True:
            groups, message, done = await self._queue.get()
            layer = get_channel_layer()
            try:
                if layer is not None:
                    for group in groups:
                        await layer.group_send(group, message)
            except Exception:
                logger.warning("realtime push failed", exc_info=True)
            finally:
                if done is not None:
                    done.set()

    def submit(self, groups: list[str], message: dict[str, Any]) -> threading.Event:
        with self._lock:
            if self._pid != os.getpid():
                self._start()
        done = threading.Event()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (groups, message, done))
        return done

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is sent (tests, shutdown)."""
        if self._pid != os.getpid():
            return True
        return self.submit([], {}).wait(timeout)


sender = _Sender()


def team_group(team_id: int) -> str:
    return f"hub.team.{team_id}"


def conversation_group(conversation_id: int) -> str:
    return f"hub.conversation.{conversation_id}"


def _send(groups: list[str], message: dict[str, Any]) -> None:
    sender.submit(groups, message)


def publish(conversation, event: str, data: dict[str, Any]) -> None:
    """Push ``event`` about ``conversation`` to its team (superusers join every team's group)
    and to whoever watches the conversation."""
    message = {
        "type": "hub.event",
        "event": event,
        "conversation_id": conversation.pk,
        "team_id": conversation.team_id,
        "data": data,
    }
    groups = [team_group(conversation.team_id), conversation_group(conversation.pk)]
    transaction.on_commit(lambda: _send(groups, message))


def publish_batch(team_id: int, event: str, items: list[dict[str, Any]]) -> None:
    """One push to a team's agents for many conversations (e.g. the sweep's warnings)."""
    message = {"type": "hub.events", "event": event, "team_id": team_id, "items": items}
    transaction.on_commit(lambda: _send([team_group(team_id)], message))
