"""Celery tasks of the SMS/WhatsApp channel. They take ids, are idempotent and safe to retry."""

from __future__ import annotations

from celery import shared_task

from channels_sms import services
from hub.services.outbound import backoff_seconds

MEDIA_MAX_ATTEMPTS = 6


@shared_task(bind=True, acks_late=True, max_retries=None)
def download_inbound_media(self, message_id: int) -> str:
    """Fetch an inbound message's Twilio media and attach it; retried with backoff while Twilio
    or the network fails, then the failure is recorded on the timeline."""
    attempt = self.request.retries
    final = attempt + 1 >= MEDIA_MAX_ATTEMPTS
    if services.fetch_inbound_media(message_id, final=final):
        return "done"
    raise self.retry(countdown=backoff_seconds(attempt))
