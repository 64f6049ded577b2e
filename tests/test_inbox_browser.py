"""The agent UI in a real browser (Playwright driving Debian's Chromium) against a real ASGI server
(uvicorn: HTTP and the agents' WebSocket) on loopback, sharing the test database and Redis.

Scenario: log in, open a conversation, reply, see the reply on the timeline; reply on another
channel (a handoff); a message from the contact on that channel, ingested here in the test
process, appears live without a reload; a new conversation appears in the inbox live; after the
socket drops, a message sent while it was down appears once it reconnects. Screenshots go to
test-output/inbox/ (gitignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from crm import services as crm_services
from hub.models import Conversation, Message
from hub.services import ingest
from tests.factories import EndpointFactory, TeamFactory, UserFactory, inbound
from tests.live import CHROMIUM_ARGS, free_port, test_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "inbox"
PASSWORD = "pw-browser-123"


@pytest.fixture
def server(transactional_db, tmp_path):
    """uvicorn serving config.asgi on a free loopback port, on the test database and Redis."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "1",  # replies are delivered (to the local outbox) in-process
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "info" if os.environ.get("INBOX_BROWSER_DEBUG") else "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/app/login/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start:\n{(tmp_path / 'server.log').read_text()}")
        time.sleep(0.2)
    yield base
    if os.environ.get("INBOX_BROWSER_DEBUG"):
        print((tmp_path / "server.log").read_text())
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def page(server, chromium, monkeypatch, tmp_path):
    """A Chromium page. Playwright stops before the server and the database are torn down: the
    ORM is called from the test while Playwright's sync API holds an event loop, which Django
    allows only with DJANGO_ALLOW_ASYNC_UNSAFE (set for this test only)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser tests need the `playwright` package: pip install -e '.[dev]'")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 820}, locale="en-GB")
        context.set_default_timeout(15_000)
        page = context.new_page()
        if os.environ.get("INBOX_BROWSER_DEBUG"):
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: print("WS", f)))
            page.on("request", lambda r: print(r.method, r.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 500 else None
            ),
        )
        yield page
        browser.close()
        # ORM calls made under Playwright's loop ran in their own context, with their own
        # connection: close it, or PostgreSQL cannot drop the test database at the end.
        connections.close_all()
    log = tmp_path / "server.log"
    assert not errors, (errors, log.read_text() if log.exists() else "")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _arrives(message):
    """Ingest ``message`` as a channel webhook would, in a thread of its own: this thread runs
    Playwright's event loop, where the synchronous realtime push after commit cannot run (the
    agent's page would then only see the message after a reconnect)."""

    def run():
        try:
            return ingest(message)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def test_agent_replies_and_sees_messages_arrive_live(server, page):
    team = TeamFactory(name="Support")
    agent = UserFactory(username="giulia", first_name="Giulia", password=PASSWORD)
    team.members.add(agent)
    email = EndpointFactory(team=team, channel="email", address="support@shop.example")
    sms = EndpointFactory(team=team, channel="sms", address="+390212345678")
    chat = EndpointFactory(team=team, channel="chat", address="website")
    crm_services.create_contact(
        name="Anna Bianchi",
        identities=[
            {"kind": "email", "value": "anna@example.com"},
            {"kind": "phone", "value": "+393331234567"},
        ],
    )
    conversation = ingest(
        inbound(
            email,
            "anna@example.com",
            text="The lamp arrived broken.",
            subject="Order #1042",
            provider_message_id="b1@example.com",
        )
    ).conversation

    # log in
    page.goto(f"{server}/app/")
    page.fill("#id_username", "giulia")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live[data-state=live]")
    _shot(page, "01-inbox")

    # open the conversation
    page.click(f"#row-{conversation.pk} a.row-link")
    page.wait_for_selector("#conversation")
    page.wait_for_selector("#timeline >> text=The lamp arrived broken.")
    page.evaluate("window.__notReloaded = true")
    _shot(page, "02-conversation")

    # reply on the conversation's channel (email)
    page.fill("#composer-text", "Sorry, Anna! A new lamp leaves today.")
    page.click("#composer-submit")
    reply = page.wait_for_selector("#timeline .dir-out >> text=A new lamp leaves today.")
    assert "Email" in reply.evaluate("el => el.closest('li').innerText")
    page.wait_for_function("document.querySelector('#composer-text').value === ''")
    # delivered by the (eager) worker: the message.updated push refreshes its status
    page.wait_for_selector("#timeline .dir-out:has-text('A new lamp') .ds-sent")
    _shot(page, "03-replied")

    # reply on another channel: the composer shows SMS rules, sending hands off first
    page.select_option("#composer-channel", "sms")
    page.fill("#composer-text", "I'll text you the tracking number.")
    page.wait_for_selector("#notices [data-code=sms_segments]")
    assert "hands the conversation off to SMS" in page.inner_text("#notices")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#timeline [data-event=handoff]")
    page.wait_for_selector("#timeline .dir-out >> text=tracking number")
    page.wait_for_selector("#conv-header .badge.ch-sms")
    conversation.refresh_from_db()
    assert conversation.channel == "sms"

    # the contact answers by SMS (ingested here): it appears live, without a reload
    _arrives(inbound(sms, "+393331234567", text="Great, thanks!", provider_message_id="sms-1"))
    page.wait_for_selector("#timeline >> text=Great, thanks!")
    assert page.evaluate("window.__notReloaded") is True
    _shot(page, "04-sms-arrived-live")

    # a new conversation from someone else appears in the inbox live
    new = _arrives(inbound(chat, "visitor-42", text="Do you ship to Switzerland?")).conversation
    page.wait_for_selector(f"#row-{new.pk} >> text=Do you ship to Switzerland?")

    # the socket drops; what arrives meanwhile shows up after the reconnect
    page.evaluate("window.inboxUI.socket().close()")
    page.wait_for_selector("#live[data-state=offline]")
    _arrives(
        inbound(sms, "+393331234567", text="Are you still there?", provider_message_id="sms-2")
    )
    page.wait_for_selector("#live[data-state=live]")
    page.wait_for_selector("#timeline >> text=Are you still there?")
    assert page.evaluate("window.__notReloaded") is True
    _shot(page, "05-after-reconnect")

    # keyboard: "e" resolves the open conversation
    page.locator("#timeline").click(position={"x": 5, "y": 5})
    page.keyboard.press("e")
    page.wait_for_selector("#conv-status >> text=Resolved")
    assert Conversation.objects.get(pk=conversation.pk).status == "resolved"
    texts = list(
        Message.objects.filter(conversation=conversation, direction="out")
        .order_by("id")
        .values_list("channel", "text")
    )
    assert texts == [
        ("email", "Sorry, Anna! A new lamp leaves today."),
        ("sms", "I'll text you the tracking number."),
    ]

    # keyboard: "?" shows the shortcuts, Escape closes them, "j" opens the next conversation
    page.keyboard.press("?")
    page.wait_for_selector("#help:not([hidden])")
    _shot(page, "06-shortcuts")
    page.keyboard.press("Escape")
    page.wait_for_selector("#help", state="hidden")
    page.wait_for_selector(f"#row-{conversation.pk}", state="detached")  # resolved: not "open"
    page.keyboard.press("j")
    page.wait_for_selector(f"#conversation[data-id='{new.pk}']")
    assert page.url.endswith(f"/app/c/{new.pk}/")

    # a phone-sized screen shows one pane at a time
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.is_hidden("#inbox")
    _shot(page, "07-phone")
