"""Handing a thread to another channel (DESIGN.md pillar 1): the conversation's replies go out
on the target channel from now on, and its TTL clock follows that channel's policy."""

from __future__ import annotations

from django.db import transaction

from crm.models import Identity
from hub.channels import IDENTITY_KINDS_FOR_CHANNEL
from hub.models import Channel, Conversation, Endpoint
from hub.services import clock
from hub.services.conversations import _locked, conversation_changed
from hub.services.errors import ServiceError
from hub.services.timeline import record_event


def target_endpoint(conversation: Conversation, channel: str) -> Endpoint | None:
    """An active endpoint of ``channel``: the conversation's team's first, else any."""
    candidates = Endpoint.objects.filter(channel=channel, is_active=True).order_by("pk")
    return candidates.filter(team_id=conversation.team_id).first() or candidates.first()


def target_address(
    conversation: Conversation, channel: str, *, automatic: bool = False
) -> Identity | None:
    """The contact's address on ``channel`` that can be written to (not opted out or bouncing;
    for a move the hub makes on its own, ``automatic``, not awaiting an opt-out decision)."""
    kinds = IDENTITY_KINDS_FOR_CHANNEL.get(channel, ())
    identities = conversation.contact.identities.filter(
        kind__in=kinds, opted_out_at__isnull=True, undeliverable_at__isnull=True
    )
    if automatic:
        identities = identities.filter(opt_out_pending_at__isnull=True)
    reachable = {identity.kind: identity for identity in identities.order_by("-pk")}
    return next((reachable[kind] for kind in kinds if kind in reachable), None)


def plan(
    conversation: Conversation, channel: str, *, automatic: bool = False
) -> tuple[Endpoint, Identity]:
    """Where a handoff to ``channel`` would go, or ``ServiceError`` saying why it cannot."""
    if channel not in Channel.values:
        raise ServiceError(f"Unknown channel {channel!r}.", field="channel")
    if channel == conversation.channel:
        raise ServiceError("The conversation is already on that channel.", field="channel")
    endpoint = target_endpoint(conversation, channel)
    if endpoint is None:
        raise ServiceError(
            f"There is no active {Channel(channel).label} endpoint to hand off to.",
            field="channel",
            code="no_endpoint",
        )
    address = target_address(conversation, channel, automatic=automatic)
    if address is None:
        raise ServiceError(
            f"No {Channel(channel).label} address is known for this contact.",
            field="channel",
            code="no_address",
        )
    return endpoint, address


@transaction.atomic
def handoff(
    conversation: Conversation, *, channel: str, by=None, reason: str = "agent"
) -> Conversation:
    conversation = _locked(conversation)
    endpoint, address = plan(conversation, channel, automatic=reason != "agent")
    previous = {"channel": conversation.channel, "endpoint_id": conversation.endpoint_id}
    conversation.endpoint = endpoint
    conversation.channel = channel
    clock.retime(conversation)
    record_event(
        conversation,
        "handoff",
        text=f"Handed off from {Channel(previous['channel']).label} to "
        f"{Channel(channel).label} ({address.value})",
        author=by,
        metadata={
            "from": previous["channel"],
            "to": channel,
            "address": address.value,
            "reason": reason,
            "due_at": conversation.due_at.isoformat() if conversation.due_at else None,
        },
    )
    conversation_changed(
        conversation,
        {
            "channel": [previous["channel"], channel],
            "endpoint_id": [previous["endpoint_id"], endpoint.pk],
        },
    )
    return conversation
