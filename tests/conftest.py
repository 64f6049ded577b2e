"""Test set-up: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI), SQLite and
the embedded redis-server otherwise. Celery runs tasks eagerly unless a test starts a worker."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from django.conf import settings

from config import embedded_redis


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session", autouse=True)
def redis_server(tmp_path_factory):
    """With no REDIS_URL, an embedded redis-server of this test run (settings picked its port)."""
    if not settings.EMBEDDED_REDIS:
        yield settings.REDIS_URL
        return
    proc = subprocess.Popen(
        embedded_redis.command(tmp_path_factory.mktemp("redis")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if _port_open(embedded_redis.port()):
            break
        time.sleep(0.05)
    yield settings.REDIS_URL
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def _close_the_async_tests_connection(request):
    """Async tests run their database work through ``sync_to_async`` in asgiref's one thread,
    whose connection nothing closes (a request or a socket's handler would): closed at the end,
    before the test database is dropped, which an open session would stop. (Set up after the
    test database, so torn down before it; only when some selected test uses it.)"""
    if not any("django_db_setup" in item.fixturenames for item in request.session.items):
        yield
        return
    request.getfixturevalue("django_db_setup")
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A channel layer per test: channels_redis keeps asyncio locks bound to the event loop
    that first waited on them, and every async test runs in a loop of its own."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """Each test's database is rolled back, so the process-local config cache must be too."""
    from hub import config_cache

    config_cache.clear()
    yield
    config_cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "hub.mail.LocalOutboxEmailBackend"
    # The chat's per-address limits count in the shared Redis cache per minute, and every test
    # client is one address: off, or the suite's own sessions (and another run's a moment ago)
    # would trip them. Tests of the limits set theirs.
    settings.HUB_CHAT = {
        **getattr(settings, "HUB_CHAT", {}),
        "CONNECTS_PER_MINUTE_PER_IP": 0,
        "REQUESTS_PER_MINUTE_PER_IP": 0,
        "SESSIONS_PER_MINUTE_PER_IP": 0,
    }
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def http_mock():
    """Fake providers' HTTP APIs at the boundary: an unregistered URL raises ConnectionError, so
    no test reaches the network by accident. Tests register the responses they expect."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.add_passthru("http://localhost")
        yield mock


@pytest.fixture
def team(db):
    from tests.factories import TeamFactory

    return TeamFactory()


@pytest.fixture
def agent(team):
    from tests.factories import UserFactory

    user = UserFactory()
    team.members.add(user)
    return user


@pytest.fixture
def api_endpoint(team):
    from tests.factories import EndpointFactory

    return EndpointFactory(team=team)


@pytest.fixture
def endpoint_for(team):
    """``endpoint_for("sms")`` -> an endpoint of that channel in the agent's team."""
    from tests.factories import EndpointFactory

    addresses = {
        "email": "support@shop.example",
        "sms": "+390212345678",
        "whatsapp": "+390212345679",
        "chat": "website",
        "api": "integrations",
    }

    def make(channel: str, **kwargs):
        kwargs.setdefault("address", addresses[channel])
        return EndpointFactory(channel=channel, team=team, **kwargs)

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run ``transaction.on_commit`` callbacks of the block, as a real commit would."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium for the browser tests; a clear failure, not a skip, when it cannot be
    installed."""
    from tests.live import CHROMIUM, ensure_chromium

    path = ensure_chromium()
    if path is None:
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM} and could not install it "
            "(`apt-get install -y chromium` failed). Install it and run the tests again."
        )
    return path
