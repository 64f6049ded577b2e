"""Email adapter: replies leave through Django's email backend (any Anymail ESP or SMTP by
settings; the local outbox when none is configured) as proper threaded emails.

Each reply is multipart (text + HTML, both rendered from ``templates/channels_email/``), carries a
stable ``Message-ID`` (from the message's idempotency key, so a retried send is recognisably the
same email), ``In-Reply-To``/``References`` to the thread, a ``Reply-To`` with the conversation's
token, its attachments, and goes to the person plus whoever was on Cc of their last email.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.html import escape, linebreaks

from channels_email.services import record_sent_email
from crm.models import Identity
from hub import adapters
from hub.mail import HUB_MESSAGE_HEADER
from hub.models import Channel, Message

MAX_REFERENCES = 20


def reply_address(mailbox: str, token: str) -> str:
    """``support@example.com`` -> ``support+<token>@example.com``: replies find their thread."""
    local, _, domain = mailbox.partition("@")
    return f"{local}+{token}@{domain}" if domain else mailbox


def _last_inbound(message: Message) -> Message | None:
    return (
        Message.objects.filter(
            conversation_id=message.conversation_id,
            channel=Channel.EMAIL,
            direction=Message.Direction.INBOUND,
            occurred_at__lte=message.occurred_at,
        )
        .select_related("sender_identity")
        .order_by("-occurred_at", "-id")
        .first()
    )


def _reply_all_cc(last: Message | None, recipient: str) -> list[str]:
    """Addresses on To/Cc of the person's last email (not us, not the recipient, still
    reachable)."""
    if last is None:
        return []
    metadata = last.metadata or {}
    # The hub lists them at the top; email stored before 2026-12-04 under "email".
    participants = (
        metadata.get("participants") or (metadata.get("email") or {}).get("participants") or []
    )
    ids = [p["identity_id"] for p in participants if p.get("identity_id")]
    reachable = Identity.objects.filter(
        pk__in=ids, undeliverable_at__isnull=True, opted_out_at__isnull=True
    ).values_list("value", flat=True)
    return [value for value in reachable if value != recipient][:20]


def _esp_name() -> str:
    """``anymail.backends.postmark.EmailBackend`` -> ``postmark``; SMTP and others -> the module."""
    parts = settings.EMAIL_BACKEND.split(".")
    return parts[2] if parts[:2] == ["anymail", "backends"] and len(parts) > 2 else parts[-2]


class EmailAdapter(adapters.ChannelAdapter):
    channel = Channel.EMAIL
    capabilities = adapters.Capabilities(
        max_text_length=None,
        supports_html=True,
        supports_media=True,
        supports_subject=True,
        threads_by_contact=False,
        threads_by_references=True,
        first_response_ttl=timedelta(hours=24),
        next_response_ttl=timedelta(hours=24),
    )

    def send_notice(self, *, to, subject, text, endpoint) -> None:
        """A plain automatic email through the configured backend (the ESP, or the local outbox
        without one), from the endpoint's mailbox or ``DEFAULT_FROM_EMAIL``. No Reply-To token:
        an answer to it threads into no conversation."""
        sender = (
            f"{endpoint.name} <{endpoint.address}>" if endpoint else settings.DEFAULT_FROM_EMAIL
        )
        email = EmailMessage(
            subject=subject,
            body=text,
            from_email=sender,
            to=[to],
            headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        )
        email.tags = ["hub-notice"]
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            raise adapters.DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def send(self, message: Message) -> adapters.SendResult:
        conversation = message.conversation
        endpoint = message.endpoint
        mailbox = endpoint.address
        domain = mailbox.partition("@")[2] or "localhost"
        message_id = f"<hub-{message.idempotency_key}@{domain}>"
        earlier = list(
            Message.objects.filter(conversation=conversation, channel=Channel.EMAIL)
            .filter(~Q(provider_message_id=""), ~Q(pk=message.pk))
            .filter(kind=Message.Kind.MESSAGE)
            .order_by("occurred_at", "id")
            .values_list("provider_message_id", flat=True)
        )
        references = [f"<{ref.strip('<>')}>" for ref in earlier[-MAX_REFERENCES:]]
        headers = {
            "Message-ID": message_id,
            HUB_MESSAGE_HEADER: str(message.pk),
            # Ask auto-responders not to answer (RFC 3834 / Exchange), so no mail loops start.
            "X-Auto-Response-Suppress": "All",
            # A reply nobody wrote (bot, SLA notice) is marked as such.
            "Auto-Submitted": "no" if message.author_id else "auto-generated",
        }
        if references:
            headers["In-Reply-To"] = references[-1]
            headers["References"] = " ".join(references)
        subject = conversation.subject or f"Conversation #{conversation.pk}"
        if earlier and not subject.lower().startswith(("re:", "r:", "aw:")):
            subject = f"Re: {subject}"
        if f"[#{conversation.pk}]" not in subject:
            subject = f"{subject} [#{conversation.pk}]"
        recipient = message.recipient_identity.value
        last = _last_inbound(message)
        context = {
            "message": message,
            "conversation": conversation,
            "endpoint": endpoint,
            "text": message.text,
            "html": message.html or linebreaks(escape(message.text)),
            "quoted": last,
            "quoted_text": (last.text if last else ""),
            "quoted_from": (last.sender_identity.value if last and last.sender_identity else ""),
        }
        body = render_to_string("channels_email/reply.txt", context).strip() + "\n"
        html = render_to_string("channels_email/reply.html", context)
        email = EmailMultiAlternatives(
            subject=subject,
            body=body,
            from_email=f"{endpoint.name} <{mailbox}>",
            to=[recipient],
            cc=_reply_all_cc(last, recipient),
            reply_to=[reply_address(mailbox, conversation.reply_token)],
            headers=headers,
        )
        email.attach_alternative(html, "text/html")
        for attachment in message.attachments.all():
            with attachment.file.open("rb") as fh:
                email.attach(attachment.filename, fh.read(), attachment.content_type)
        # Anymail passes these to the ESP and hands them back in tracking events.
        email.metadata = {"hub_message_id": str(message.pk)}
        email.tags = ["hub-reply"]
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            raise adapters.DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        status = getattr(email, "anymail_status", None)
        esp_message_id = str(status.message_id) if status is not None and status.message_id else ""
        if esp_message_id:
            # The ESP's own id, for its tracking webhooks; threading uses our Message-ID.
            message.metadata["esp_message_id"] = esp_message_id
        record_sent_email(
            message,
            message_id_header=message_id.strip("<>"),
            esp_name=_esp_name(),
            esp_message_id=esp_message_id,
            recipient=recipient,
        )
        return adapters.SendResult(provider_message_id=message_id.strip("<>"))
