"""hub.services.realtime.push: where a push runs, with the real Redis channel layer.

- From a thread with no event loop (the Celery worker, a management command) pushes go through
  one event loop per process, started on first use and again after a fork, and share its Redis
  connection; counted here by event loops created and connections opened, not by timing.
- From a thread that ``sync_to_async`` runs for an event loop (the ASGI server, an async test)
  they go through that loop, so a test's own layer (even an in-memory one) gets them there.
- A push that fails or takes too long is logged and given up; it never raises.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from config.asgi import application
from config.channel_layer import HubRedisChannelLayer
from hub.services import realtime
from tests.factories import TeamFactory, UserFactory

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def senders(monkeypatch) -> list[realtime._Sender]:
    """No sender of an earlier test: the ones this test starts, listed, and stopped after it."""
    started: list[realtime._Sender] = []

    class Recorded(realtime._Sender):
        def __init__(self) -> None:
            super().__init__()
            started.append(self)

    monkeypatch.setattr(realtime, "_Sender", Recorded)
    monkeypatch.setattr(realtime, "_sender", None)
    monkeypatch.setattr(realtime, "_sender_lock", threading.Lock())
    yield started
    for sender in started:
        sender.loop.call_soon_threadsafe(sender.loop.stop)
        sender.thread.join(5)
        # Closing the loop closes the channel layer's connections on it (channels_redis wraps
        # loop.close); in a thread of its own, as an async test's loop may still be set here.
        closer = threading.Thread(target=sender.loop.close)
        closer.start()
        closer.join(5)


@pytest.fixture
def loops_created(monkeypatch) -> list[asyncio.AbstractEventLoop]:
    """Every event loop created from now on: ``asyncio.new_event_loop`` and ``asyncio.run``
    (``async_to_sync`` outside an event loop) both get theirs from the policy."""
    created: list[asyncio.AbstractEventLoop] = []
    policy = asyncio.get_event_loop_policy()
    original = policy.new_event_loop

    def counting() -> asyncio.AbstractEventLoop:
        loop = original()
        created.append(loop)
        return loop

    monkeypatch.setattr(policy, "new_event_loop", counting)
    return created


@pytest.fixture
def no_sender(monkeypatch) -> None:
    """Fail the test if a push goes to the sender's loop instead of the caller's."""

    def refuse(*args, **kwargs):
        raise AssertionError("push went to the sender, not the caller's event loop")

    monkeypatch.setattr(realtime._Sender, "send", refuse)


def _subscribe(layer, group: str) -> str:
    """A plain channel (received without a process-local buffer) in ``group``."""
    channel = f"test-realtime-{os.getpid()}-{time.monotonic_ns()}"
    async_to_sync(layer.group_add)(group, channel)
    return channel


def _receive(layer, channel: str, count: int) -> list[dict]:
    async def run() -> list[dict]:  # one event loop for all the receives
        return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]

    return async_to_sync(run)()


def _pools_created(monkeypatch, layer) -> list:
    pools: list = []
    original = layer.create_pool

    def recording(index):
        pool = original(index)
        pools.append(pool)
        return pool

    monkeypatch.setattr(layer, "create_pool", recording)
    return pools


def _connections(pool) -> int:
    return len(pool._available_connections) + len(pool._in_use_connections)


def test_pushes_from_a_thread_without_a_loop_share_one_loop_and_one_connection(
    senders, loops_created, monkeypatch
):
    layer = get_channel_layer()
    assert isinstance(layer, HubRedisChannelLayer)
    channel = _subscribe(layer, "hub.team.101")
    pools = _pools_created(monkeypatch, layer)
    loops_created.clear()

    for n in range(20):
        realtime.push(["hub.team.101"], {"type": "hub.event", "n": n})

    assert len(senders) == 1
    assert loops_created == [senders[0].loop]
    assert len(pools) == 1 and _connections(pools[0]) == 1
    assert [event["n"] for event in _receive(layer, channel, 20)] == list(range(20))

    # What the sender saves: async_to_sync here starts a loop and a connection per call.
    loops_created.clear()
    for n in range(2):
        async_to_sync(layer.group_send)("hub.team.101", {"type": "hub.event", "n": n})
    assert len(loops_created) == 2 and len(pools) == 1 + 1 + 2  # + the receive's loop


def test_pushes_from_many_threads_share_the_one_loop(senders, loops_created):
    layer = get_channel_layer()
    channel = _subscribe(layer, "hub.team.102")
    loops_created.clear()

    def pushes(worker: int) -> None:
        for n in range(10):
            realtime.push(["hub.team.102"], {"type": "hub.event", "n": (worker, n)})

    threads = [threading.Thread(target=pushes, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(senders) == 1 and loops_created == [senders[0].loop]
    received = [tuple(event["n"]) for event in _receive(layer, channel, 40)]
    assert sorted(received) == [(worker, n) for worker in range(4) for n in range(10)]
    for worker in range(4):  # each thread's pushes arrive in the order it made them
        assert [n for w, n in received if w == worker] == list(range(10))


@pytest.mark.django_db(transaction=True)
def test_chat_visitor_pushes_from_a_worker_thread_go_through_the_one_loop(senders, loops_created):
    from django.db import transaction

    from channels_chat.services import push_to_visitor, visitor_group

    layer = get_channel_layer()
    channel = _subscribe(layer, visitor_group(4242))
    loops_created.clear()
    for n in range(3):
        with transaction.atomic():  # pushed on commit, as the worker's services do
            push_to_visitor(4242, {"type": "chat.event", "n": n})
    assert len(senders) == 1 and loops_created == [senders[0].loop]
    assert [event["n"] for event in _receive(layer, channel, 3)] == [0, 1, 2]


def test_a_push_reaches_several_groups(senders):
    layer = get_channel_layer()
    first, second = _subscribe(layer, "hub.team.103"), _subscribe(layer, "hub.team.104")
    realtime.push(["hub.team.103", "hub.team.104"], {"type": "hub.event", "n": 1})
    assert _receive(layer, first, 1)[0]["n"] == 1
    assert _receive(layer, second, 1)[0]["n"] == 1


def test_the_after_fork_hook_makes_the_next_push_start_a_new_loop(senders, loops_created):
    layer = get_channel_layer()
    channel = _subscribe(layer, "hub.team.105")
    realtime.push(["hub.team.105"], {"type": "hub.event", "n": 1})
    parent = realtime._sender

    realtime._forget_sender_after_fork()  # what os.fork() runs in the child
    assert realtime._sender is None
    realtime.push(["hub.team.105"], {"type": "hub.event", "n": 2})

    assert len(senders) == 2 and realtime._sender is senders[1] is not parent
    assert loops_created[-1] is senders[1].loop is not parent.loop
    assert [event["n"] for event in _receive(layer, channel, 2)] == [1, 2]


def test_a_forked_child_pushes_through_a_sender_of_its_own(senders):
    layer = get_channel_layer()
    channel = _subscribe(layer, "hub.team.106")
    realtime.push(["hub.team.106"], {"type": "hub.event", "n": "parent"})
    parent = realtime._sender

    pid = os.fork()
    if pid == 0:  # the child: no pytest, no database, just the push
        status = 1
        try:
            if realtime._sender is None:  # the registered hook ran
                realtime.push(["hub.team.106"], {"type": "hub.event", "n": "child"})
                child = realtime._sender
                if child is not None and child is not parent and child.thread.is_alive():
                    status = 0
        finally:
            os._exit(status)

    deadline = time.monotonic() + 30
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited == (0, 0):
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's push hung")
    assert os.waitstatus_to_exitcode(waited[1]) == 0
    assert [event["n"] for event in _receive(layer, channel, 2)] == ["parent", "child"]
    assert realtime._sender is parent and parent.thread.is_alive()  # the parent's goes on


def test_a_new_channel_layer_gets_the_pushes_and_the_old_ones_connection_is_closed(senders):
    old = get_channel_layer()
    realtime.push(["hub.team.107"], {"type": "hub.event", "n": 1})
    loop = senders[0].loop
    assert loop in old._layers

    channel_layers.backends.clear()  # what each test's fresh layer (conftest) does
    new = get_channel_layer()
    assert new is not old
    channel = _subscribe(new, "hub.team.107")
    realtime.push(["hub.team.107"], {"type": "hub.event", "n": 2})

    assert loop not in old._layers and loop in new._layers
    assert _receive(new, channel, 1)[0]["n"] == 2


def test_a_push_to_an_overridden_in_memory_layer_uses_that_layer(senders):
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        layer = get_channel_layer()
        assert not isinstance(layer, HubRedisChannelLayer)
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)("hub.team.108", channel)
        realtime.push(["hub.team.108"], {"type": "hub.event", "n": 1})
        assert _receive(layer, channel, 1)[0]["n"] == 1


def test_a_push_that_takes_too_long_is_logged_and_given_up(senders, monkeypatch, caplog):
    layer = get_channel_layer()
    channel = _subscribe(layer, "hub.team.109")
    monkeypatch.setattr(realtime, "PUSH_TIMEOUT", 0.2)
    original = type(layer).group_send
    cancelled = threading.Event()

    async def hanging(self, group, message):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    monkeypatch.setattr(type(layer), "group_send", hanging)
    with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
        realtime.push(["hub.team.109"], {"type": "hub.event", "n": 1})
    assert "timed out" in caplog.text
    assert cancelled.wait(5)  # not left running on the sender's loop

    monkeypatch.setattr(type(layer), "group_send", original)
    realtime.push(["hub.team.109"], {"type": "hub.event", "n": 2})  # the sender goes on
    assert _receive(layer, channel, 1)[0]["n"] == 2


def test_a_push_behind_a_stuck_sender_loop_is_given_up(senders, monkeypatch, caplog):
    monkeypatch.setattr(realtime, "PUSH_TIMEOUT", 0.2)
    realtime.push(["hub.team.110"], {"type": "hub.event", "n": 0})
    senders[0].loop.call_soon_threadsafe(time.sleep, 1)  # something blocks the loop
    with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
        realtime.push(["hub.team.110"], {"type": "hub.event", "n": 1})
    assert "timed out" in caplog.text


def test_a_push_that_fails_is_logged_and_does_not_raise(senders, monkeypatch, caplog):
    async def failing(self, group, message):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(type(get_channel_layer()), "group_send", failing)
    with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
        realtime.push(["hub.team.111"], {"type": "hub.event"})
    assert "failed" in caplog.text and "Redis is down" in caplog.text


def test_a_push_from_a_thread_running_an_event_loop_is_skipped_not_blocking(senders, caplog):
    async def from_the_loop() -> None:
        realtime.push(["hub.team.112"], {"type": "hub.event"})

    with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
        asyncio.run(from_the_loop())
    assert "skipped" in caplog.text and senders == []


def test_no_channel_layer_no_push(senders, settings):
    settings.CHANNEL_LAYERS = {}
    realtime.push(["hub.team.113"], {"type": "hub.event"})
    assert senders == []


# Under the ASGI test communicator: the pushes of sync_to_async threads go through the test's
# event loop (as through the server's), those of plain threads through the sender.


@pytest.mark.asyncio
async def test_a_sync_to_async_push_goes_through_the_callers_loop(no_sender):
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("hub.team.114", channel)
        # Sent on another loop, the in-memory layer's queue would wake this loop's receive from
        # a foreign thread, i.e. maybe never.
        await sync_to_async(realtime.push)(["hub.team.114"], {"type": "hub.event", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1


@pytest.mark.asyncio
async def test_a_sync_to_async_push_that_takes_too_long_is_logged(no_sender, monkeypatch, caplog):
    monkeypatch.setattr(realtime, "PUSH_TIMEOUT", 0.2)

    async def hanging(self, group, message):
        await asyncio.sleep(60)

    monkeypatch.setattr(HubRedisChannelLayer, "group_send", hanging)
    with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
        await sync_to_async(realtime.push)(["hub.team.115"], {"type": "hub.event"})
    assert "timed out" in caplog.text


def test_a_push_for_a_server_loop_that_stops_before_running_it_is_given_up(
    no_sender, monkeypatch, caplog
):
    """A socket's close bookkeeping can still run in asgiref's thread when its event loop ends
    (a server shutting down, an async test finishing): the push must not wait for ever for a
    loop that will never run it, or that thread, and every later ``sync_to_async``, would."""
    monkeypatch.setattr(realtime, "PUSH_TIMEOUT", 0.2)
    loop = asyncio.new_event_loop()
    release = threading.Event()

    def last_callback() -> None:  # the loop runs this one and then stops
        release.wait(10)
        loop.stop()

    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    loop.call_soon_threadsafe(last_callback)
    # This thread does sync work for that loop, as the threads of sync_to_async do.
    monkeypatch.setattr(SyncToAsync.threadlocal, "main_event_loop", loop, raising=False)
    monkeypatch.setattr(SyncToAsync.threadlocal, "main_event_loop_pid", os.getpid(), raising=False)
    try:
        with caplog.at_level(logging.WARNING, logger="hub.services.realtime"):
            realtime.push(["hub.team.116"], {"type": "hub.event"})
    finally:
        release.set()
        runner.join(5)
        loop.run_until_complete(asyncio.sleep(0))  # the given-up push is cancelled, not leaked
        loop.close()
    assert "timed out" in caplog.text


def _agent_cookie() -> tuple[int, bytes]:
    agent, team = UserFactory(), TeamFactory()
    team.members.add(agent)
    client = Client()
    client.force_login(agent)
    return team.pk, f"sessionid={client.cookies['sessionid'].value}".encode()


async def _agent_socket(cookie: bytes) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _event(team_id: int, n: int) -> dict:
    return {"type": "hub.event", "event": "test", "conversation_id": n, "team_id": team_id,
            "data": {"n": n}}  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_agents_socket_gets_pushes_of_sync_to_async_threads_and_of_plain_threads(senders):
    team_id, cookie = await sync_to_async(_agent_cookie)()
    communicator = await _agent_socket(cookie)
    group = realtime.team_group(team_id)
    try:
        await sync_to_async(realtime.push)([group], _event(team_id, 1))  # as a request would
        assert senders == []
        worker = threading.Thread(target=realtime.push, args=([group], _event(team_id, 2)))
        worker.start()  # as a Celery task would
        await asyncio.get_running_loop().run_in_executor(None, worker.join)
        assert len(senders) == 1
        frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        assert [frame["data"]["n"] for frame in frames] == [1, 2]
    finally:
        await communicator.disconnect()
