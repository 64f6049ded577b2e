"""Celery tasks of the hub. They take ids, are idempotent and safe to retry."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from hub import adapters
from hub.services import outbound, webhooks

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    def __init__(self, countdown: int, cause: Exception):
        super().__init__(str(cause))
        self.countdown = countdown
        self.cause = cause


def attempt_delivery(message_id: int, attempt: int, *, loaded=None) -> str:
    """One delivery attempt (``attempt`` counts from 0). Returns the message's delivery status,
    or raises ``RetryLater`` with the backoff before the next attempt. ``loaded``: see
    ``outbound.deliver``."""
    try:
        return outbound.deliver(message_id, loaded=loaded).delivery_status
    except adapters.DeliveryError as exc:
        permanent, reason, cause = exc.permanent, exc.reason, exc
    except Exception as exc:
        # An adapter bug or an outage it did not classify: retried like a transient failure.
        logger.exception("delivering message %s raised", message_id)
        permanent, reason, cause = False, f"{type(exc).__name__}: {exc}", exc
    final = permanent or attempt + 1 >= settings.HUB["DELIVERY_MAX_ATTEMPTS"]
    countdown = outbound.backoff_seconds(attempt)
    outbound.record_delivery_failure(message_id, reason, final=final, retry_in=countdown)
    if final:
        logger.warning("message %s failed for good: %s", message_id, reason)
        return "failed"
    raise RetryLater(countdown, cause)


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_message(self, message_id: int) -> str:
    """Deliver a queued outbound message; retry with exponential backoff on failure."""
    try:
        return attempt_delivery(message_id, self.request.retries)
    except RetryLater as later:
        raise self.retry(exc=later.cause, countdown=later.countdown) from later.cause


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    attempt = self.request.retries
    try:
        delivery = webhooks.deliver(delivery_id)
    except webhooks.WebhookFailed as exc:
        if attempt + 1 >= settings.HUB["WEBHOOK_MAX_ATTEMPTS"]:
            webhooks.give_up(delivery_id)
            return "failed"
        countdown = outbound.backoff_seconds(attempt)
        webhooks.retry_at(delivery_id, countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return delivery.status if delivery is not None else "dropped"


@shared_task
def requeue_stalled_deliveries() -> int:
    """Beat: hand queued messages and webhook deliveries whose task was lost to the worker again.

    Only overdue rows are read (a partial index on queued messages), so the cost follows what is
    stalled, not what was ever sent.
    """
    message_ids = outbound.stalled_deliveries()
    for message_id in message_ids:
        deliver_message.delay(message_id)
    delivery_ids = webhooks.pending_stalled(settings.HUB["STALLED_DELIVERY_AFTER"])
    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)
    return len(message_ids) + len(delivery_ids)


@shared_task(ignore_result=True)
def sla_sweep() -> dict:
    """Beat, every few seconds: act on the conversations whose TTL warning or expiry is due."""
    from dataclasses import asdict

    from hub.services import sla

    return asdict(sla.sweep())


@shared_task(ignore_result=True, acks_late=True)
def analyse_messages(message_ids: list[int]) -> int:
    """Read stored inbound messages (an import's run) with the understanding layer."""
    from hub.services.understanding import analyse_stored

    return analyse_stored(message_ids)
