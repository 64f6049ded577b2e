"""Outgoing webhooks never hurt the hub: an inbound message does not fail because of a
subscription (deleted while another process's cache still lists it), and a subscription whose
receiver keeps failing is disabled instead of growing an unbounded backlog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from hub import config_cache
from hub.models import Message, WebhookDelivery, WebhookSubscription
from hub.services import webhooks as hooks
from hub.tasks import deliver_webhook
from tests.api_helpers import client_for

URL = "https://integrator.example/hub-events"


def _active_subscriptions():
    """The per-process cache of subscriptions, as ``emit`` reads it."""
    return config_cache.cached(
        "webhook_subscriptions", lambda: list(WebhookSubscription.objects.filter(is_active=True))
    )


@pytest.mark.django_db(transaction=True)
def test_inbound_is_stored_when_a_cached_subscription_was_deleted_elsewhere(
    agent, api_endpoint, http_mock
):
    subscription = WebhookSubscription.objects.create(url=URL)
    config_cache.clear()
    assert [s.pk for s in _active_subscriptions()] == [subscription.pk]
    # Deleted by another process: no signal reaches this one, whose cache still lists it.
    with connection.cursor() as cursor:
        table = WebhookSubscription._meta.db_table
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [subscription.pk])
    assert [s.pk for s in _active_subscriptions()] == [subscription.pk]

    response = client_for(agent).post(
        "/api/v1/inbound/",
        {"endpoint": api_endpoint.pk, "sender": {"address": "cust-1"}, "text": "still here?"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Message.objects.filter(text="still here?").exists()
    # The rows written for the vanished subscription were dropped by their tasks, unsent.
    assert not WebhookDelivery.objects.exists()
    assert len(http_mock.calls) == 0


@pytest.mark.django_db
def test_deleting_a_subscription_clears_this_processes_cache(api_endpoint):
    subscription = WebhookSubscription.objects.create(url=URL)
    assert _active_subscriptions()
    subscription.delete()
    assert hooks.emit("message.created", {"id": 1}) == []


@pytest.mark.django_db
def test_a_delivery_of_a_deleted_subscription_is_dropped_unsent(http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type="message.created", payload={}
    )
    with connection.cursor() as cursor:
        table = WebhookSubscription._meta.db_table
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [subscription.pk])
    assert deliver_webhook.apply(args=(delivery.pk,)).get() == "dropped"
    assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert len(http_mock.calls) == 0


# --- disabling after failures in a row -----------------------------------------------------------


@pytest.fixture
def limit(settings):
    settings.HUB = {**settings.HUB, "WEBHOOK_DISABLE_AFTER_FAILURES": 3}
    return 3


def _pending(subscription, count):
    return [
        WebhookDelivery.objects.create(
            subscription=subscription, event_type="message.created", payload={"n": n}
        )
        for n in range(count)
    ]


def _attempt(delivery):
    try:
        return hooks.deliver(delivery.pk)
    except hooks.WebhookFailed:
        return None


@pytest.mark.django_db
def test_a_subscription_is_disabled_after_n_failures_in_a_row(limit, http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    http_mock.post(URL, status=500)
    deliveries = _pending(subscription, 10)
    for delivery in deliveries[:limit]:
        _attempt(delivery)
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.consecutive_failures == limit
    assert subscription.disabled_at is not None
    assert "3 delivery attempts failed in a row" in subscription.disabled_reason
    assert "HTTP 500" in subscription.disabled_reason
    # The backlog is marked, not retried: no more requests go out.
    # The whole backlog (the failed ones awaiting a retry too) is marked, not retried: no more
    # requests go out.
    statuses = {d.status for d in WebhookDelivery.objects.filter(subscription=subscription)}
    assert statuses == {WebhookDelivery.Status.SKIPPED}
    for delivery in deliveries:
        assert deliver_webhook.apply(args=(delivery.pk,)).get() == "skipped"
    assert len(http_mock.calls) == limit
    assert hooks.pending_stalled(timedelta(0)) == []


@pytest.mark.django_db
def test_a_success_resets_the_count(limit, http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    deliveries = _pending(subscription, 6)
    http_mock.post(URL, status=503)
    for delivery in deliveries[:2]:
        _attempt(delivery)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 2
    http_mock.replace("POST", URL, status=200)
    _attempt(deliveries[2])
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0
    http_mock.replace("POST", URL, status=503)
    for delivery in deliveries[3:5]:
        _attempt(delivery)
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 2


@pytest.mark.django_db
def test_a_disabled_subscriptions_pending_deliveries_are_skipped_not_sent(http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    (delivery,) = _pending(subscription, 1)
    subscription.is_active = False
    subscription.save()
    http_mock.post(URL, status=200)
    assert deliver_webhook.apply(args=(delivery.pk,)).get() == "skipped"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SKIPPED
    assert len(http_mock.calls) == 0


@pytest.mark.django_db
def test_admin_shows_why_and_when_and_enables_again(admin_client, limit, http_mock):
    subscription = WebhookSubscription.objects.create(url=URL)
    http_mock.post(URL, status=410)
    for delivery in _pending(subscription, limit):
        _attempt(delivery)
    subscription.refresh_from_db()
    listing = admin_client.get("/admin/hub/webhooksubscription/").content.decode()
    assert "failed in a row" in listing and "HTTP 410" in listing
    detail = admin_client.get(f"/admin/hub/webhooksubscription/{subscription.pk}/change/")
    assert "failed in a row" in detail.content.decode()
    response = admin_client.post(
        "/admin/hub/webhooksubscription/",
        {"action": "enable_selected", "_selected_action": [subscription.pk]},
        follow=True,
    )
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0
    assert subscription.disabled_at is None and subscription.disabled_reason == ""


@pytest.mark.django_db
def test_the_api_shows_the_disabling_and_enables_again(limit, http_mock):
    from tests.factories import UserFactory

    staff = UserFactory(username="ops", is_staff=True, is_superuser=True)
    subscription = WebhookSubscription.objects.create(url=URL)
    http_mock.post(URL, status=500)
    for delivery in _pending(subscription, limit):
        _attempt(delivery)
    api = client_for(staff)
    shown = api.get(f"/api/v1/webhooks/{subscription.pk}/").json()
    assert shown["is_active"] is False and "failed in a row" in shown["disabled_reason"]
    assert shown["disabled_at"]
    api.patch(f"/api/v1/webhooks/{subscription.pk}/", {"is_active": True}, format="json")
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0
    assert subscription.disabled_reason == ""
