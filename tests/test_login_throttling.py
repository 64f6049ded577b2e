"""Login throttling (django-axes): five wrong passwords for a username from one address lock
that pair out for 15 minutes, on the agent UI's and the admin's login pages alike; a success
before the limit resets the count. The API's token auth is not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "right-horse-battery-9"
LOGIN_PAGES = {"agent UI": "/app/login/", "admin": "/admin/login/"}


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff():
    user = UserFactory(username="anna", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client: Client, url: str, password: str, **extra):
    return client.post(url, {"username": "anna", "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGIN_PAGES.values(), ids=LOGIN_PAGES.keys())
def test_five_wrong_passwords_lock_out_the_right_one(staff, url):
    client = Client()
    for _ in range(5):
        assert _login(client, url, "wrong").status_code in (200, 429)
        assert not _logged_in(client)
    response = _login(client, url, PASSWORD)
    assert response.status_code == 429
    assert not _logged_in(client)
    assert b"Too many failed login attempts" in response.content
    # Another address is not locked out by this one's failures.
    other = Client(REMOTE_ADDR="203.0.113.9")
    assert _login(other, url, PASSWORD).status_code == 302 and _logged_in(other)


def test_the_lockout_ends_after_15_minutes(staff):
    client = Client()
    for _ in range(5):
        _login(client, "/app/login/", "wrong")
    assert _login(client, "/app/login/", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _login(client, "/app/login/", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_a_success_resets_the_count(staff):
    client = Client()
    for _ in range(4):
        _login(client, "/app/login/", "wrong")
    assert _login(client, "/app/login/", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "/app/login/", "wrong")
    assert _login(client, "/app/login/", PASSWORD).status_code == 302


def test_the_lockout_page_is_translated(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="it")
    for _ in range(5):
        _login(client, "/app/login/", "sbagliata")
    response = _login(client, "/app/login/", PASSWORD)
    assert response.status_code == 429
    assert "Troppi tentativi di accesso falliti" in response.content.decode()
    assert "bloccato per 15 minuti" in response.content.decode()


def test_token_auth_is_not_throttled(staff):
    client = Client()
    for _ in range(6):
        _login(client, "/app/login/", "wrong")
    token = Token.objects.create(user=staff)
    response = client.get("/api/v1/endpoints/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
