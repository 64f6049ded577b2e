"""The normalised inbound message every channel app hands to ``hub.services.ingest``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""


@dataclass(frozen=True)
class InboundParticipant:
    """Someone else the message was addressed to (email's To and Cc): the hub makes them an
    identity of their own contact, or of the one that already has the address."""

    kind: str  # a ``crm.Identity.Kind``
    address: str
    name: str = ""
    role: str = ""  # e.g. "to", "cc"


@dataclass
class InboundMessage:
    """A message a person sent us on some channel, already parsed by its channel app.

    ``endpoint`` is the ``Endpoint`` it arrived on; ``sender_kind``/``sender_address`` name the
    person's identity (an ``crm.Identity.Kind`` and its raw value, normalised by the hub).
    Threading hints: ``conversation_token`` is a hub-issued reply token (a conversation's
    ``reply_token``) that the channel found in the message; ``references`` are provider message ids
    of earlier messages this one answers (email In-Reply-To/References); ``subject`` may carry a
    ``[#<ref>]`` token the email channel extracts into ``conversation_ref``.
    ``participants`` are the other people it was addressed to.
    ``pending_attachments`` counts files the channel app attaches after ingest (e.g. media it
    downloads in a task): a message carrying only those is not empty.
    """

    endpoint: Any
    sender_kind: str
    sender_address: str
    text: str = ""
    html: str = ""
    sender_name: str = ""
    provider_message_id: str = ""
    subject: str = ""
    received_at: datetime | None = None
    attachments: list[InboundAttachment] = field(default_factory=list)
    conversation_token: str = ""
    conversation_ref: int | None = None
    references: list[str] = field(default_factory=list)
    is_auto_reply: bool = False
    # A delivery failure report (an email bounce): machine-written like an auto-reply, but its
    # own kind (it says an address failed, not that someone is away).
    is_bounce: bool = False
    # Imported history (e.g. ``import_mail`` of an old mailbox): stored in its place on the
    # timeline, but it neither reopens a conversation nor starts the TTL clock.
    is_historical: bool = False
    # False for a message that asks nothing of an agent (an SMS opt-out keyword such as STOP):
    # stored and shown, but it neither reopens a conversation nor starts the TTL clock.
    awaits_reply: bool = True
    pending_attachments: int = 0
    # A message the person sent with nothing in it (an email with an empty body): stored with
    # empty text rather than refused as empty. Channels whose messages can't be empty leave it.
    allow_empty: bool = False
    # Resolved to identities in the ingest's transaction, before the sender, and listed in the
    # message's ``metadata["participants"]`` (role, address, identity and contact ids).
    participants: list[InboundParticipant] = field(default_factory=list)
    # (identity, created now) when the channel app resolved the sender itself (SMS links a
    # number's SMS and WhatsApp identities first): the ingest uses it instead of looking the
    # sender up again. ``identity.contact_locked`` says whether its contact row is locked.
    resolved_sender: tuple[Any, bool] | None = None
    # The team address an email was sent from (imported history of a shared mailbox, a team
    # member's answer from their own client): the message is outbound, authored by the agent
    # with that email when there is one; ``sender_*`` then name the customer it went to.
    from_team: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | str | None = None

    @property
    def wants_answer(self) -> bool:
        """Whether the person now waits for a reply: what reopens and starts the clock."""
        waived = self.is_auto_reply or self.is_bounce or self.is_historical or self.from_team
        return self.awaits_reply and not waived
