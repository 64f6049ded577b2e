"""Live chat adapter: a reply is pushed to the visitor's widget over the channel layer."""

from __future__ import annotations

from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from hub import adapters
from hub.models import Channel, Message
from hub.payloads import message_payload


def visitor_group(identity_id: int) -> str:
    return f"chat.visitor.{identity_id}"


class ChatAdapter(adapters.ChannelAdapter):
    channel = Channel.CHAT
    capabilities = adapters.Capabilities(
        max_text_length=5000,
        supports_media=True,
        first_response_ttl=timedelta(minutes=2),
        next_response_ttl=timedelta(minutes=1),
    )

    def send(self, message: Message) -> adapters.SendResult:
        layer = get_channel_layer()
        try:
            async_to_sync(layer.group_send)(
                visitor_group(message.recipient_identity_id),
                {"type": "chat.message", "message": message_payload(message)},
            )
        except Exception as exc:
            raise adapters.DeliveryError(f"channel layer: {exc}") from exc
        return adapters.SendResult(provider_message_id=f"chat-{message.pk}")
