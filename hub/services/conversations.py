"""State changes of a conversation: notes, assignment, resolve, reopen, snooze.

Every entry point (REST API, admin actions, agent UI, bot, SLA engine) calls these.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from hub.models import Conversation, Message, Team
from hub.payloads import conversation_payload, message_payload
from hub.services import clock, realtime, webhooks
from hub.services.errors import ServiceError
from hub.services.timeline import record_event
from hub.text import clean_text

User = get_user_model()


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _refuse_merged(conversation: Conversation) -> None:
    if conversation.merged_into_id:
        raise ServiceError(
            gettext("This conversation was merged into #%(id)d.")
            % {"id": conversation.merged_into_id},
            code="conflict",
        )


def conversation_changed(conversation: Conversation, changes: dict) -> None:
    """Save and announce a change (webhook ``conversation.updated`` + realtime)."""
    conversation.save()
    payload = conversation_payload(conversation)
    payload["changes"] = changes
    webhooks.emit("conversation.updated", payload)
    realtime.publish(conversation, "conversation.updated", payload)


@transaction.atomic
def add_note(conversation: Conversation, *, author, text: str) -> Message:
    text = clean_text(text)
    if not text:
        raise ServiceError("A note needs some text.", field="text")
    conversation = _locked(conversation)
    _refuse_merged(conversation)
    note = Message.objects.create(
        conversation=conversation,
        kind=Message.Kind.NOTE,
        channel=conversation.channel,
        author=author,
        text=text,
        occurred_at=timezone.now(),
    )
    realtime.publish(conversation, "message.created", message_payload(note))
    return note


def _may_handle(user, team: Team) -> bool:
    return user.is_superuser or team.members.filter(pk=user.pk).exists()


@transaction.atomic
def assign(
    conversation: Conversation,
    *,
    assignee=None,
    team: Team | None = None,
    by=None,
) -> Conversation:
    """Give the conversation to ``assignee`` (None: unassign) and/or move it to ``team``."""
    conversation = _locked(conversation)
    new_team = team or conversation.team
    if assignee is not None:
        if not assignee.is_active:
            raise ServiceError("That user is not active.", field="assignee")
        if not _may_handle(assignee, new_team):
            raise ServiceError(f"{assignee} is not a member of team {new_team}.", field="assignee")
    changes = {}
    if new_team.pk != conversation.team_id:
        changes["team_id"] = [conversation.team_id, new_team.pk]
        conversation.team = new_team
    new_assignee_id = assignee.pk if assignee else None
    if new_assignee_id != conversation.assignee_id:
        changes["assignee_id"] = [conversation.assignee_id, new_assignee_id]
        conversation.assignee = assignee
    if not changes:
        return conversation
    if "assignee_id" in changes:
        text = f"Assigned to {assignee}" if assignee else "Unassigned"
        record_event(conversation, "assigned", text=text, author=by, metadata=changes)
    if "team_id" in changes:
        record_event(
            conversation,
            "team_changed",
            text=f"Moved to team {new_team}",
            author=by,
            metadata=changes,
        )
    conversation_changed(conversation, changes)
    return conversation


@transaction.atomic
def resolve(conversation: Conversation, *, by=None) -> Conversation:
    conversation = _locked(conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        return conversation
    previous = conversation.status
    now = timezone.now()
    conversation.status = Conversation.Status.RESOLVED
    conversation.resolved_at = now
    conversation.snoozed_until = None
    clock.stop(conversation, now, by=by, reason="resolved")
    record_event(conversation, "resolved", text="Resolved", author=by)
    conversation_changed(conversation, {"status": [previous, conversation.status]})
    return conversation


def _reopen(conversation: Conversation, *, by=None, reason: str = "") -> str:
    """Reopen a locked conversation in place (used by ``reopen`` and by ``ingest``)."""
    previous = conversation.status
    conversation.status = Conversation.Status.OPEN
    conversation.resolved_at = None
    conversation.snoozed_until = None
    record_event(conversation, "reopened", text="Reopened", author=by, metadata={"reason": reason})
    return previous


@transaction.atomic
def reopen(conversation: Conversation, *, by=None) -> Conversation:
    conversation = _locked(conversation)
    _refuse_merged(conversation)
    if conversation.status == Conversation.Status.OPEN:
        return conversation
    previous = _reopen(conversation, by=by, reason="manual")
    conversation_changed(conversation, {"status": [previous, conversation.status]})
    return conversation


@transaction.atomic
def snooze(conversation: Conversation, *, until: datetime, by=None) -> Conversation:
    if until <= timezone.now():
        raise ServiceError("Snooze until a time in the future.", field="until")
    conversation = _locked(conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        raise ServiceError("A resolved conversation cannot be snoozed.", code="conflict")
    previous = conversation.status
    conversation.status = Conversation.Status.SNOOZED
    conversation.snoozed_until = until
    clock.pause(conversation, timezone.now())
    record_event(
        conversation,
        "snoozed",
        text=f"Snoozed until {until.isoformat()}",
        author=by,
        metadata={"until": until.isoformat()},
    )
    conversation_changed(conversation, {"status": [previous, conversation.status]})
    return conversation


@transaction.atomic
def mark_pending(conversation: Conversation, *, by=None) -> Conversation:
    """Waiting on the person (e.g. for details they must send): the TTL clock pauses until they
    write again."""
    conversation = _locked(conversation)
    if conversation.status == Conversation.Status.RESOLVED:
        raise ServiceError("Reopen the conversation first.", code="conflict")
    if conversation.status == Conversation.Status.PENDING:
        return conversation
    previous = conversation.status
    conversation.status = Conversation.Status.PENDING
    conversation.snoozed_until = None
    clock.pause(conversation, timezone.now())
    record_event(conversation, "pending", text="Waiting for the person", author=by)
    conversation_changed(conversation, {"status": [previous, conversation.status]})
    return conversation


def wake_up(conversation: Conversation, now) -> None:
    """A snooze ended (called by the SLA sweep with the row locked): open again, clock on."""
    previous = conversation.status
    conversation.status = Conversation.Status.OPEN
    conversation.snoozed_until = None
    record_event(conversation, "snooze_ended", text="Snooze ended")
    clock.resume(conversation, now)
    conversation_changed(conversation, {"status": [previous, conversation.status]})
