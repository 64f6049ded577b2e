"""Two conversations that are one thread become one.

The ingest merges by itself when a late message shows that two conversations of one person are
one email thread (C answers B and B answers A by In-Reply-To only; C and A arrived first, each
in a conversation of its own, and B links them). An agent merges two conversations of one
contact by hand (API, admin, agent UI). Either way the same function runs:

- every message, note and event, and the TTL (SLA) history, move to the kept conversation; the
  timeline reads in the order the messages were written;
- the kept conversation takes the more active status of the two (a merged open conversation
  reopens a resolved one) and the earliest wait still unanswered, so a person who was waiting
  keeps waiting from the first moment, and the other wait's clock is closed as "merged";
- the merged conversation stays, resolved, with ``merged_into`` pointing to the kept one: its
  links, reply token and subject reference lead there (the ingest follows ``merged_into``).
"""

from __future__ import annotations

from django.db import OperationalError, transaction
from django.utils import timezone

from hub.db_errors import is_transient
from hub.models import Conversation, Message, SlaRecord
from hub.services import clock
from hub.services.conversations import conversation_changed
from hub.services.errors import ServiceError
from hub.services.timeline import record_event

# The most active status wins: a merged open conversation reopens a resolved one.
_STATUS_RANK = {
    Conversation.Status.OPEN: 0,
    Conversation.Status.PENDING: 1,
    Conversation.Status.SNOOZED: 2,
    Conversation.Status.RESOLVED: 3,
}


def merge_into(keep: Conversation, merged: Conversation, *, reason: str, by=None) -> int:
    """Move ``merged`` into ``keep``; both rows locked by the caller, in its transaction.
    Returns how many timeline items moved."""
    if keep.pk == merged.pk:
        raise ServiceError("A conversation cannot be merged into itself.", field="into")
    if merged.merged_into_id:
        raise ServiceError("That conversation was merged already.", code="conflict")
    now = timezone.now()
    _merge_clocks(keep, merged, now, by)
    moved = Message.objects.filter(conversation=merged).update(conversation=keep)
    SlaRecord.objects.filter(conversation=merged).update(conversation=keep)

    previous_status = keep.status
    if _STATUS_RANK[merged.status] < _STATUS_RANK[keep.status]:
        keep.status = merged.status
        keep.resolved_at = None
        keep.snoozed_until = merged.snoozed_until
    for name in ("last_activity_at", "last_inbound_at", "last_outbound_at"):
        values = [v for v in (getattr(keep, name), getattr(merged, name)) if v is not None]
        setattr(keep, name, max(values) if values else None)
    keep.created_at = min(keep.created_at, merged.created_at)
    keep.priority = max(keep.priority, merged.priority)
    keep.subject = keep.subject or merged.subject
    if keep.assignee_id is None:
        keep.assignee_id = merged.assignee_id
    if keep.resolution_due_at is None:
        keep.resolution_due_at = merged.resolution_due_at
        keep.resolution_breached_at = merged.resolution_breached_at

    merged_status = merged.status
    merged.status = Conversation.Status.RESOLVED
    merged.resolved_at = now
    merged.snoozed_until = None
    merged.merged_into = keep
    merged.resolution_due_at = None

    record_event(
        keep,
        "conversation_merged",
        text=f"Conversation #{merged.pk} merged into this one ({reason}).",
        author=by,
        metadata={"merged": merged.pk, "moved": moved, "reason": reason},
    )
    record_event(
        merged,
        "merged_into",
        text=f"Merged into conversation #{keep.pk} ({reason}).",
        author=by,
        metadata={"into": keep.pk, "moved": moved, "reason": reason},
    )
    keep_changes: dict = {"merged": [merged.pk]}
    if keep.status != previous_status:
        keep_changes["status"] = [previous_status, keep.status]
    conversation_changed(keep, keep_changes)
    conversation_changed(
        merged, {"merged_into": [None, keep.pk], "status": [merged_status, merged.status]}
    )
    return moved


def _merge_clocks(keep: Conversation, merged: Conversation, now, by) -> None:
    """One clock for the merged thread: the earlier wait still unanswered; the other one is
    closed with the reason "merged"."""
    if merged.waiting_since is not None and (
        keep.waiting_since is None or merged.waiting_since < keep.waiting_since
    ):
        clock.stop(keep, now, by=by, reason="merged")
        for name in clock.STATE_FIELDS:
            setattr(keep, name, getattr(merged, name))
        clock.clear(merged)  # its record runs on, now the kept conversation's
    else:
        clock.stop(merged, now, by=by, reason="merged")


def merge_conversations(keep: Conversation, merged: Conversation, *, by=None) -> Conversation:
    """An agent's merge: ``merged`` into ``keep``, both of the same contact.

    The two rows are locked in id order; a message arriving at that moment may lock them the
    other way round (the ingest holds its own conversation first). PostgreSQL then aborts one
    of the two: here that is a ``ServiceError`` ("try again"), not a server error."""
    try:
        return _merge_conversations(keep, merged, by=by)
    except OperationalError as exc:
        if not is_transient(exc):
            raise
        raise ServiceError(
            "The conversations changed while merging; try again.", code="conflict"
        ) from exc


@transaction.atomic
def _merge_conversations(keep: Conversation, merged: Conversation, *, by=None) -> Conversation:
    # Lock in id order: two merges of the same pair the other way round wait, not deadlock.
    rows = {
        c.pk: c
        for c in Conversation.objects.select_for_update(of=("self",))
        .filter(pk__in=[keep.pk, merged.pk])
        .order_by("pk")
    }
    keep, merged = rows[keep.pk], rows[merged.pk]
    if keep.merged_into_id:
        raise ServiceError(
            f"Conversation #{keep.pk} was merged into #{keep.merged_into_id}; merge into that one.",
            field="into",
            code="conflict",
        )
    if keep.contact_id != merged.contact_id:
        raise ServiceError("Only conversations of the same contact can be merged.", field="into")
    merge_into(keep, merged, reason="merged by an agent", by=by)
    return keep
