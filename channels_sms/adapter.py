"""SMS and WhatsApp adapters: replies go out through the Twilio client when the endpoint (or the
environment) has Twilio credentials, else to the local outbox.

**A retry never sends twice.** The hub's ``deliver()`` locks the message and sends only a queued
one, which stops two workers; the remaining risk is a send that timed out after Twilio accepted
it (the worker cannot know). Three guards:

1. Before calling Twilio, a marker with the attempt's time is written to the cache (Redis),
   outside the database transaction, so it survives the rollback of a failed attempt and a
   worker crash. A later attempt that finds the marker first lists Twilio's recent messages
   from our number to the recipient and adopts one created since the marker with the same body
   (and media count) that no other hub message owns, instead of sending again.
2. Our ``StatusCallback`` URL carries the message's idempotency key, so Twilio's callbacks for
   a message it accepted name it even when its sid never reached us: the hub records the sid
   and the status (``update_delivery_status(idempotency_key=...)``), the message is no longer
   queued and the retry does nothing. A queued message that already has a sid is not sent again.
3. If Twilio cannot be asked (the lookup fails), the attempt fails and is retried later rather
   than risk a duplicate.

Residual risk, accepted: Twilio accepted the message but neither lists it yet nor has called us
back when the retry comes (10 s later by default), or the cache lost the marker; then the person
may get the text twice. Twilio's Messages API takes no idempotency key that would close this.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from channels_sms import conf, services
from channels_sms.media import signed_media_url
from channels_sms.segments import count_segments, utf16_length
from crm.models import Identity
from hub import adapters
from hub.models import Channel, Endpoint, Message
from hub.services.outbox import record_local_delivery

# Twilio's Messages API takes at most 1600 characters (UTF-16 code units: an emoji counts 2).
TWILIO_MAX_BODY = 1600
ATTEMPT_MARKER_TTL = 7 * 24 * 3600
LOOKUP_MARGIN = timedelta(minutes=5)  # clock skew between us and Twilio
DEFAULT_SMS_LONG_SEGMENTS = 3
DEFAULT_WHATSAPP_LONG_CHARS = 1000


def twilio_credentials(endpoint) -> tuple[str, str] | None:
    """Kept for callers of the earlier adapter module; see ``channels_sms.conf``."""
    return conf.twilio_credentials(endpoint)


def status_callback_url(message: Message) -> str:
    """Where Twilio reports this message's status, naming it by its idempotency key; empty when
    the hub's public URL is unknown (statuses then stay as the send left them)."""
    base = (message.endpoint.settings or {}).get("twilio_status_url") or ""
    if not base and conf.public_base_url():
        base = conf.public_base_url() + reverse("channels_sms:twilio-status")
    return f"{base}?hub_message={message.idempotency_key}" if base else ""


def _attempt_key(message: Message) -> str:
    return f"channels_sms:attempt:{message.idempotency_key}"


class _TwilioAdapter(adapters.ChannelAdapter):
    address_prefix = ""

    # --- rules shown before sending -------------------------------------------------------

    def validate_outbound(self, conversation, text, recipient) -> None:
        length = utf16_length(text)
        if length > TWILIO_MAX_BODY:
            raise adapters.OutboundRefused(
                f"Too long for {self.channel}: {length} characters (emoji count 2), at most "
                f"{TWILIO_MAX_BODY}. Send a link, or move the conversation to email.",
                code="too_long",
            )
        super().validate_outbound(conversation, text, recipient)

    def _handoff_options(self, conversation, recipient: Identity | None) -> list[str]:
        """Other channels this contact can be reached on, where an endpoint exists."""
        available = set(
            Endpoint.objects.filter(is_active=True, team_id=conversation.team_id)
            .exclude(channel=self.channel)
            .values_list("channel", flat=True)
        )
        identities = list(conversation.contact.identities.order_by("kind", "pk"))
        options = []
        for identity in identities:
            if identity.opted_out_at or identity.undeliverable_at:
                continue
            if recipient is not None and identity.pk == recipient.pk:
                # A WhatsApp number is a phone number: SMS reaches it too.
                has_phone = any(i.kind == Identity.Kind.PHONE for i in identities)
                if (
                    identity.kind == Identity.Kind.WHATSAPP
                    and identity.value.startswith("+")
                    and not has_phone
                    and Channel.SMS in available
                ):
                    options.append(f"SMS ({identity.value})")
                continue
            if identity.kind == Identity.Kind.EMAIL and Channel.EMAIL in available:
                options.append(f"email ({identity.value})")
            elif identity.kind == Identity.Kind.PHONE and Channel.SMS in available:
                options.append(f"SMS ({identity.value})")
            elif identity.kind == Identity.Kind.WHATSAPP and Channel.WHATSAPP in available:
                options.append(f"WhatsApp ({identity.value})")
        return options

    def _email_of(self, conversation) -> str:
        email = conversation.contact.identities.filter(kind=Identity.Kind.EMAIL).first()
        return email.value if email is not None else ""

    def validate_attachments(self, endpoint, count: int, size: int) -> None:
        super().validate_attachments(endpoint, count, size)
        if not conf.public_base_url():
            raise adapters.OutboundRefused(
                gettext("Set HUB_PUBLIC_URL so that Twilio can fetch the files."),
                code="no_public_url",
            )

    # --- sending ----------------------------------------------------------------------------

    def send(self, message: Message) -> adapters.SendResult:
        endpoint = message.endpoint
        if message.recipient_identity is None:
            raise adapters.DeliveryError("The recipient's address was removed.", permanent=True)
        to = f"{self.address_prefix}{message.recipient_identity.value}"
        sender = f"{self.address_prefix}{endpoint.address}"
        attachments = list(message.attachments.order_by("id"))
        if attachments:
            # Checked when the reply was stored; HUB_PUBLIC_URL may have gone since.
            try:
                self.validate_attachments(
                    endpoint, len(attachments), sum(item.size for item in attachments)
                )
            except adapters.OutboundRefused as refused:
                raise adapters.DeliveryError(refused.reason, permanent=True) from refused
        media_urls = [signed_media_url(attachment) for attachment in attachments]
        callback = status_callback_url(message)
        credentials = conf.twilio_credentials(endpoint)
        if credentials is None:
            record_local_delivery(
                message,
                channel=self.channel,
                recipient=to,
                body=message.text,
                payload={"from": sender, "to": to, "media_urls": media_urls,
                         "status_callback": callback},
            )
            return adapters.SendResult(provider_message_id=f"local-{message.pk}")
        if message.provider_message_id:
            # Twilio accepted it on an earlier attempt (its status callback told us the sid).
            return adapters.SendResult(provider_message_id=message.provider_message_id)
        return self._send_once(message, credentials, to, sender, media_urls, callback)

    def _send_once(self, message, credentials, to, sender, media_urls, callback):
        from twilio.base.exceptions import TwilioException, TwilioRestException
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(*credentials, http_client=TwilioHttpClient(timeout=conf.http_timeout()))
        marker = cache.get(_attempt_key(message))
        if marker:
            found = self._accepted_earlier(client, message, to, sender, len(media_urls), marker)
            if found:
                return adapters.SendResult(provider_message_id=found)
        cache.set(_attempt_key(message), timezone.now().isoformat(), timeout=ATTEMPT_MARKER_TTL)
        params: dict = {"to": to, "from_": sender}
        if message.text:
            params["body"] = message.text
        if media_urls:
            params["media_url"] = media_urls
        if callback:
            params["status_callback"] = callback
        try:
            sent = client.messages.create(**params)
        except TwilioRestException as exc:
            permanent = 400 <= (exc.status or 500) < 500 and exc.status != 429
            detail = str(exc.msg or "")
            if detail.startswith("Unable to") and "record: " in detail:
                detail = detail.split("record: ", 1)[1]  # the library's prefix
            raise adapters.DeliveryError(
                services.describe_error(str(exc.code or exc.status), detail), permanent=permanent
            ) from exc
        except (TwilioException, requests.RequestException) as exc:
            reason = f"Twilio unreachable: {type(exc).__name__}: {exc}"
            raise adapters.DeliveryError(reason) from exc
        return adapters.SendResult(provider_message_id=sent.sid)

    def _accepted_earlier(self, client, message, to, sender, media_count, marker) -> str:
        """The sid of a message Twilio accepted on an earlier, timed-out attempt, or ""."""
        from twilio.base.exceptions import TwilioException

        try:
            recent = client.messages.list(to=to, from_=sender, limit=50)
        except (TwilioException, requests.RequestException) as exc:
            raise adapters.DeliveryError(
                f"Twilio: cannot check whether an earlier attempt was accepted ({exc}); "
                "not sending again yet."
            ) from exc
        since = datetime.fromisoformat(marker) - LOOKUP_MARGIN
        owned = set(
            Message.objects.filter(
                endpoint=message.endpoint, provider_message_id__in=[m.sid for m in recent]
            )
            .exclude(pk=message.pk)
            .values_list("provider_message_id", flat=True)
        )
        text = message.text
        matches = [
            candidate
            for candidate in recent
            if candidate.sid not in owned
            and str(candidate.direction or "").startswith("outbound")
            and (candidate.date_created is None or candidate.date_created >= since)
            and (
                candidate.body == text
                or (bool(text) and (candidate.body or "").endswith(text))  # trial-account prefix
            )
            and (bool(text) or str(candidate.num_media or "0") == str(media_count))
        ]
        matches.sort(key=lambda candidate: candidate.date_created or since)
        return matches[0].sid if matches else ""


class SmsAdapter(_TwilioAdapter):
    channel = Channel.SMS
    capabilities = adapters.Capabilities(
        max_text_length=TWILIO_MAX_BODY,
        supports_media=True,  # MMS: Twilio takes up to 10 media of 5 MB together
        max_attachments=10,
        max_attachment_bytes=5 * 1024 * 1024,
        first_response_ttl=timedelta(hours=1),
        next_response_ttl=timedelta(hours=1),
    )

    def compose_notices(self, conversation, text, recipient) -> list[adapters.ComposeNotice]:
        if not text:
            return []
        segments = count_segments(text)
        unit = "segment" if segments.count == 1 else "segments"
        message = (
            f"{segments.count} SMS {unit} ({segments.encoding}: {segments.units} characters, "
            f"{segments.per_segment} per segment)."
        )
        if segments.non_gsm:
            shown = ", ".join(f"“{char}”" for char in segments.non_gsm[:5])
            message += (
                f" {shown} force UCS-2; without them a segment holds 160 characters (153 when "
                "split) instead of 70 (67)."
            )
        notices = [adapters.ComposeNotice("sms_segments", message)]
        limit = int(
            (conversation.endpoint.settings or {}).get(
                "sms_long_reply_segments", DEFAULT_SMS_LONG_SEGMENTS
            )
        )
        if segments.count > limit:
            email = self._email_of(conversation)
            where = f"email ({email})" if email else "email (ask for their address)"
            notices.append(
                adapters.ComposeNotice(
                    "sms_long",
                    f"Long for SMS: {segments.count} segments (more than {limit}). Send a short "
                    f"answer with a link to the details, or move the conversation to {where}.",
                    level="warning",
                )
            )
        return notices


class WhatsAppAdapter(_TwilioAdapter):
    channel = Channel.WHATSAPP
    address_prefix = "whatsapp:"
    capabilities = adapters.Capabilities(
        max_text_length=TWILIO_MAX_BODY,
        supports_media=True,  # one file per message, 16 MB (WhatsApp's media limit)
        max_attachments=1,
        max_attachment_bytes=16 * 1024 * 1024,
        first_response_ttl=timedelta(hours=1),
        next_response_ttl=timedelta(hours=1),
    )

    def _window(self, conversation, recipient: Identity) -> tuple[datetime | None, datetime]:
        last = services.last_inbound_at(conversation.endpoint, recipient)
        return last, timezone.now()

    def _closed_reason(self, conversation, recipient: Identity, last: datetime | None) -> str:
        if last is None:
            told = f"{recipient.value} has not written to this WhatsApp number yet"
        else:
            told = (
                f"the last message from {recipient.value} arrived "
                f"{last.astimezone(UTC):%Y-%m-%d %H:%M} UTC, more than 24 hours ago"
            )
        options = self._handoff_options(conversation, recipient)
        offer = (
            f" Hand the conversation off to {' or '.join(options)}, or send an approved template."
            if options
            else " Send an approved template, or ask for another way to reach them."
        )
        return (
            "WhatsApp allows free-form replies only within 24 hours of the person's last "
            f"message: {told}.{offer}"
        )

    def validate_outbound(self, conversation, text, recipient) -> None:
        super().validate_outbound(conversation, text, recipient)
        if recipient is None:
            return
        last, now = self._window(conversation, recipient)
        if last is None or now - last >= services.WHATSAPP_WINDOW:
            raise adapters.OutboundRefused(
                self._closed_reason(conversation, recipient, last), code="whatsapp_window_closed"
            )

    def compose_notices(self, conversation, text, recipient) -> list[adapters.ComposeNotice]:
        notices = []
        if recipient is not None:
            last, now = self._window(conversation, recipient)
            closes = last + services.WHATSAPP_WINDOW if last is not None else None
            if closes is None or closes <= now:
                notices.append(
                    adapters.ComposeNotice(
                        "whatsapp_window_closed",
                        self._closed_reason(conversation, recipient, last),
                        level="error",
                    )
                )
                options = self._handoff_options(conversation, recipient)
                if options:
                    notices.append(
                        adapters.ComposeNotice(
                            "handoff_offer",
                            f"Continue on {' or '.join(options)}.",
                            level="warning",
                        )
                    )
            else:
                left = closes - now
                hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
                notices.append(
                    adapters.ComposeNotice(
                        "whatsapp_window",
                        f"WhatsApp window open until {closes.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
                        f"({hours} h {minutes} min left).",
                        level="warning" if left < timedelta(hours=1) else "info",
                    )
                )
        limit = int(
            (conversation.endpoint.settings or {}).get(
                "whatsapp_long_reply_chars", DEFAULT_WHATSAPP_LONG_CHARS
            )
        )
        if len(text) > limit:
            email = self._email_of(conversation)
            where = f"email ({email})" if email else "email"
            notices.append(
                adapters.ComposeNotice(
                    "whatsapp_long",
                    f"Long for WhatsApp: {len(text)} characters (more than {limit}). Send a short "
                    f"answer with a link, or move the conversation to {where}.",
                    level="warning",
                )
            )
        return notices
