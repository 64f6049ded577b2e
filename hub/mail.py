"""The email backend used when no provider is configured: every email becomes a row of the local
outbox (admin: Local outbox) instead of vanishing."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

from hub.models import Channel, Message
from hub.services.outbox import record_local_delivery

HUB_MESSAGE_HEADER = "X-Hub-Message"


class LocalOutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        sent = 0
        for email in email_messages:
            hub_id = email.extra_headers.get(HUB_MESSAGE_HEADER)
            message = Message.objects.filter(pk=hub_id).first() if hub_id else None
            html = next(
                (
                    content
                    for content, mime in getattr(email, "alternatives", [])
                    if mime == "text/html"
                ),
                "",
            )
            record_local_delivery(
                message,
                channel=Channel.EMAIL,
                recipient=", ".join(email.to),
                subject=email.subject,
                body=email.body,
                payload={
                    "from": email.from_email,
                    "to": list(email.to),
                    "cc": list(email.cc),
                    "reply_to": list(email.reply_to),
                    "headers": {k: str(v) for k, v in email.extra_headers.items()},
                    "html": html,
                    "attachments": [
                        a[0] if isinstance(a, tuple) else getattr(a, "filename", "")
                        for a in email.attachments
                    ],
                    "mime": email.message().as_string(),
                },
            )
            sent += 1
        return sent
