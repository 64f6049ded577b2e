"""Agents' WebSocket: live events of their teams' conversations, through the real ASGI app and
the Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from hub.services import ingest
from tests.factories import EndpointFactory, TeamFactory, UserFactory, inbound

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _login_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(cookie: bytes | None):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_anonymous_socket_is_refused():
    communicator, connected, code = await _connect(None)
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_agent_receives_events_of_their_teams_only():
    setup = sync_to_async(lambda: _setup())
    mine, theirs, agent = await setup()
    communicator, connected, _ = await _connect(await sync_to_async(_login_cookie)(agent))
    assert connected
    try:
        await sync_to_async(ingest)(inbound(theirs, "someone-else", text="not for you"))
        await sync_to_async(ingest)(inbound(mine, "cust-1", text="Ciao!"))
        received = [await communicator.receive_json_from(timeout=5)]
        while not await communicator.receive_nothing(timeout=1):
            received.append(await communicator.receive_json_from())
        events = [(e["event"], e["data"].get("text")) for e in received]
        assert ("message.created", "Ciao!") in events
        assert ("conversation.created", None) in events
        assert all(text != "not for you" for _, text in events)
    finally:
        await communicator.disconnect()


def _setup():
    agent = UserFactory()
    my_team, other_team = TeamFactory(), TeamFactory()
    my_team.members.add(agent)
    return EndpointFactory(team=my_team), EndpointFactory(team=other_team), agent


async def test_agents_hear_the_sweeps_warnings():
    from datetime import timedelta

    import time_machine

    from hub.services import sla

    mine, _, agent = await sync_to_async(_setup)()
    sms = await sync_to_async(EndpointFactory)(team=mine.team, channel="sms", address="+390277")
    conversation = (await sync_to_async(ingest)(inbound(sms, "+393471112233"))).conversation
    communicator, connected, _ = await _connect(await sync_to_async(_login_cookie)(agent))
    assert connected
    try:
        with time_machine.travel(conversation.warn_at + timedelta(seconds=1), tick=False):
            result = await sync_to_async(sla.sweep)()
        assert result.warnings == 1
        frames = [await communicator.receive_json_from(timeout=5)]
        while not await communicator.receive_nothing(timeout=1):
            frames.append(await communicator.receive_json_from())
        warning = [f for f in frames if f["event"] == "sla.warning"]
        assert [f["conversation_id"] for f in warning] == [conversation.pk]
    finally:
        await communicator.disconnect()


async def test_agents_hear_an_imports_run_as_one_frame_per_event():
    """The batched import pushes a run once per kind of event; the socket still gives one
    frame per conversation and per message, each naming its conversation."""
    from hub.services.ingest_batch import ingest_many

    mine, _, agent = await sync_to_async(_setup)()
    communicator, connected, _ = await _connect(await sync_to_async(_login_cookie)(agent))
    assert connected
    try:
        email = await sync_to_async(EndpointFactory)(
            team=mine.team, channel="email", address="archive@shop.example"
        )
        messages = [
            inbound(
                email,
                f"cliente{n}@example.it",
                text=f"Storico {n}",
                provider_message_id=f"<old-{n}@example.it>",
                is_historical=True,
            )
            for n in range(3)
        ]
        results = await sync_to_async(ingest_many)(messages)
        stored = [result.message for result in results]
        frames = [await communicator.receive_json_from(timeout=5)]
        while not await communicator.receive_nothing(timeout=1):
            frames.append(await communicator.receive_json_from())
        got = sorted((f["event"], f["conversation_id"], f["data"]["id"]) for f in frames)
        assert got == sorted(
            [("conversation.created", m.conversation_id, m.conversation_id) for m in stored]
            + [("message.created", m.conversation_id, m.pk) for m in stored]
        )
    finally:
        await communicator.disconnect()
