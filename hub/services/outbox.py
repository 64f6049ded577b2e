"""The local outbox: where a channel without provider credentials puts what it would have sent."""

from __future__ import annotations

from typing import Any

from hub.models import LocalDelivery, Message


def record_local_delivery(
    message: Message | None,
    *,
    channel: str,
    recipient: str,
    body: str,
    subject: str = "",
    payload: dict[str, Any] | None = None,
) -> LocalDelivery:
    return LocalDelivery.objects.create(
        message=message,
        channel=channel,
        recipient=recipient,
        subject=subject[:500],
        body=body,
        payload=payload or {},
    )
