"""Reads of the hub: what a user may see, with the joins each screen needs (constant queries)."""

from __future__ import annotations

import copy

from django.db.models import Prefetch, QuerySet

from crm.models import Contact
from hub import config_cache
from hub.models import Attachment, Conversation, Endpoint, Message, Team


def teams_of(user) -> QuerySet[Team]:
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(members=user)


def visible_conversations(user, team_ids: list[int] | None = None) -> QuerySet[Conversation]:
    """An agent sees only their teams' inboxes; a superuser sees everything. ``team_ids``:
    the agent's teams when the caller has already read them (``team_ids_of``)."""
    qs = Conversation.objects.all()
    if not user.is_superuser:
        # The team ids as literals, not a subquery: PostgreSQL then plans the ordered list
        # (newest first, LIMIT 50) on the activity index instead of sorting every team row.
        qs = qs.filter(team_id__in=team_ids_of(user) if team_ids is None else team_ids)
    return qs


def team_ids_of(user) -> list[int]:
    return list(Team.objects.filter(members=user).values_list("pk", flat=True))


def conversation_list(user) -> QuerySet[Conversation]:
    return visible_conversations(user).select_related("contact", "endpoint", "assignee", "team")


def conversation_rows(user, team_ids: list[int] | None = None) -> QuerySet[Conversation]:
    """For the API list: it shows only the contact's name beside ids, so one join is enough."""
    return visible_conversations(user, team_ids).select_related("contact")


def visible_endpoints(user) -> QuerySet[Endpoint]:
    qs = Endpoint.objects.select_related("team")
    if not user.is_superuser:
        qs = qs.filter(team__in=Team.objects.filter(members=user).values("pk"))
    return qs


def endpoint_by_pk(pk: int) -> Endpoint | None:
    """An endpoint read through the config cache: webhooks and the inbound API look one up on
    every message. A change made in another process is seen within the cache's TTL."""
    found = config_cache.cached(
        f"endpoint:{pk}", lambda: Endpoint.objects.filter(pk=pk).first(), keep_none=False
    )
    return copy.copy(found)  # callers may cache relations on it; the shared one stays clean


def endpoint_by_address(channel: str, address: str) -> Endpoint | None:
    """The endpoint of ``channel`` at exactly ``address``, through the config cache (channel
    webhooks find theirs by the number or mailbox they were sent to, on every message)."""
    found = config_cache.cached(
        f"endpoint-at:{channel}:{address}",
        lambda: Endpoint.objects.filter(channel=channel, address=address).order_by("id").first(),
        keep_none=False,
    )
    return copy.copy(found)


def can_use_endpoint(user, endpoint: Endpoint) -> bool:
    return (
        user.is_superuser
        or Team.members.through.objects.filter(team_id=endpoint.team_id, user_id=user.pk).exists()
    )


def _timeline_items(qs: QuerySet[Message]) -> QuerySet[Message]:
    return qs.select_related("sender_identity", "recipient_identity", "author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )


def conversation_timeline(conversation: Conversation) -> QuerySet[Message]:
    return _timeline_items(Message.objects.filter(conversation=conversation))


def contact_timeline(contact: Contact, user) -> QuerySet[Message]:
    """Every message of every conversation of ``contact`` (all channels) the user may see."""
    conversations = visible_conversations(user).filter(contact=contact).values("pk")
    return _timeline_items(Message.objects.filter(conversation__in=conversations))
