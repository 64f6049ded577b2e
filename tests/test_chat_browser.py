"""The live chat in a real browser: Debian's Chromium (driven by Playwright) opens the demo page
served by uvicorn, the visitor writes in the widget, an agent answers through the REST API, a real
Celery worker delivers the reply over the channel layer, and it appears in the widget; a reply
with a file appears as a download link that opens the file; the visitor sends a file back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from hub.models import Message
from tests.factories import EndpointFactory, TeamFactory, UserFactory
from tests.live import CHROMIUM_ARGS, free_port, route_to_queues, test_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROOT = Path(__file__).resolve().parent.parent


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def hub_server(tmp_path):
    """uvicorn (the product's ASGI app) and a Celery worker on their own queue, against the test
    database and Redis."""
    from config.celery import app

    port = free_port()
    queue = f"test-chat-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    worker_queues = route_to_queues(queue)
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "HUB_CELERY_QUEUE": queue,
        "PYTHONPATH": str(ROOT),
        "HUB_CHAT_CONNECTS_PER_MINUTE_PER_IP": "0",
        "HUB_CHAT_REQUESTS_PER_MINUTE_PER_IP": "0",
        "HUB_CHAT_SESSIONS_PER_MINUTE_PER_IP": "0",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--lifespan", "off", "--no-access-log"],
            cwd=ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "--loglevel=INFO", "-Q", worker_queues, "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert _wait_for(up, timeout=30), (tmp_path / "web.log").read_text()[-3000:]
        yield base, {name: tmp_path / f"{name}.log" for name in logs}
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for handle in logs.values():
            handle.close()
        route_to_queues(None)


def test_visitor_writes_agent_answers_through_the_api_and_the_widget_shows_it(
    chromium, hub_server, monkeypatch
):
    from playwright import sync_api  # a dev dependency: missing it is an error, not a skip
    from rest_framework.authtoken.models import Token

    # Playwright's sync API keeps an event loop; the ORM calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base, logs = hub_server
    team = TeamFactory()
    agent = UserFactory(first_name="Giulia")
    team.members.add(agent)
    token = Token.objects.create(user=agent).key
    EndpointFactory(
        team=team,
        channel="chat",
        address="website",
        name="Website chat",
        settings={"email_continuity": False},
    )
    question = "Hello, do you ship to Zurich?"
    answer = "Yes, within 3 days. <b>Not bold</b>"
    output = ROOT / "test-output"
    output.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 720})
            page.goto(f"{base}/chat/demo/")
            page.get_by_role("button", name="Chat with us").click()
            box = page.get_by_role("textbox", name="Message", exact=True)
            box.fill(question)
            box.press("Enter")

            def stored():
                return Message.objects.filter(text=question, direction="in").first()

            assert _wait_for(stored), logs["web"].read_text()[-3000:]
            conversation_id = stored().conversation_id
            response = requests.post(
                f"{base}/api/v1/conversations/{conversation_id}/reply/",
                json={"text": answer},
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
            assert response.status_code == 201, response.text
            reply = page.locator(".m.out .text", has_text="Yes, within 3 days.")
            try:
                sync_api.expect(reply).to_have_text(answer, timeout=20_000)
            except AssertionError:
                page.screenshot(path=str(output / "chat-widget-failed.png"))
                raise AssertionError(
                    "reply not shown; worker log:\n" + logs["worker"].read_text()[-3000:]
                ) from None
            assert page.locator(".m.out b").count() == 0  # text, never HTML

            # A reply with a file: a download link named by its text, which opens the file.
            pdf = b"%PDF-1.4\n% listino\n%%EOF\n"
            name = "listino <img src=x onerror=alert(1)>.pdf"
            response = requests.post(
                f"{base}/api/v1/conversations/{conversation_id}/reply/",
                data={"text": "Ecco il listino"},
                files={"attachments": (name, pdf, "application/pdf")},
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
            assert response.status_code == 201, response.text
            link = page.locator(".m.out a.file")
            sync_api.expect(link).to_contain_text(name, timeout=20_000)
            assert page.locator(".m.out img").count() == 0  # the name is text, never HTML
            download = page.request.get(link.get_attribute("href"))
            assert download.status == 200 and download.body() == pdf
            assert download.headers["content-disposition"].startswith("attachment")

            # The visitor sends a file: the paper clip opens the picker, the file is uploaded,
            # stored as their message with the attachment, and linked in their own bubble.
            receipt = b"%PDF-1.4\n% ricevuta\n%%EOF\n"
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name="Attach a file").click()
            chooser.value.set_files(
                files=[{"name": "ricevuta.pdf", "mimeType": "application/pdf", "buffer": receipt}]
            )
            own = page.locator(".m.in a.file")
            sync_api.expect(own).to_contain_text("ricevuta.pdf", timeout=20_000)
            uploaded = Message.objects.get(attachments__filename="ricevuta.pdf")
            assert uploaded.direction == "in" and uploaded.conversation_id == conversation_id
            assert uploaded.attachments.get().file.read() == receipt
            assert page.request.get(own.get_attribute("href")).body() == receipt
            page.screenshot(path=str(output / "chat-widget.png"))
        finally:
            browser.close()
    # The open widget reported the reply seen.
    seen = _wait_for(lambda: Message.objects.get(text=answer).delivery_status == "read", 10)
    assert seen, logs["web"].read_text()[-3000:]
