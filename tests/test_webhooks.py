"""Outgoing webhooks: events, HMAC-SHA256 signature over the body, retries, delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from hub.models import WebhookDelivery, WebhookSubscription
from hub.services import assign, ingest, resolve
from hub.services import webhooks as hooks
from hub.tasks import deliver_webhook, requeue_stalled_deliveries
from tests.factories import inbound

pytestmark = pytest.mark.django_db
URL = "https://integrator.example/hub-events"


def test_signature_is_hmac_sha256_of_the_exact_body():
    body = b'{"a":1,"text":"perch\\u00e9"}'
    expected = hmac.new(b"topsecret", body, hashlib.sha256).hexdigest()
    assert hooks.sign("topsecret", body) == f"sha256={expected}"
    assert hooks.verify("topsecret", body, f"sha256={expected}")
    assert not hooks.verify("topsecret", body + b" ", f"sha256={expected}")
    assert not hooks.verify("other", body, f"sha256={expected}")
    assert not hooks.verify("topsecret", body, "")


def test_events_are_delivered_signed(api_endpoint, http_mock, on_commit):
    subscription = WebhookSubscription.objects.create(url=URL, secret="k1")
    http_mock.post(URL, status=200)
    with on_commit():
        message = ingest(inbound(api_endpoint, "cust-1", text="Ciao, perché?"))
    assert len(http_mock.calls) == 2
    events = {}
    for call in http_mock.calls:
        request = call.request
        assert request.headers["X-Hub-Signature-256"] == hooks.sign(
            subscription.secret, request.body
        )
        body = json.loads(request.body)
        assert request.headers["X-Hub-Event"] == body["type"]
        assert request.headers["X-Hub-Delivery"] == body["id"]
        events[body["type"]] = body["data"]
    assert events["message.created"]["id"] == message.pk
    assert events["message.created"]["text"] == "Ciao, perché?"
    assert events["conversation.created"]["id"] == message.conversation_id
    log = WebhookDelivery.objects.filter(subscription=subscription)
    assert {d.status for d in log} == {"succeeded"} and {d.response_status for d in log} == {200}


def test_subscription_receives_only_the_events_it_asked_for(
    api_endpoint, agent, http_mock, on_commit
):
    WebhookSubscription.objects.create(url=URL, events=["conversation.updated"])
    WebhookSubscription.objects.create(url=URL + "/off", is_active=False)
    http_mock.post(URL, status=204)
    with on_commit():
        conversation = ingest(inbound(api_endpoint, "cust-1")).conversation
        assign(conversation, assignee=agent)
        resolve(conversation)
    kinds = [json.loads(c.request.body)["type"] for c in http_mock.calls]
    assert kinds == ["conversation.updated", "conversation.updated"]
    changes = [json.loads(c.request.body)["data"]["changes"] for c in http_mock.calls]
    assert changes[0] == {"assignee_id": [None, agent.pk]}
    assert changes[1] == {"status": ["open", "resolved"]}


def test_failed_delivery_is_recorded_and_retryable(api_endpoint, http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    ingest(inbound(api_endpoint, "cust-1"))  # no commit: the tasks did not run
    delivery = WebhookDelivery.objects.filter(subscription=subscription).first()
    http_mock.post(URL, status=500, body="oops")
    with pytest.raises(hooks.WebhookFailed):
        hooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.response_status == 500 and delivery.last_error == "HTTP 500"
    http_mock.replace("POST", URL, status=200)
    hooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2
    # Delivering a succeeded row again is a no-op (duplicate task).
    hooks.deliver(delivery.pk)
    assert len(http_mock.calls) == 2


def test_connection_errors_are_retryable_and_give_up_marks_failed(api_endpoint):
    WebhookSubscription.objects.create(url="https://unreachable.example/hook")
    ingest(inbound(api_endpoint, "cust-1"))
    delivery = WebhookDelivery.objects.first()
    with pytest.raises(hooks.WebhookFailed):
        hooks.deliver(delivery.pk)  # the HTTP mock refuses unknown hosts: a connection error
    delivery.refresh_from_db()
    assert "ConnectionError" in delivery.last_error
    hooks.give_up(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_lost_webhook_tasks_are_requeued_once_per_interval(api_endpoint, http_mock, settings):
    WebhookSubscription.objects.create(url=URL)
    ingest(inbound(api_endpoint, "cust-1"))  # no commit: the delivery tasks never ran
    after = settings.HUB["STALLED_DELIVERY_AFTER"]
    assert hooks.pending_stalled(after) == []  # not overdue yet
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - after - timedelta(seconds=1))
    stalled = hooks.pending_stalled(after)
    assert len(stalled) == 2
    # Claimed: a second sweep in the same interval does not queue the same rows again.
    assert hooks.pending_stalled(after) == []

    # A failed attempt schedules its retry; the sweep leaves it to the worker's own retry.
    http_mock.post(URL, status=503)
    with pytest.raises(Retry):
        deliver_webhook.apply(args=[stalled[0]], throw=True)
    delivery = WebhookDelivery.objects.get(pk=stalled[0])
    assert delivery.next_attempt_at > timezone.now()
    WebhookDelivery.objects.exclude(pk=stalled[0]).update(
        next_attempt_at=timezone.now() - after - timedelta(seconds=1)
    )
    http_mock.replace("POST", URL, status=200)
    assert requeue_stalled_deliveries.apply().result == 1
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        "pending",
        "succeeded",
    }
