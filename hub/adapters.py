"""The channel adapter registry: how the hub reaches a channel without importing its app.

Each channel app registers one ``ChannelAdapter`` in its ``AppConfig.ready()``. The hub asks the
registry for the adapter of a conversation's channel to validate and deliver outbound messages and
to learn the channel's capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

if TYPE_CHECKING:
    from crm.models import Identity
    from hub.models import Conversation, Endpoint, Message


class DeliveryError(Exception):
    """Sending failed. ``permanent`` failures are not retried (bad address, opted out...)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class OutboundRefused(Exception):
    """The channel will not accept this reply; ``reason`` says why, for the agent."""

    def __init__(self, reason: str, *, code: str = "refused"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Capabilities:
    max_text_length: int | None = None
    supports_html: bool = False
    supports_media: bool = False
    supports_subject: bool = False
    # Whether a new message from a contact continues their latest conversation on the endpoint
    # (chat, SMS) or only when it carries explicit threading hints (email).
    threads_by_contact: bool = True
    # Whether its messages carry references to earlier ones (email's In-Reply-To / References):
    # a message then also joins the thread of a stored message that refers to it or to the
    # same earlier message, whichever arrived first.
    threads_by_references: bool = False
    # Files on one reply, when the channel takes fewer than the hub's limits (HUB settings
    # MAX_REPLY_ATTACHMENTS / MAX_REPLY_ATTACHMENT_BYTES): checked before the reply is stored.
    max_attachments: int | None = None
    max_attachment_bytes: int | None = None
    first_response_ttl: timedelta | None = None
    next_response_ttl: timedelta | None = None
    # Whether ``send`` is a quick local hand-over (a push to an open socket, no remote API): the
    # process that stored the reply then delivers it right after commit, and the worker only
    # retries a failed attempt. Remote providers leave it False (their calls may be slow).
    delivers_inline: bool = False


@dataclass(frozen=True)
class ComposeNotice:
    """A channel rule shown to the agent while composing (before sending, not after failing)."""

    code: str
    message: str
    level: str = "info"  # info | warning | error (error: the send would be refused)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""
    delivered: bool = False


class ChannelAdapter:
    channel: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def validate_attachments(self, endpoint: Endpoint, count: int, size: int) -> None:
        """Raise ``OutboundRefused`` when the channel cannot carry ``count`` files of ``size``
        bytes together on a reply: before it is stored (``send_reply``), and again by adapters
        at delivery. The default applies the capabilities' limits; adapters add conditions."""
        capabilities = self.capabilities
        channel = endpoint.get_channel_display()
        if not capabilities.supports_media:
            raise OutboundRefused(
                gettext("%(channel)s cannot carry files: send them on another channel.")
                % {"channel": channel},
                code="no_media",
            )
        if capabilities.max_attachments is not None and count > capabilities.max_attachments:
            raise OutboundRefused(
                gettext("%(channel)s carries at most %(count)d file(s) per message.")
                % {"channel": channel, "count": capabilities.max_attachments},
                code="too_many_files",
            )
        limit = capabilities.max_attachment_bytes
        if limit is not None and size > limit:
            raise OutboundRefused(
                gettext("Too large for %(channel)s: %(size)s of files, at most %(limit)s.")
                % {
                    "channel": channel,
                    "size": filesizeformat(size),
                    "limit": filesizeformat(limit),
                },
                code="files_too_large",
            )

    def validate_outbound(
        self, conversation: Conversation, text: str, recipient: Identity | None
    ) -> None:
        """Raise ``OutboundRefused`` when the reply cannot be sent.

        The default refuses text over the channel's length, and recipients that opted out or are
        undeliverable. Channel adapters extend it (WhatsApp's 24-hour window, ...).
        """
        limit = self.capabilities.max_text_length
        if limit is not None and len(text) > limit:
            raise OutboundRefused(
                f"Too long for {self.channel}: {len(text)} characters, at most {limit}.",
                code="too_long",
            )
        if recipient is not None and recipient.opted_out_at is not None:
            raise OutboundRefused(
                f"{recipient.value} opted out of messages on this channel.", code="opted_out"
            )
        if recipient is not None and recipient.undeliverable_at is not None:
            raise OutboundRefused(
                f"{recipient.value} is undeliverable: {recipient.undeliverable_reason}",
                code="undeliverable",
            )

    def compose_notices(
        self, conversation: Conversation, text: str, recipient: Identity | None
    ) -> list[ComposeNotice]:
        """Rules to show the agent for this draft (segments, length guidance, windows).

        Adapters add their own; a refusal by ``validate_outbound`` is added by the hub.
        """
        return []

    def request_contact_details(
        self, conversation: Conversation, *, by=None, fields: tuple[str, ...] = ("email",)
    ) -> Message:
        """Ask the person, inside the conversation, for contact details (live chat shows a small
        form). Channels that cannot raise ``OutboundRefused``."""
        raise OutboundRefused(f"{self.channel} cannot ask for contact details.", code="unsupported")

    def typing(self, conversation: Conversation, *, by=None, active: bool = True) -> None:
        """Show the person that an agent is typing, where the channel can (live chat)."""

    def send_notice(self, *, to: str, subject: str, text: str, endpoint: Endpoint | None) -> None:
        """Send a short automatic notice to an address outside any conversation (a one-time
        verification code: the address may belong to someone who is not the conversation's
        person, so nothing of a conversation goes with it). ``endpoint``: the channel's endpoint
        to send from, if any. Raise ``DeliveryError`` on failure; channels that cannot send
        notices raise ``OutboundRefused``."""
        raise OutboundRefused(f"{self.channel} cannot send notices.", code="unsupported")

    def send(self, message: Message) -> SendResult:
        """Deliver ``message`` (called from a Celery task, inside a row lock).

        Must use ``message.idempotency_key`` wherever the provider supports one. Raise
        ``DeliveryError`` on failure.
        """
        raise NotImplementedError


_registry: dict[str, ChannelAdapter] = {}


def register(adapter: ChannelAdapter) -> ChannelAdapter:
    _registry[adapter.channel] = adapter
    return adapter


def get_adapter(channel: str) -> ChannelAdapter:
    try:
        return _registry[channel]
    except KeyError:
        raise LookupError(f"no adapter registered for channel {channel!r}") from None


def registered_channels() -> list[str]:
    return sorted(_registry)
