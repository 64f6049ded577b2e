"""Anymail's signals, connected in ``EmailChannelConfig.ready``: every ESP's inbound webhook and
tracking webhook ends here. Anymail has already checked the webhook's authentication (basic auth
``WEBHOOK_SECRET`` and the ESP's signature) before it sends a signal."""

from __future__ import annotations

import logging

from channels_email import services

logger = logging.getLogger(__name__)


def _is_empty(message) -> bool:
    """A bare event (e.g. a provider's test ping): no header, no body, no envelope."""
    try:
        payload = message.get_payload()
        return (
            not message.keys()
            and not (payload.strip() if isinstance(payload, str) else payload)
            and not (message.envelope_sender or message.envelope_recipient)
        )
    except Exception:
        return False


def handle_inbound(sender, event, esp_name: str, **kwargs) -> None:
    message = event.message
    if message is None or _is_empty(message):
        # e.g. Resend's notification without an email id: nothing to store.
        logger.warning("%s inbound event %s carries no message", esp_name, event.event_id)
        return
    outcome = services.ingest_email_message(
        message,
        source=f"anymail:{esp_name.lower().replace(' ', '_')}"[:60],
        envelope_recipient=message.envelope_recipient or "",
    )
    logger.info("%s inbound email: %s", esp_name, outcome.status)


def handle_tracking(sender, event, esp_name: str, **kwargs) -> None:
    services.apply_tracking_event(event, esp_name)
