"""The visitor's WebSocket through the real ASGI app and the Redis channel layer: token auth,
origins, own conversation only, limits, typing both ways, seen receipts, resync after reconnect."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from channels_chat import presence, services
from channels_chat.errors import CLOSE_BAD_REQUEST
from config.asgi import application
from hub.models import Conversation, Message
from hub.services import add_note, send_reply
from tests.chat_helpers import (
    chat_endpoint,
    chat_limits,
    closed_with,
    hello,
    one_rate_window,
    socket,
    visitor,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
__all__ = ["chat_limits"]


@pytest.fixture(autouse=True)
def _limits(chat_limits):
    return chat_limits


def _setup(**endpoint_settings):
    endpoint = chat_endpoint(**endpoint_settings)
    agent = UserFactory(first_name="Giulia")
    endpoint.team.members.add(agent)
    token, who = visitor(endpoint)
    return endpoint, agent, token, who


async def _agent_socket(agent):
    client = Client()
    await sync_to_async(client.force_login)(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _until(communicator, predicate, timeout=5):
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if predicate(frame):
            return frame


async def test_visitor_message_reaches_agents_and_reply_reaches_visitor():
    endpoint, agent, token, _ = await sync_to_async(_setup)()
    agents = await _agent_socket(agent)
    ws = await socket(endpoint)
    try:
        ready = await hello(ws, token)
        assert ready["type"] == "ready" and ready["messages"] == []
        await ws.send_json_to(
            {"type": "message", "text": "Ciao, spedite in Svizzera?", "client_id": "c1"}
        )
        ack = await ws.receive_json_from(timeout=5)
        assert ack["type"] == "ack" and ack["client_id"] == "c1"
        assert ack["message"]["text"] == "Ciao, spedite in Svizzera?"
        seen_by_agent = await _until(
            agents, lambda f: f["event"] == "message.created" and f["data"]["kind"] == "message"
        )
        assert seen_by_agent["data"]["text"] == "Ciao, spedite in Svizzera?"

        conversation = await sync_to_async(Conversation.objects.get)(
            pk=ack["message"]["conversation_id"]
        )
        await sync_to_async(send_reply)(conversation, text="Sì, in 3 giorni.", author=agent)
        pushed = await _until(
            ws, lambda f: f["type"] == "message" and f["message"]["direction"] == "out"
        )
        assert pushed["message"]["text"] == "Sì, in 3 giorni."
        assert pushed["message"]["author"] == "Giulia"
        assert "metadata" not in pushed["message"] and "html" not in pushed["message"]
    finally:
        await ws.disconnect()
        await agents.disconnect()


async def test_a_retried_message_is_stored_once():
    endpoint, _, token, _ = await sync_to_async(_setup)()
    ws = await socket(endpoint)
    try:
        await hello(ws, token)
        for _ in range(2):
            await ws.send_json_to({"type": "message", "text": "Hello?", "client_id": "same-id"})
            await _until(ws, lambda f: f["type"] == "ack")
        count = await sync_to_async(Message.objects.filter(text="Hello?").count)()
        assert count == 1
    finally:
        await ws.disconnect()


async def test_no_hello_or_bad_token_closes_4401(settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "HELLO_TIMEOUT_SECONDS": 0.2}
    endpoint, _, token, _ = await sync_to_async(_setup)()
    other = await sync_to_async(chat_endpoint)()

    silent = await socket(endpoint)
    assert await closed_with(silent) == 4401

    forged = await socket(endpoint)
    await forged.send_json_to({"type": "hello", "token": token[:-2] + "xx"})
    assert await closed_with(forged) == 4401

    elsewhere = await socket(other)  # a valid token of another endpoint
    await elsewhere.send_json_to({"type": "hello", "token": token})
    assert await closed_with(elsewhere) == 4401

    early = await socket(endpoint)
    await early.send_json_to({"type": "message", "text": "hi"})
    assert await closed_with(early) == 4401


async def test_unknown_endpoint_closes_4404():
    ws = await socket(None, path="/ws/chat/not-a-key/")
    assert await closed_with(ws) == 4404


async def test_origins_per_endpoint():
    endpoint, _, token, _ = await sync_to_async(_setup)(
        allowed_origins=["https://shop.example", "https://*.brand.example"]
    )
    for origin in ["https://shop.example", "https://eu.brand.example", "http://testserver", None]:
        ws = await socket(endpoint, origin=origin)
        assert (await hello(ws, token))["type"] == "ready", origin
        await ws.disconnect()
    for origin in ["https://evil.example", "http://shop.example", "https://brand.example", "null"]:
        ws = await socket(endpoint, origin=origin)
        assert await closed_with(ws) == 4403, origin


async def test_visitor_sees_only_their_own_conversation():
    endpoint, agent, token_a, _ = await sync_to_async(_setup)()
    token_b, _ = await sync_to_async(visitor)(endpoint)
    ws_a, ws_b = await socket(endpoint), await socket(endpoint)
    try:
        await hello(ws_a, token_a)
        await hello(ws_b, token_b)
        await ws_a.send_json_to(
            {"type": "message", "text": "A's secret order 123", "client_id": "a1"}
        )
        ack = await _until(ws_a, lambda f: f["type"] == "ack")
        conversation = await sync_to_async(Conversation.objects.get)(
            pk=ack["message"]["conversation_id"]
        )
        await sync_to_async(add_note)(conversation, author=agent, text="internal: VIP")
        reply = await sync_to_async(send_reply)(conversation, text="For A only", author=agent)

        await _until(
            ws_a, lambda f: f["type"] == "message" and f["message"]["text"] == "For A only"
        )
        assert await ws_b.receive_nothing(timeout=0.5)
        # B's resync, and B marking A's reply as seen, reach nothing of A's.
        await ws_b.send_json_to({"type": "hello", "token": token_b, "after": 0})
        resync = await ws_b.receive_json_from(timeout=5)
        assert resync["messages"] == [] and resync["conversation_id"] is None
        await ws_b.send_json_to({"type": "seen", "up_to": reply.pk})
        await ws_b.send_json_to({"type": "ping"})
        assert (await ws_b.receive_json_from(timeout=5))["type"] == "pong"
        await sync_to_async(reply.refresh_from_db)()
        assert reply.delivery_status != "read"
        # A's own resync has the messages but no note or event.
        await ws_a.send_json_to({"type": "hello", "token": token_a, "after": 0})
        own = await _until(ws_a, lambda f: f["type"] == "ready")
        assert [m["text"] for m in own["messages"]] == ["A's secret order 123", "For A only"]
    finally:
        await ws_a.disconnect()
        await ws_b.disconnect()


async def test_message_rate_limit_and_size_limit(settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "MESSAGES_PER_MINUTE": 2}
    endpoint, _, token, _ = await sync_to_async(_setup)(max_message_chars=50)
    ws = await socket(endpoint)
    try:
        await hello(ws, token)
        await ws.send_json_to({"type": "message", "text": "x" * 51, "client_id": "long"})
        too_long = await ws.receive_json_from(timeout=5)
        assert too_long["type"] == "error" and too_long["error"] == "too_long"
        assert too_long["client_id"] == "long"
        for n in range(2):
            await ws.send_json_to({"type": "message", "text": f"m{n}", "client_id": f"c{n}"})
            assert (await _until(ws, lambda f: f["type"] in ("ack", "error")))["type"] == "ack"
        await ws.send_json_to({"type": "message", "text": "m3", "client_id": "c3"})
        limited = await _until(ws, lambda f: f["type"] in ("ack", "error"))
        assert limited["error"] == "rate_limited" and limited["retry_after"] >= 1
        assert await sync_to_async(Message.objects.filter(text="m3").exists)() is False
    finally:
        await ws.disconnect()


async def test_oversized_frame_closes_1009_and_flood_closes_4429(settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "MAX_BODY_BYTES": 1000, "FRAMES_PER_10_SECONDS": 5}
    endpoint, _, token, _ = await sync_to_async(_setup)()
    big = await socket(endpoint)
    await hello(big, token)
    await big.send_json_to({"type": "message", "text": "x" * 2000})
    assert await closed_with(big) == 1009

    flood = await socket(endpoint)
    await hello(flood, token)
    for _ in range(6):
        await flood.send_json_to({"type": "ping"})
    while True:
        output = await flood.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            assert output["code"] == 4429
            break


async def test_connections_per_address_are_limited(settings):
    settings.HUB_CHAT = {**settings.HUB_CHAT, "CONNECTS_PER_MINUTE_PER_IP": 2}
    endpoint, _, token, _ = await sync_to_async(_setup)()
    address = ("198.51.100.7", 5555)
    with one_rate_window():
        sockets = [await socket(endpoint, client=address) for _ in range(2)]
        for ws in sockets:
            assert (await hello(ws, token))["type"] == "ready"
        third = await socket(endpoint, client=address)
        assert await closed_with(third) == 4429
    elsewhere = await socket(endpoint, client=("198.51.100.8", 5555))
    assert (await hello(elsewhere, token))["type"] == "ready"
    for ws in [*sockets, elsewhere]:
        await ws.disconnect()


async def test_typing_both_ways():
    endpoint, agent, token, _ = await sync_to_async(_setup)()
    ws = await socket(endpoint)
    agents = await _agent_socket(agent)
    try:
        await hello(ws, token)
        await ws.send_json_to({"type": "message", "text": "Hi", "client_id": "t1"})
        ack = await _until(ws, lambda f: f["type"] == "ack")
        await ws.send_json_to({"type": "typing", "active": True})
        typing = await _until(agents, lambda f: f["event"] == "chat.typing")
        assert typing["data"]["typing"] is True
        assert typing["conversation_id"] == ack["message"]["conversation_id"]

        conversation = await sync_to_async(Conversation.objects.get)(pk=typing["conversation_id"])
        from hub.services import agent_typing

        await sync_to_async(agent_typing)(conversation, by=agent, active=True)
        shown = await _until(ws, lambda f: f["type"] == "typing")
        assert shown == {"type": "typing", "active": True, "name": "Giulia"}
    finally:
        await ws.disconnect()
        await agents.disconnect()


async def test_seen_marks_our_replies_read_and_tells_agents():
    endpoint, agent, token, _ = await sync_to_async(_setup)()
    ws = await socket(endpoint)
    agents = await _agent_socket(agent)
    try:
        await hello(ws, token)
        await ws.send_json_to({"type": "message", "text": "Order 42?", "client_id": "s1"})
        ack = await _until(ws, lambda f: f["type"] == "ack")
        conversation = await sync_to_async(Conversation.objects.get)(
            pk=ack["message"]["conversation_id"]
        )
        reply = await sync_to_async(send_reply)(conversation, text="Shipped today.", author=agent)
        pushed = await _until(
            ws, lambda f: f["type"] == "message" and f["message"]["direction"] == "out"
        )
        await sync_to_async(reply.refresh_from_db)()
        assert reply.delivery_status == "delivered"  # pushed to an open socket
        await ws.send_json_to({"type": "seen", "up_to": pushed["message"]["id"]})
        updated = await _until(
            agents,
            lambda f: f["event"] == "message.updated" and f["data"]["delivery_status"] == "read",
        )
        assert updated["data"]["id"] == reply.pk
    finally:
        await ws.disconnect()
        await agents.disconnect()


async def test_reconnect_resyncs_from_the_cursor():
    endpoint, agent, token, who = await sync_to_async(_setup)()
    ws = await socket(endpoint)
    await hello(ws, token)
    await ws.send_json_to({"type": "message", "text": "First", "client_id": "r1"})
    ack = await _until(ws, lambda f: f["type"] == "ack")
    cursor = ack["message"]["id"]
    await ws.disconnect()
    assert await sync_to_async(presence.sockets)(who.identity.pk) == 0

    conversation = await sync_to_async(Conversation.objects.get)(
        pk=ack["message"]["conversation_id"]
    )
    await sync_to_async(send_reply)(conversation, text="Missed while away", author=agent)

    again = await socket(endpoint)
    try:
        ready = await hello(again, token, after=cursor)
        texts = [m["text"] for m in ready["messages"] if m["id"] > cursor]
        assert texts == ["Missed while away"]
        assert ready["cursor"] > cursor
        assert await sync_to_async(presence.sockets)(who.identity.pk) == 1
    finally:
        await again.disconnect()


async def test_presence_is_published_to_agents():
    endpoint, agent, token, who = await sync_to_async(_setup)()
    await sync_to_async(services.send_message)(who, "Earlier message", "p1")
    agents = await _agent_socket(agent)
    ws = await socket(endpoint)
    try:
        await hello(ws, token)
        online = await _until(agents, lambda f: f["event"] == "chat.presence")
        assert online["data"]["online"] is True
        await ws.disconnect()
        offline = await _until(agents, lambda f: f["event"] == "chat.presence")
        assert offline["data"]["online"] is False
    finally:
        await agents.disconnect()


async def test_an_idle_socket_outlives_the_channel_layers_blocking_read():
    """channels_redis waits for messages with a 5 s blocking pop; redis-py 8 reads with a 5 s
    socket timeout by default, which closes idle sockets (settings set it longer)."""
    import asyncio

    endpoint, _agent, token, _ = await sync_to_async(_setup)()
    ws = await socket(endpoint)
    try:
        ready = await hello(ws, token)
        assert ready["type"] == "ready"
        await asyncio.sleep(7)  # idle past one blocking pop
        await ws.send_json_to({"type": "ping"})
        assert await _until(ws, lambda frame: frame["type"] == "pong")
    finally:
        await ws.disconnect()


async def test_a_frame_with_a_lone_surrogate_or_deep_nesting_closes_4400():
    """The sockets read JSON with the HTTP API's caps (``hub.json_input``): a lone surrogate
    could not be stored, a deep nesting exhausts the recursion; neither reaches the services."""
    endpoint, _, token, _ = await sync_to_async(_setup)()
    for frame in (
        json.dumps({"type": "message", "text": "hi \ud800", "client_id": "s"}),
        '{"type": "message", "text": "hi", "x": ' + "[" * 900 + "]" * 900 + "}",
    ):
        ws = await socket(endpoint)
        await hello(ws, token)
        await ws.send_to(text_data=frame)
        assert await closed_with(ws) == CLOSE_BAD_REQUEST
    assert await sync_to_async(Message.objects.filter(kind="message").exists)() is False
