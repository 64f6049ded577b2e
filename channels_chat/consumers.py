"""The visitor's WebSocket: ``/ws/chat/<public key>/``.

Protocol (JSON frames). The widget opens the socket and sends its token in a first ``hello``
frame (not in the URL, which servers and proxies log):

    -> {"type": "hello", "token": "...", "after": <cursor>}
    <- {"type": "ready", "conversation_id", "messages": [...], "cursor", "more"}
    -> {"type": "message", "text": "...", "client_id": "..."}
    <- {"type": "ack", "client_id", "message": {...}}     (or "error" with the client_id)
    <- {"type": "message", "message": {...}}              (agent, bot, the visitor's other tabs)
    -> {"type": "typing", "active": true}   <- {"type": "typing", "active": true, "name": "..."}
    -> {"type": "seen", "up_to": <message id>}
    -> {"type": "ping"}                      <- {"type": "pong"}
    <- {"type": "error", "code": "...", "detail": "...", ...}

Close codes: 4400 bad frame, 4401 no/invalid token or no hello in time, 4403 origin not allowed,
4404 unknown endpoint, 4429 too many connections or frames, 1009 frame too big. The socket is
accepted before it is closed with a code, so the browser sees the code (a refused handshake
shows only 1006).
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import DatabaseError

from channels_chat import conf, origins, presence, ratelimit, services
from channels_chat.errors import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN_ORIGIN,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNKNOWN_ENDPOINT,
    ChatError,
)
from hub import json_input
from hub.models import Conversation

logger = logging.getLogger(__name__)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def client_ip(scope) -> str:
    client = scope.get("client")
    return client[0] if client else ""


@database_sync_to_async
def _open(public_key: str, origin: str, host: str, ip: str):
    """The endpoint, or the close code refusing the socket."""
    try:
        endpoint = services.chat_endpoint(public_key)
    except ChatError:
        return None, CLOSE_UNKNOWN_ENDPOINT
    if not origins.origin_allowed(endpoint, origin, host):
        return None, CLOSE_FORBIDDEN_ORIGIN
    try:
        ratelimit.hit("connect-ip", ip or "-", int(conf.setting("CONNECTS_PER_MINUTE_PER_IP")))
    except ratelimit.Limited:
        return None, CLOSE_RATE_LIMITED
    return endpoint, None


@database_sync_to_async
def _hello(endpoint, token, after: int):
    visitor = services.authenticate(token, endpoint)
    first = presence.socket_opened(visitor.identity.pk)
    state = services.history(visitor, after=after)
    conversation = None
    if state["conversation_id"]:
        conversation = Conversation.objects.filter(pk=state["conversation_id"]).first()
        if first and conversation is not None:
            services.publish_presence(conversation, True)
    return visitor, state, conversation


@database_sync_to_async
def _send(visitor, text, client_id, page_url):
    message = services.send_message(visitor, text, client_id, page_url)
    return services.visitor_payload(message), message.conversation


@database_sync_to_async
def _closed(visitor, conversation_id: int | None, unseen: bool) -> None:
    last = presence.socket_closed(visitor.identity.pk)
    if not last or conversation_id is None:
        return
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return
    services.publish_presence(conversation, False)
    delay = conf.continuity_delay(visitor.endpoint)
    if unseen and delay is not None:
        from channels_chat import continuity

        continuity.schedule(conversation_id, delay)


class VisitorConsumer(AsyncJsonWebsocketConsumer):
    visitor = None
    conversation_id: int | None = None
    team_id: int | None = None

    async def connect(self) -> None:
        await self.accept()
        public_key = self.scope["url_route"]["kwargs"]["public_key"]
        endpoint, refusal = await _open(
            public_key,
            _header(self.scope, b"origin"),
            _header(self.scope, b"host"),
            client_ip(self.scope),
        )
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.endpoint = endpoint
        self.unseen: set[int] = set()
        self.frames: list[float] = []
        self.last_typing = 0.0
        self.hello_timer = asyncio.ensure_future(self._hello_deadline())

    async def _hello_deadline(self) -> None:
        await asyncio.sleep(float(conf.setting("HELLO_TIMEOUT_SECONDS")))
        if self.visitor is None:
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def disconnect(self, code) -> None:
        timer = getattr(self, "hello_timer", None)
        if timer is not None:
            timer.cancel()
        if self.visitor is not None:
            await self.channel_layer.group_discard(
                services.visitor_group(self.visitor.identity.pk), self.channel_name
            )
            try:
                await _closed(self.visitor, self.conversation_id, bool(self.unseen))
            except Exception:
                logger.warning("chat socket close bookkeeping failed", exc_info=True)

    # --- frames from the widget ----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > int(conf.setting("MAX_BODY_BYTES")):
            await self.close(code=CLOSE_TOO_BIG)
            return
        if not self._frame_allowed():
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if text_data is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        try:
            content = json_input.loads(text_data)
        except json_input.InvalidJson:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if not isinstance(content, dict):
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        await self.receive_json(content)

    def _frame_allowed(self) -> bool:
        now = time.monotonic()
        self.frames = [t for t in self.frames if now - t < 10]
        self.frames.append(now)
        return len(self.frames) <= int(conf.setting("FRAMES_PER_10_SECONDS"))

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type")
        if self.visitor is None:
            if kind != "hello":
                await self.close(code=CLOSE_UNAUTHORIZED)
                return
            await self._on_hello(content)
            return
        handler = {
            "message": self._on_message,
            "typing": self._on_typing,
            "seen": self._on_seen,
            "ping": self._on_ping,
            "hello": self._on_resync,
        }.get(kind)
        if handler is None:
            await self.send_json(
                {"type": "error", "error": "unknown_type", "detail": str(kind)[:40]}
            )
            return
        try:
            await handler(content)
        except ChatError as error:
            await self.send_json(
                {"type": "error", **error.as_dict(), "client_id": content.get("client_id")}
            )
        except DatabaseError:
            # A busy or briefly unreachable database: the widget retries, the socket stays up.
            logger.warning("chat frame %r failed", kind, exc_info=True)
            await self.send_json(
                {
                    "type": "error",
                    "error": "try_again",
                    "detail": "Temporarily unavailable.",
                    "client_id": content.get("client_id"),
                }
            )

    async def _on_hello(self, content) -> None:
        after = content.get("after") if isinstance(content.get("after"), int) else 0
        try:
            visitor, state, conversation = await _hello(self.endpoint, content.get("token"), after)
        except ChatError:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.visitor = visitor
        self.hello_timer.cancel()
        self._follow(conversation)
        await self.channel_layer.group_add(
            services.visitor_group(visitor.identity.pk), self.channel_name
        )
        self._track(state["messages"])
        await self.send_json({"type": "ready", **state})

    async def _on_resync(self, content) -> None:
        after = content.get("after") if isinstance(content.get("after"), int) else 0
        state = await database_sync_to_async(services.history)(self.visitor, after)
        self._track(state["messages"])
        await self.send_json({"type": "ready", **state})

    async def _on_message(self, content) -> None:
        payload, conversation = await _send(
            self.visitor, content.get("text"), content.get("client_id"), content.get("page_url")
        )
        self._follow(conversation)
        await self.send_json(
            {"type": "ack", "client_id": content.get("client_id"), "message": payload}
        )

    async def _on_typing(self, content) -> None:
        active = bool(content.get("active"))
        now = time.monotonic()
        if self.team_id is None or (active and now - self.last_typing < 2):
            return
        self.last_typing = now if active else 0.0
        await database_sync_to_async(services.publish_typing)(
            self.visitor.identity.pk, self.conversation_id, self.team_id, active
        )

    async def _on_seen(self, content) -> None:
        up_to = content.get("up_to")
        await database_sync_to_async(services.mark_seen)(self.visitor, up_to)
        if isinstance(up_to, int):
            self.unseen = {pk for pk in self.unseen if pk > up_to}

    async def _on_ping(self, content) -> None:
        await database_sync_to_async(presence.socket_alive)(self.visitor.identity.pk)
        await self.send_json({"type": "pong"})

    def _follow(self, conversation) -> None:
        if conversation is not None:
            self.conversation_id, self.team_id = conversation.pk, conversation.team_id

    def _track(self, messages: list[dict]) -> None:
        for message in messages:
            if message.get("direction") == "out" and not message.get("seen"):
                self.unseen.add(message["id"])

    # --- events from the channel layer -------------------------------------------------------

    async def chat_message(self, event) -> None:
        message = event["message"]
        if self.conversation_id is None and message.get("conversation_id"):
            self.conversation_id = message["conversation_id"]
        self._track([message])
        await self.send_json({"type": "message", "message": message})

    async def chat_typing(self, event) -> None:
        await self.send_json(
            {"type": "typing", "active": bool(event.get("active")), "name": event.get("name", "")}
        )
