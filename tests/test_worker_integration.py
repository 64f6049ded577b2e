"""The outbox with a real Celery worker process and the real broker (Redis): a reply is stored,
the worker delivers it, a provider failure is retried with backoff, and webhooks go out signed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from hub.models import Message, WebhookDelivery, WebhookSubscription
from hub.services import ingest, send_reply
from hub.services.webhooks import verify
from tests.factories import EndpointFactory, TeamFactory, inbound
from tests.live import route_to_queues, test_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROOT = Path(__file__).resolve().parent.parent


class Receiver(BaseHTTPRequestHandler):
    """An integrator's server: answers 503 to the first reply, then 200."""

    calls: list = []
    fail_first = 1

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((self.path, dict(self.headers), body))
        if self.path == "/slow-events":  # an integrator's receiver taking its time
            time.sleep(0.25)
        if self.path == "/replies" and type(self).fail_first:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.path == "/replies" and not type(self).fail_first:
            self.wfile.write(b'{"id": "ext-1"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.calls, Receiver.fail_first = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def worker(request, tmp_path):
    """A real Celery worker process consuming all the hub's queues, named with a prefix of this
    test's own. Parametrized indirectly with "beat", a real ``celery beat`` process runs beside
    it, sweeping every second."""
    from config.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    worker_queues = route_to_queues(queue)
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "HUB_CELERY_QUEUE": queue,
        "HUB_DELIVERY_BACKOFF_BASE": "1",
        "HUB_SLA_SWEEP_SECONDS": "1",
        "PYTHONPATH": str(ROOT),
    }
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    processes = [
        subprocess.Popen(
            [
                *celery,
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                worker_queues,
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    ]
    if getattr(request, "param", None) == "beat":
        processes.append(
            subprocess.Popen(
                [*celery, "beat", "--loglevel=INFO", "--schedule", str(tmp_path / "schedule")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    yield processes[0]
    for process in reversed(processes):
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    route_to_queues(None)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_delivers_retries_and_signs(worker, receiver):
    endpoint = EndpointFactory(
        team=TeamFactory(),
        settings={"delivery_url": f"{receiver}/replies", "signing_secret": "reply-secret"},
    )
    WebhookSubscription.objects.create(
        url=f"{receiver}/events", secret="event-secret", events=["message.created"]
    )
    conversation = ingest(inbound(endpoint, "cust-1", text="Quando arriva?")).conversation
    reply = send_reply(conversation, text="Domani mattina.")

    def delivered():
        return Message.objects.get(pk=reply.pk).delivery_status == "delivered"

    ok = wait_for(delivered)
    if not ok:
        worker.terminate()
        pytest.fail(
            "worker did not deliver; its log:\n" + worker.communicate(timeout=10)[0][-4000:]
        )
    reply.refresh_from_db()
    assert reply.delivery_attempts == 2  # 503 first, then accepted
    assert reply.provider_message_id == "ext-1"
    reply_calls = [c for c in Receiver.calls if c[0] == "/replies"]
    assert len(reply_calls) == 2
    assert {c[1]["Idempotency-Key"] for c in reply_calls} == {str(reply.idempotency_key)}
    assert verify("reply-secret", reply_calls[-1][2], reply_calls[-1][1]["X-Hub-Signature-256"])

    assert wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 2)
    events = [c for c in Receiver.calls if c[0] == "/events"]
    texts = sorted(json.loads(body)["data"]["text"] for _, _, body in events)
    assert texts == ["Domani mattina.", "Quando arriva?"]
    for _, headers, body in events:
        assert verify("event-secret", body, headers["X-Hub-Signature-256"])


@pytest.mark.parametrize("worker", ["beat"], indirect=True)
def test_beat_and_worker_breach_a_due_conversation_within_seconds(worker):
    from datetime import timedelta

    from django.utils import timezone

    from hub.models import Conversation, TtlPolicy

    endpoint = EndpointFactory(team=TeamFactory(), channel="sms", address="+390299999999")
    TtlPolicy.objects.create(
        channel="sms", endpoint=endpoint, first_response=timedelta(seconds=3), warning_percent=50
    )
    conversation = ingest(inbound(endpoint, "+393470000001", text="Urgent!")).conversation
    assert conversation.due_at is not None

    def breached():
        return Message.objects.filter(conversation=conversation, event_type="sla_breached").exists()

    if not wait_for(breached, timeout=40):
        worker.terminate()
        pytest.fail("no breach recorded; worker log:\n" + worker.communicate(timeout=10)[0][-8000:])
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert Message.objects.filter(conversation=conversation, event_type="sla_warning").count() == 1
    lag = conversation.breached_at - conversation.due_at
    assert timedelta(0) <= lag < timedelta(seconds=5), lag
    assert conversation.priority == 1
    assert conversation.breached_at <= timezone.now()


def test_a_flood_of_webhooks_does_not_hold_up_a_reply(worker, receiver):
    """Many webhook deliveries queued before a reply, one worker process: the reply goes out
    while most of them still wait (each task kind has its queue, taken in turn). With one
    queue for everything it would wait behind all of them."""
    from hub.models import WebhookDelivery
    from hub.tasks import deliver_webhook

    Receiver.fail_first = 0
    endpoint = EndpointFactory(
        team=TeamFactory(), settings={"delivery_url": f"{receiver}/replies"}
    )
    conversation = ingest(inbound(endpoint, "cust-1", text="Dove è il mio ordine?")).conversation
    subscription = WebhookSubscription.objects.create(
        url=f"{receiver}/slow-events", events=["conversation.updated"]
    )
    flood = 60  # 15 s of work for the receiver
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=subscription, event_type="conversation.updated", payload={})
        for _ in range(flood)
    )
    for delivery in deliveries:
        deliver_webhook.delay(delivery.pk)
    # The worker is at the flood before the reply is queued.
    if not wait_for(lambda: any(c[0] == "/slow-events" for c in Receiver.calls)):
        worker.terminate()
        log = worker.communicate(timeout=10)[0][-4000:]
        pytest.fail("no webhook delivered; worker log:\n" + log)
    reply = send_reply(conversation, text="In consegna oggi.")

    def delivered():
        return Message.objects.get(pk=reply.pk).delivery_status == "delivered"

    assert wait_for(delivered, timeout=10), "the reply waited behind the webhooks"
    pending = WebhookDelivery.objects.filter(subscription=subscription, status="pending").count()
    assert pending >= flood // 2, pending
