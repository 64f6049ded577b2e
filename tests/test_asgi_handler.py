"""The HTTP side of ``config.asgi``: the middleware chain and the view in one thread hop.

``channels.testing.HttpCommunicator`` drives ``config.asgi.application`` as uvicorn does.
Django's stock handler crosses between the event loop and a thread at every middleware that
can run both ways and around the view; ours crosses once for all of them.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from rest_framework.authtoken.models import Token

from config.asgi import application, django_asgi_app
from config.handlers import SyncChainASGIHandler
from hub.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _request(app, method: str, path: str, body: bytes = b"", headers=()) -> HttpCommunicator:
    length = [(b"content-length", str(len(body)).encode())] if body else []
    return HttpCommunicator(
        app, method, path, body=body, headers=[(b"host", b"testserver"), *length, *headers]
    )


def _headers(response) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in response["headers"]}


@pytest.fixture
def thread_hops(monkeypatch) -> list[str]:
    """The names of the sync callables run through ``sync_to_async`` while the test runs."""
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return hops


async def test_a_request_crosses_into_a_thread_once_for_middleware_and_view(thread_hops):
    assert isinstance(django_asgi_app, SyncChainASGIHandler)
    request = _request(application, "GET", "/app/login/")
    assert (await request.get_response(timeout=10))["status"] == 200
    await request.wait(timeout=10)  # response.close() runs after the body is sent
    # request_started receivers, then the middleware chain with the view, then response.close().
    assert len(thread_hops) == 3, thread_hops

    thread_hops.clear()
    request = _request(ASGIHandler(), "GET", "/app/login/")
    assert (await request.get_response(timeout=10))["status"] == 200
    await request.wait(timeout=10)
    assert len(thread_hops) >= 6, thread_hops  # Django's stock handler, same request


async def test_every_middleware_still_applies():
    response = await _request(application, "GET", "/app/login/").get_response(timeout=10)
    headers = _headers(response)
    assert headers[b"x-frame-options"] == b"DENY"  # XFrameOptionsMiddleware
    assert b"csrftoken=" in headers[b"set-cookie"]  # CsrfViewMiddleware's response side
    assert headers[b"content-language"] == b"en"  # LocaleMiddleware

    italian = _request(application, "GET", "/app/login/", headers=[(b"accept-language", b"it")])
    assert _headers(await italian.get_response(timeout=10))[b"content-language"] == b"it"

    # CsrfViewMiddleware.process_view: a form post without the token is refused.
    post = _request(
        application,
        "POST",
        "/app/login/",
        body=b"username=a&password=b",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert (await post.get_response(timeout=10))["status"] == 403


async def test_an_api_write_goes_through_and_commits(agent, api_endpoint):
    token = await sync_to_async(Token.objects.create)(user=agent)
    body = {
        "endpoint": api_endpoint.pk,
        "sender": {"kind": "api", "address": "asgi-handler-1"},
        "text": "Perché la fattura è doppia?",
        "provider_message_id": "asgi-1",
    }
    response = await _request(
        application,
        "POST",
        "/api/v1/inbound/",
        body=json.dumps(body).encode(),
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", f"Token {token.key}".encode()),
        ],
    ).get_response(timeout=10)
    assert response["status"] == 201, response["body"]
    stored = await sync_to_async(Message.objects.get)(provider_message_id="asgi-1")
    assert stored.text == "Perché la fattura è doppia?"
    assert json.loads(response["body"])["message"]["id"] == stored.pk


@pytest.fixture
def request_threads():
    """The thread each request's sync code ran in (a ``request_started`` receiver runs there),
    after an optional pause that keeps concurrent requests overlapping."""
    import threading
    import time

    from django.core.signals import request_started

    seen: list[int] = []
    pause = {"seconds": 0.0}

    def receiver(**kwargs):
        seen.append(threading.get_ident())
        time.sleep(pause["seconds"])

    request_started.connect(receiver, dispatch_uid="test-request-threads")
    yield seen, pause
    request_started.disconnect(dispatch_uid="test-request-threads")


async def _get(app, path: str = "/app/login/") -> int:
    request = _request(app, "GET", path)
    status = (await request.get_response(timeout=10))["status"]
    await request.wait(timeout=10)
    return status


async def test_requests_one_after_another_reuse_one_thread(request_threads):
    seen, _ = request_threads
    app = SyncChainASGIHandler()
    for _ in range(4):
        assert await _get(app) == 200
    assert len(seen) == 4 and len(set(seen)) == 1
    assert len(app._idle) == 1


async def test_concurrent_requests_each_get_a_thread_of_their_own(request_threads):
    import asyncio

    seen, pause = request_threads
    pause["seconds"] = 0.3
    app = SyncChainASGIHandler()
    assert await asyncio.gather(_get(app), _get(app), _get(app)) == [200, 200, 200]
    threads = set(seen)
    assert len(threads) == 3
    assert len(app._idle) == 3  # all three kept for the next requests
    seen.clear()
    pause["seconds"] = 0.0
    assert await _get(app) == 200
    assert len(app._idle) == 3 and seen[0] in threads


async def test_a_failed_request_does_not_give_its_thread_back(monkeypatch):
    app = SyncChainASGIHandler()
    assert await _get(app) == 200
    (kept,) = app._idle

    async def broken(scope, receive, send):
        raise RuntimeError("the handler failed")

    monkeypatch.setattr(app, "handle", broken)
    with pytest.raises(RuntimeError):
        await app({"type": "http"}, None, None)
    assert app._idle == []
    assert kept._shutdown  # its thread ends instead of serving another request


async def test_idle_threads_are_capped(monkeypatch, request_threads):
    import asyncio

    from config import handlers

    seen, pause = request_threads
    pause["seconds"] = 0.3
    monkeypatch.setattr(handlers, "IDLE_THREADS_MAX", 2)
    app = SyncChainASGIHandler()
    assert await asyncio.gather(*[_get(app) for _ in range(4)]) == [200] * 4
    assert len(set(seen)) == 4  # four at once: four threads
    assert len(app._idle) == 2  # two kept, two shut down
