"""config.channel_layer: channels_redis's group_send semantics in fewer round trips (real Redis)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from redis.asyncio.client import Pipeline, Redis

from config.channel_layer import GROUP_SEND_LUA, HubRedisChannelLayer

pytestmark = pytest.mark.asyncio


@pytest.fixture
def round_trips(monkeypatch) -> list[str]:
    """Every command or pipeline sent to Redis while the test runs."""
    sent: list[str] = []
    execute_command, execute = Redis.execute_command, Pipeline.execute

    async def counting_command(self, *args, **options):
        sent.append(str(args[0]))
        return await execute_command(self, *args, **options)

    async def counting_pipeline(self, *args, **kwargs):
        sent.append("pipeline")
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", counting_command)
    monkeypatch.setattr(Pipeline, "execute", counting_pipeline)
    return sent


def _group() -> str:
    return f"test-group-{uuid.uuid4().hex[:8]}"


async def test_members_receive_a_group_message_in_two_round_trips(round_trips):
    layer = get_channel_layer()
    assert isinstance(layer, HubRedisChannelLayer)
    group = _group()
    local = await layer.new_channel()  # this process's channel (name with "!")
    remote = f"test-remote-{uuid.uuid4().hex[:8]}"  # another process's plain channel
    for channel in (local, remote):
        await layer.group_add(group, channel)
    await layer.connection(0).script_load(GROUP_SEND_LUA)  # as after a process's first send
    round_trips.clear()
    await layer.group_send(group, {"type": "hub.event", "text": "Ciao, è arrivato"})
    assert round_trips == ["pipeline", "EVALSHA"]
    for channel in (local, remote):
        received = await asyncio.wait_for(layer.receive(channel), 5)
        assert received == {"type": "hub.event", "text": "Ciao, è arrivato"}
    await layer.flush()


async def test_an_empty_group_costs_one_round_trip(round_trips):
    layer = get_channel_layer()
    await layer.group_send(_group(), {"type": "hub.event"})
    assert round_trips == ["pipeline"]


async def test_capacity_and_old_messages_as_in_channels_redis():
    layer = HubRedisChannelLayer(
        hosts=get_channel_layer().hosts, capacity=2, expiry=60, group_expiry=86400
    )
    group, channel = _group(), f"test-capacity-{uuid.uuid4().hex[:8]}"
    await layer.group_add(group, channel)
    for n in range(3):  # the third is over capacity and dropped
        await layer.group_send(group, {"type": "hub.event", "n": n})
    assert [(await layer.receive(channel))["n"] for _ in range(2)] == [0, 1]

    # A message older than the expiry is removed before the new one is counted and stored.
    key = layer.prefix + channel
    redis = layer.connection(layer.consistent_hash(channel))
    await redis.zadd(key, {b"stale-message": 1.0})
    await layer.group_send(group, {"type": "hub.event", "n": 3})
    assert await redis.zcount(key, "-inf", "+inf") == 1
    assert (await layer.receive(channel))["n"] == 3
    await layer.flush()
