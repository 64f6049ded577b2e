"""Realtime fan-out to agents (and, through their own groups, channel widgets) via Channels.

Pushes happen after commit and never fail the state change that caused them: a client that
misses a push resyncs from its timeline cursor.

Where a push runs depends on the thread that makes it (:func:`push`):

- In a thread that ``sync_to_async`` runs for an event loop (a request or a socket's database
  work in the ASGI server; an async test) it is handed to that loop, with the connection the
  loop's sockets already share, and waited for at most :data:`PUSH_TIMEOUT`. Not through
  ``async_to_sync``: that waits without limit, and a loop that stops before it runs the push
  (a server shutting down, an async test ending while a socket's close bookkeeping still runs)
  would leave the thread waiting for ever; with asgiref's one thread for thread-sensitive
  work, every later ``sync_to_async`` of the process would queue behind it.
- In a thread with no event loop to return to (the Celery worker's tasks, management commands
  such as ``import_mail``, a thread of a test) it goes to :class:`_Sender`, one event loop in a
  daemon thread per process. ``async_to_sync`` there would start an event loop, and the channel
  layer a Redis connection for it, on every push: about 8.7 ms each.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import BaseChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import transaction

logger = logging.getLogger(__name__)

# How long a push may take before the caller gives up on it (it normally takes a millisecond or
# two): a Redis that hangs must not hold a worker's task or a request for long.
PUSH_TIMEOUT = 2.0


def team_group(team_id: int) -> str:
    return f"hub.team.{team_id}"


async def _group_send(layer: BaseChannelLayer, groups: Sequence[str], message: dict) -> None:
    for group in groups:
        await layer.group_send(group, message)


class _Sender:
    """One event loop in a daemon thread, for the pushes of threads without one.

    The channel layer keeps a connection pool per event loop, so every push sent here shares
    this loop's connection. A push is waited for (at most ``timeout``), so pushes keep the order
    they were made in and a push has reached Redis when the state change's caller goes on.

    Tests (and ``override_settings(CHANNEL_LAYERS=...)``) replace the layer object: each push
    brings the layer it is for, and when that is no longer the previous one, the previous one's
    connection on this loop is closed instead of staying open for as long as the process.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="hub-realtime-sender", daemon=True
        )
        self.thread.start()
        self._layer: BaseChannelLayer | None = None

    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def send(
        self, layer: BaseChannelLayer, groups: Sequence[str], message: dict, timeout: float
    ) -> None:
        """Send ``message`` to ``groups`` on this loop and wait for it; raises what the send
        raised, or ``TimeoutError`` (the send is then cancelled)."""
        _send_on(self.loop, self._send(layer, groups, message), timeout)

    async def _send(self, layer: BaseChannelLayer, groups: Sequence[str], message: dict) -> None:
        previous, self._layer = self._layer, layer
        if previous is not None and previous is not layer:
            await self._release(previous)
        await _group_send(layer, groups, message)

    async def _release(self, layer: BaseChannelLayer) -> None:
        """Close the connections ``layer`` holds for this loop (only this loop's: the others
        belong to other threads)."""
        if not isinstance(layer, RedisChannelLayer):
            return
        loop_layer = layer._layers.pop(asyncio.get_running_loop(), None)
        if loop_layer is not None:
            try:
                await loop_layer.flush()
            except Exception:
                logger.info("closing a replaced channel layer's connection failed", exc_info=True)


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def _get_sender() -> _Sender:
    """This process's sender, started on first use."""
    global _sender
    sender = _sender
    if sender is None or not sender.alive():
        with _sender_lock:
            if _sender is None or not _sender.alive():
                _sender = _Sender()
            sender = _sender
    return sender


def _forget_sender_after_fork() -> None:
    """In a forked child (Celery's prefork pool) the parent's sender thread does not exist and
    its loop and sockets are the parent's: start afresh on the child's first push. The lock too
    may have been held by another of the parent's threads at the fork."""
    global _sender, _sender_lock
    _sender = None
    _sender_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_sender_after_fork)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop this thread works for, when ``sync_to_async`` runs it (the ASGI server's
    request and socket threads, an async test's): asgiref's own record, as ``async_to_sync``
    reads it, kept only while that loop runs and in the process that set it."""
    threadlocal = SyncToAsync.threadlocal
    if getattr(threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def push(groups: Sequence[str], message: dict[str, Any]) -> None:
    """Send ``message`` to ``groups`` now, from synchronous code (see the module's docstring for
    where it runs). Never raises: a push that fails or takes over :data:`PUSH_TIMEOUT` is logged
    and given up."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if _running_loop() is not None:
            # Blocking this loop until the push is sent would stall everything on it.
            logger.warning(
                "realtime push to %s skipped: made in a thread running an event loop "
                "(await the channel layer's group_send there)",
                list(groups),
            )
        elif (loop := _server_loop()) is not None:
            _send_on(loop, _group_send(layer, groups, message), PUSH_TIMEOUT)
        else:
            _get_sender().send(layer, groups, message, PUSH_TIMEOUT)
    except TimeoutError:
        logger.warning("realtime push to %s timed out after %s s", list(groups), PUSH_TIMEOUT)
    except Exception:
        logger.warning("realtime push to %s failed", list(groups), exc_info=True)


def _send_on(loop: asyncio.AbstractEventLoop, send: Coroutine, timeout: float) -> None:
    """Run ``send`` on ``loop`` (another thread's) and wait for it at most ``timeout``; raises
    what it raised, or ``TimeoutError`` (it is then cancelled, should the loop still run it)."""
    try:
        future: Future[None] = asyncio.run_coroutine_threadsafe(send, loop)
    except RuntimeError:  # the loop closed after _server_loop() looked at it
        send.close()
        raise
    try:
        future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


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
    transaction.on_commit(lambda: push(groups, message))


def publish_batch(team_id: int, event: str, items: list[dict[str, Any]]) -> None:
    """One push to a team's agents for many conversations (e.g. the sweep's warnings)."""
    message = {"type": "hub.events", "event": event, "team_id": team_id, "items": items}
    transaction.on_commit(lambda: push([team_group(team_id)], message))
