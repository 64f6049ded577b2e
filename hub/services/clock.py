"""The TTL clock of a conversation (DESIGN.md pillar 1).

It starts when a person's message waits for an answer, stops on an agent's or the bot's reply,
pauses while the conversation is pending on the person or snoozed, and resumes after. Each run is
an ``SlaRecord`` (for reports) and every transition is an event on the timeline. The functions
change the conversation in memory; the caller (a service holding the row lock) saves it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.business_hours import add_time, elapsed

__all__ = ["add_time", "elapsed", "pause", "resume", "retime", "start", "stop"]
from hub.models import Conversation, SlaRecord
from hub.services.policies import ResolvedPolicy, policy_for
from hub.services.timeline import record_event


def describe(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


def _time(conversation: Conversation, policy: ResolvedPolicy, *, since: datetime) -> None:
    """Set warn/due times of the running clock from ``since`` for its full TTL."""
    ttl = policy.ttl(conversation.clock_kind)
    if ttl is None:
        conversation.warn_at = conversation.due_at = None
        return
    conversation.due_at = add_time(since, ttl, policy.schedule)
    conversation.warn_at = add_time(since, ttl * policy.warning_percent / 100, policy.schedule)


def start(conversation: Conversation, at: datetime, policy: ResolvedPolicy | None = None) -> None:
    """A person's message is waiting. A running clock keeps its start (the earliest wait
    counts); a paused one resumes."""
    if conversation.clock_remaining is not None:
        resume(conversation, at, policy)
        return
    if conversation.waiting_since is not None:
        return
    policy = policy or policy_for(conversation)
    conversation.waiting_since = at
    conversation.clock_kind = (
        SlaRecord.Kind.FIRST_RESPONSE
        if conversation.last_outbound_at is None
        else SlaRecord.Kind.NEXT_RESPONSE
    )
    conversation.warned_at = conversation.breached_at = None
    _time(conversation, policy, since=at)
    if conversation.resolution_due_at is None and policy.resolution:
        conversation.resolution_due_at = add_time(
            conversation.created_at, policy.resolution, policy.schedule
        )
    if conversation.due_at is None:
        conversation.sla_record = None
        return
    conversation.sla_record = SlaRecord.objects.create(
        conversation=conversation,
        kind=conversation.clock_kind,
        channel=conversation.channel,
        team_id=conversation.team_id,
        started_at=at,
        due_at=conversation.due_at,
    )
    record_event(
        conversation,
        "sla_started",
        text=f"Reply due by {conversation.due_at.isoformat()}",
        metadata={"kind": conversation.clock_kind, "due_at": conversation.due_at.isoformat()},
        occurred_at=at,
    )


def stop(conversation: Conversation, at: datetime, *, by=None, reason: str = "reply") -> None:
    """The wait is over (a reply, the conversation was resolved, or merged into another wait).

    The outcome is decided here, from the times, whatever the sweep did: breached when the due
    time had come (``at`` at or after the stored due time of a running clock, which already
    counts business hours; no time left on a paused one), else met. A clock closed by a merge
    in time is neither: the person's wait goes on in the clock the merge keeps.
    """
    if conversation.waiting_since is None:
        return
    record = conversation.sla_record
    if record is not None:
        policy = policy_for(conversation)
        late = _due_time_came(conversation, record, at)
        record.stopped_at = at
        record.waited = elapsed(record.started_at, at, policy.schedule)
        record.agent = by or conversation.assignee
        record.breached = late
        record.breached_at = (record.breached_at or record.due_at) if late else None
        if late:
            record.outcome = SlaRecord.Outcome.BREACHED
        elif reason == "merged":
            record.outcome = SlaRecord.Outcome.MERGED
        else:
            record.outcome = SlaRecord.Outcome.MET
        record.save(
            update_fields=["stopped_at", "waited", "agent", "breached", "breached_at", "outcome"]
        )
        record_event(
            conversation,
            "sla_stopped",
            text=_stopped_text(reason, record.waited, late),
            author=by,
            metadata={
                "reason": reason,
                "waited_seconds": int(record.waited.total_seconds()),
                "breached": record.breached,
                "outcome": record.outcome,
            },
        )
    clear(conversation)


def _due_time_came(conversation: Conversation, record: SlaRecord, at: datetime) -> bool:
    """Whether the wait's due time had come by ``at``. A paused clock holds the time it had
    left when it paused (none: the due time had passed by then); a running one compares with
    its stored due time (the sweep breaches at ``now >= due_at``: the same rule)."""
    if conversation.clock_remaining is not None:
        return conversation.clock_remaining <= timedelta(0)
    return conversation.due_at is not None and at >= conversation.due_at


def _stopped_text(reason: str, waited: timedelta, late: bool) -> str:
    text = (
        f"Answered after {describe(waited)}"
        if reason == "reply"
        else f"Clock stopped ({reason}) after {describe(waited)}"
    )
    return f"{text}, past the TTL" if late else text


# A conversation's running clock: what ``clear`` empties and a merge moves as a whole.
STATE_FIELDS = (
    "waiting_since",
    "clock_kind",
    "warn_at",
    "due_at",
    "warned_at",
    "breached_at",
    "clock_remaining",
    "sla_record",
)


def clear(conversation: Conversation) -> None:
    """No clock on ``conversation`` (its record, if any, left as it is)."""
    for name in STATE_FIELDS:
        setattr(conversation, name, "" if name == "clock_kind" else None)


def pause(conversation: Conversation, at: datetime) -> None:
    """Pending on the person or snoozed: keep the open time left, clear the due times."""
    if conversation.waiting_since is None or conversation.clock_remaining is not None:
        return
    policy = policy_for(conversation)
    remaining = timedelta(0)
    if conversation.due_at is not None:
        remaining = elapsed(at, conversation.due_at, policy.schedule)
    conversation.clock_remaining = remaining
    conversation.warn_at = conversation.due_at = None
    record_event(
        conversation,
        "sla_paused",
        text=f"Clock paused, {describe(remaining)} left",
        metadata={"remaining_seconds": int(remaining.total_seconds())},
    )


def resume(conversation: Conversation, at: datetime, policy: ResolvedPolicy | None = None) -> None:
    if conversation.clock_remaining is None:
        return
    policy = policy or policy_for(conversation)
    remaining = conversation.clock_remaining
    conversation.clock_remaining = None
    ttl = policy.ttl(conversation.clock_kind)
    if ttl is not None and conversation.sla_record is not None:
        conversation.due_at = add_time(at, remaining, policy.schedule)
        warn_left = remaining - ttl * (100 - policy.warning_percent) / 100
        conversation.warn_at = add_time(at, max(warn_left, timedelta(0)), policy.schedule)
        conversation.sla_record.due_at = conversation.due_at
        conversation.sla_record.save(update_fields=["due_at"])
    record_event(
        conversation,
        "sla_resumed",
        text=f"Clock resumed, {describe(remaining)} left",
        metadata={"remaining_seconds": int(remaining.total_seconds())},
    )


def retime(conversation: Conversation) -> None:
    """After a handoff: the running clock follows the new channel's TTL from the original
    start of the wait."""
    if conversation.waiting_since is None or conversation.clock_remaining is not None:
        return
    policy = policy_for(conversation)
    _time(conversation, policy, since=conversation.waiting_since)
    if conversation.sla_record is not None:
        conversation.sla_record.due_at = conversation.due_at
        conversation.sla_record.handed_off = True
        conversation.sla_record.save(update_fields=["due_at", "handed_off"])
