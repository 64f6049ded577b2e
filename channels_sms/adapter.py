"""SMS and WhatsApp adapters: replies go out through the Twilio client when the endpoint (or the
environment) has Twilio credentials, else to the local outbox."""

from __future__ import annotations

import os
from datetime import timedelta

from hub import adapters
from hub.models import Channel, Message
from hub.services.outbox import record_local_delivery


def twilio_credentials(endpoint) -> tuple[str, str] | None:
    sid = endpoint.settings.get("twilio_account_sid") or os.environ.get("TWILIO_ACCOUNT_SID")
    token = endpoint.settings.get("twilio_auth_token") or os.environ.get("TWILIO_AUTH_TOKEN")
    return (sid, token) if sid and token else None


class _TwilioAdapter(adapters.ChannelAdapter):
    address_prefix = ""

    def send(self, message: Message) -> adapters.SendResult:
        endpoint = message.endpoint
        to = f"{self.address_prefix}{message.recipient_identity.value}"
        sender = f"{self.address_prefix}{endpoint.address}"
        credentials = twilio_credentials(endpoint)
        if credentials is None:
            record_local_delivery(
                message,
                channel=self.channel,
                recipient=to,
                body=message.text,
                payload={"from": sender, "to": to},
            )
            return adapters.SendResult(provider_message_id=f"local-{message.pk}")
        from twilio.base.exceptions import TwilioException, TwilioRestException
        from twilio.rest import Client

        client = Client(*credentials)
        try:
            sent = client.messages.create(to=to, from_=sender, body=message.text)
        except TwilioRestException as exc:
            permanent = 400 <= (exc.status or 500) < 500 and exc.status != 429
            raise adapters.DeliveryError(
                f"Twilio {exc.code}: {exc.msg}", permanent=permanent
            ) from exc
        except TwilioException as exc:
            raise adapters.DeliveryError(f"Twilio: {exc}") from exc
        return adapters.SendResult(provider_message_id=sent.sid)


class SmsAdapter(_TwilioAdapter):
    channel = Channel.SMS
    capabilities = adapters.Capabilities(
        max_text_length=1600,
        supports_media=True,
        first_response_ttl=timedelta(hours=1),
        next_response_ttl=timedelta(hours=1),
    )


class WhatsAppAdapter(_TwilioAdapter):
    channel = Channel.WHATSAPP
    address_prefix = "whatsapp:"
    capabilities = adapters.Capabilities(
        max_text_length=4096,
        supports_media=True,
        first_response_ttl=timedelta(hours=1),
        next_response_ttl=timedelta(hours=1),
    )
