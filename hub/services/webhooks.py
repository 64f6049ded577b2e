"""Outgoing webhooks: signed events for integrators, delivered by Celery with retries.

Deliveries are rows written in the same transaction as the change they report (an outbox), so a
crash between commit and enqueue loses nothing: the beat sweep picks up pending rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hub import config_cache
from hub.models import WebhookDelivery, WebhookSubscription

SIGNATURE_HEADER = "X-Hub-Signature-256"


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, the value of ``X-Hub-Signature-256``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature or "")


def emit(event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event_type`` for every active subscription that wants it (in the caller's txn)."""
    active = config_cache.cached(
        "webhook_subscriptions", lambda: list(WebhookSubscription.objects.filter(is_active=True))
    )
    subscriptions = [sub for sub in active if sub.wants(event_type)]
    if not subscriptions:
        return []
    deliveries = []
    for subscription in subscriptions:
        delivery = WebhookDelivery(subscription=subscription, event_type=event_type, payload={})
        delivery.payload = {
            "id": str(delivery.event_id),
            "type": event_type,
            "created_at": timezone.now().isoformat(),
            "data": data,
        }
        deliveries.append(delivery)
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]

    def enqueue() -> None:
        from hub.tasks import deliver_webhook

        for delivery_id in ids:
            deliver_webhook.delay(delivery_id)

    # Robust: the event is stored; should the broker be down, the beat's stalled-delivery task
    # queues it later, and whatever committed it must not be reported as failed.
    transaction.on_commit(enqueue, robust=True)
    return deliveries


class WebhookFailed(Exception):
    pass


def deliver(delivery_id: int) -> WebhookDelivery:
    """POST one delivery. Raises ``WebhookFailed`` for a retryable failure."""
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    body = encode_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "conversation-hub-webhooks/1",
        "X-Hub-Event": delivery.event_type,
        "X-Hub-Delivery": str(delivery.event_id),
        SIGNATURE_HEADER: sign(delivery.subscription.secret, body),
    }
    delivery.attempts += 1
    try:
        response = requests.post(
            delivery.subscription.url,
            data=body,
            headers=headers,
            timeout=settings.HUB["WEBHOOK_TIMEOUT"],
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        delivery.save(update_fields=["attempts", "last_error"])
        raise WebhookFailed(delivery.last_error) from exc
    delivery.response_status = response.status_code
    delivery.response_body = response.text[:2000]
    if 200 <= response.status_code < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
        delivery.save()
        return delivery
    delivery.last_error = f"HTTP {response.status_code}"
    delivery.save()
    raise WebhookFailed(delivery.last_error)


def give_up(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED
    )


def retry_at(delivery_id: int, seconds: int) -> None:
    """Record when the worker's retry of a failed attempt is due."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        next_attempt_at=timezone.now() + timedelta(seconds=seconds)
    )


def pending_stalled(older_than: timedelta, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is overdue by ``older_than``: their broker task was
    lost. Each is claimed for another full interval, so a worker that is down does not pile up
    copies of the same task."""
    now = timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lt=now - older_than
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
    return ids
