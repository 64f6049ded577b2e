"""Shared set-up of the live chat tests (tests/test_chat_*.py)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
import time_machine
from channels.testing import WebsocketCommunicator

from channels_chat import services
from config.asgi import application
from tests.factories import EndpointFactory, TeamFactory

_addresses = itertools.count(1)


@pytest.fixture(autouse=False)
def chat_limits(settings):
    """The chat settings, per-address limits off (tests/conftest.py turns them off for every
    test: each test client is one address); tests of limits set theirs."""
    return settings.HUB_CHAT


def one_rate_window():
    """Time stopped 20 s into a minute no earlier run used: the per-minute limits count in
    fixed windows of the shared Redis cache, so a test that crosses a minute boundary, or
    meets the counts of a run a moment ago, would see other numbers."""
    minute = random.randrange(20_000_000, 25_000_000)  # a minute of 2008-2017
    return time_machine.travel(datetime.fromtimestamp(minute * 60 + 20, UTC), tick=False)


def chat_endpoint(team=None, **endpoint_settings):
    return EndpointFactory(
        channel="chat",
        address=f"site-{next(_addresses)}",
        team=team or TeamFactory(),
        settings=endpoint_settings,
    )


def visitor(endpoint, language: str = ""):
    """A new visitor of ``endpoint``: (token, services.Visitor)."""
    return services.start_session(endpoint, None, language=language)


async def socket(endpoint, *, origin="http://testserver", client=None, path=None):
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(
        application, path or f"/ws/chat/{endpoint.public_key}/", headers=headers
    )
    if client:
        communicator.scope["client"] = client
    connected, _ = await communicator.connect()
    assert connected  # accepted; refusals are a close code right after
    return communicator


async def hello(communicator, token, after=0):
    await communicator.send_json_to({"type": "hello", "token": token, "after": after})
    return await communicator.receive_json_from(timeout=5)


async def closed_with(communicator, timeout=5) -> int:
    output = await communicator.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output.get("code")
