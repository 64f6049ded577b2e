"""Email adapter: replies leave through Django's email backend (any Anymail ESP or SMTP by
settings; the local outbox when none is configured) as proper threaded emails."""

from __future__ import annotations

from datetime import timedelta
from email.utils import make_msgid

from django.core.mail import EmailMultiAlternatives
from django.db.models import Q

from hub import adapters
from hub.mail import HUB_MESSAGE_HEADER
from hub.models import Channel, Message


def reply_address(mailbox: str, token: str) -> str:
    """``support@example.com`` -> ``support+<token>@example.com``: replies find their thread."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+{token}@{domain}" if domain else mailbox


class EmailAdapter(adapters.ChannelAdapter):
    channel = Channel.EMAIL
    capabilities = adapters.Capabilities(
        max_text_length=None,
        supports_html=True,
        supports_media=True,
        supports_subject=True,
        threads_by_contact=False,
        first_response_ttl=timedelta(hours=24),
        next_response_ttl=timedelta(hours=24),
    )

    def send(self, message: Message) -> adapters.SendResult:
        conversation = message.conversation
        endpoint = message.endpoint
        mailbox = endpoint.address
        domain = mailbox.partition("@")[2] or "localhost"
        message_id = make_msgid(idstring=f"hub{message.pk}", domain=domain)
        earlier = list(
            Message.objects.filter(conversation=conversation, channel=Channel.EMAIL)
            .filter(~Q(provider_message_id=""), ~Q(pk=message.pk))
            .order_by("occurred_at", "id")
            .values_list("provider_message_id", flat=True)
        )
        references = [f"<{ref.strip('<>')}>" for ref in earlier[-20:]]
        headers = {
            "Message-ID": message_id,
            HUB_MESSAGE_HEADER: str(message.pk),
            "Auto-Submitted": "no",
        }
        if references:
            headers["In-Reply-To"] = references[-1]
            headers["References"] = " ".join(references)
        subject = conversation.subject or f"Conversation #{conversation.pk}"
        if not subject.lower().startswith("re:") and earlier:
            subject = f"Re: {subject}"
        subject = (
            f"{subject} [#{conversation.pk}]" if f"[#{conversation.pk}]" not in subject else subject
        )
        email = EmailMultiAlternatives(
            subject=subject,
            body=message.text,
            from_email=f"{endpoint.name} <{mailbox}>",
            to=[message.recipient_identity.value],
            reply_to=[reply_address(mailbox, conversation.reply_token)],
            headers=headers,
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        for attachment in message.attachments.all():
            with attachment.file.open("rb") as fh:
                email.attach(attachment.filename, fh.read(), attachment.content_type)
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            raise adapters.DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        status = getattr(email, "anymail_status", None)
        if status is not None and status.message_id:
            # The ESP's own id, for its tracking webhooks; threading uses our Message-ID.
            message.metadata["esp_message_id"] = str(status.message_id)
        return adapters.SendResult(provider_message_id=message_id.strip("<>"))
