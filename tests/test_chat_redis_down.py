"""The widget's HTTP API while Redis (cache: presence, typing flags) is unreachable: 503 with
Retry-After, a retryable answer, never a 500. The cache is pointed at a local port nobody listens
on, so redis-py's own connection fails (no mock of the hub's code)."""

from __future__ import annotations

import json
import socket

import pytest
from django.test import Client

from tests.chat_helpers import chat_endpoint, visitor

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "KEY_PREFIX": "hub",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }


def call(path: str, body: dict):
    return Client(raise_request_exception=False).post(
        f"/chat/api/{path}/", json.dumps(body), content_type="text/plain;charset=UTF-8"
    )


@pytest.mark.parametrize("path", ["session", "sync", "send"])
def test_chat_api_answers_503_retry_after_while_redis_is_down(path, redis_down):
    endpoint = chat_endpoint()
    token, _ = visitor(endpoint)
    body = {"endpoint": endpoint.public_key, "token": token, "text": "ciao", "client_id": "c-1"}
    response = call(path, body)
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"] == "try_again"
