"""Live chat adapter: a reply is pushed to the visitor's open widgets over the channel layer.

The push carries the visitor-facing view of the message (``payloads.visitor_payload``), so the
consumer forwards it without a query. A visitor with no open socket gets the reply when the
widget resyncs; if they do not come back in time it is emailed (``continuity``).
"""

from __future__ import annotations

from datetime import timedelta

from channels.layers import get_channel_layer

from channels_chat import conf, presence
from channels_chat.payloads import visitor_payload
from channels_chat.services import push_to_visitor
from crm.models import Identity
from hub import adapters
from hub.models import Channel, Message


class ChatAdapter(adapters.ChannelAdapter):
    channel = Channel.CHAT
    capabilities = adapters.Capabilities(
        max_text_length=5000,
        supports_media=True,  # files as signed download links in the widget (files.py)
        first_response_ttl=timedelta(minutes=2),
        next_response_ttl=timedelta(minutes=1),
        delivers_inline=True,  # a push over the channel layer: no need to wait for a worker
    )

    def send(self, message: Message) -> adapters.SendResult:
        recipient_id = message.recipient_identity_id
        if recipient_id is None:
            raise adapters.DeliveryError("no chat visitor to push to", permanent=True)
        if get_channel_layer() is None:
            raise adapters.DeliveryError("no channel layer configured", permanent=True)
        # Pushed once the delivery's transaction commits: a widget that reports the message seen
        # at once then finds its status committed (no wait on the delivery's row lock). A push
        # lost to a channel layer outage is not lost to the visitor: the widget resyncs.
        push_to_visitor(recipient_id, {"type": "chat.message", "message": visitor_payload(message)})
        delay = conf.continuity_delay(message.endpoint)
        if delay is not None:
            from channels_chat import continuity

            continuity.schedule(message.conversation_id, delay)
        return adapters.SendResult(
            provider_message_id=f"chat-{message.pk}",
            delivered=presence.sockets(recipient_id) > 0,
        )

    def compose_notices(self, conversation, text, recipient) -> list[adapters.ComposeNotice]:
        """Whether the visitor is on the site, and what happens to a reply they do not see."""
        if recipient is None or recipient.kind != Identity.Kind.CHAT_VISITOR:
            return []
        away = presence.away_seconds(recipient.pk)
        if away is None:
            return [adapters.ComposeNotice("visitor_online", "The visitor is on the site now.")]
        delay = conf.continuity_delay(conversation.endpoint)
        email = (
            conversation.contact.identities.filter(kind=Identity.Kind.EMAIL)
            .values_list("value", flat=True)
            .first()
        )
        when = "a while ago" if away == float("inf") else f"{max(1, int(away // 60))} min ago"
        if delay is not None and email:
            follow = f"If they do not see your reply, it is emailed to {email}."
        else:
            follow = "They see your reply when they come back (no email address is known)."
        return [
            adapters.ComposeNotice(
                "visitor_offline", f"The visitor left the site {when}. {follow}", level="warning"
            )
        ]

    def request_contact_details(self, conversation, *, by=None, fields=("email",)) -> Message:
        from channels_chat.services import request_email

        if tuple(fields) != ("email",):
            raise adapters.OutboundRefused(
                "The chat can ask for an email address only.", code="unsupported"
            )
        return request_email(conversation, by=by)

    def typing(self, conversation, *, by=None, active: bool = True) -> None:
        from channels_chat.services import agent_typing

        agent_typing(conversation, by=by, active=active)
