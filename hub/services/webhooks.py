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


def deliver(delivery_id: int) -> WebhookDelivery | None:
    """POST one delivery. Raises ``WebhookFailed`` for a retryable failure.

    A delivery whose subscription was deleted is dropped (``None``); one of a disabled
    subscription is marked skipped, not sent. Each failed attempt counts against the
    subscription (``record_failure``), each success resets its count.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None:
        # Its subscription is gone (deleted while another process's cache still listed it).
        WebhookDelivery.objects.filter(pk=delivery_id).delete()
        return None
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    subscription = delivery.subscription
    if not subscription.is_active:
        skip_pending(subscription.pk)
        delivery.refresh_from_db()
        return delivery
    body = encode_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "conversation-hub-webhooks/1",
        "X-Hub-Event": delivery.event_type,
        "X-Hub-Delivery": str(delivery.event_id),
        SIGNATURE_HEADER: sign(subscription.secret, body),
    }
    delivery.attempts += 1
    try:
        response = requests.post(
            subscription.url,
            data=body,
            headers=headers,
            timeout=settings.HUB["WEBHOOK_TIMEOUT"],
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        delivery.save(update_fields=["attempts", "last_error"])
        return _failed(delivery, exc)
    delivery.response_status = response.status_code
    delivery.response_body = response.text[:2000]
    if 200 <= response.status_code < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
        delivery.save()
        record_success(subscription.pk)
        return delivery
    delivery.last_error = f"HTTP {response.status_code}"
    delivery.save()
    return _failed(delivery)


def _failed(delivery: WebhookDelivery, cause: Exception | None = None) -> WebhookDelivery | None:
    """After a failed attempt: the delivery is skipped if that failure disabled its
    subscription, else ``WebhookFailed`` (retried)."""
    if record_failure(delivery.subscription_id, delivery.last_error):
        return WebhookDelivery.objects.filter(pk=delivery.pk).first()
    raise WebhookFailed(delivery.last_error) from cause


def record_success(subscription_id: int) -> None:
    """A delivery went through: the count of failures in a row starts again."""
    WebhookSubscription.objects.filter(pk=subscription_id, consecutive_failures__gt=0).update(
        consecutive_failures=0
    )


@transaction.atomic
def record_failure(subscription_id: int, error: str) -> bool:
    """Count a failed attempt against the subscription; at the limit it is disabled and its
    pending deliveries are skipped, so a dead receiver cannot grow an unbounded backlog.
    Returns whether the subscription is (now) disabled."""
    subscription = (
        WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    )
    if subscription is None:
        return True
    if not subscription.is_active:
        skip_pending(subscription_id)
        return True
    subscription.consecutive_failures += 1
    limit = settings.HUB["WEBHOOK_DISABLE_AFTER_FAILURES"]
    disabled = bool(limit) and subscription.consecutive_failures >= limit
    if disabled:
        subscription.is_active = False
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = (
            f"{subscription.consecutive_failures} delivery attempts failed in a row; "
            f"the last: {error}"
        )[:500]
    subscription.save(
        update_fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason"]
    )
    if disabled:
        skip_pending(subscription_id)
    return disabled


def skip_pending(subscription_id: int) -> int:
    """Mark the pending deliveries of a disabled subscription as not sent (no retries)."""
    return WebhookDelivery.objects.filter(
        subscription_id=subscription_id, status=WebhookDelivery.Status.PENDING
    ).update(status=WebhookDelivery.Status.SKIPPED, last_error="subscription disabled")


def enable(subscription: WebhookSubscription) -> None:
    """Turn a (disabled) subscription on again, with a fresh count. Its skipped deliveries
    stay skipped; the delivery log can send them again."""
    subscription.is_active = True
    subscription.consecutive_failures = 0
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(
        update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"]
    )


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
