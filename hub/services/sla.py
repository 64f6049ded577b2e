"""The SLA engine: the sweep that acts on conversations whose TTL warning or expiry is due.

Each open conversation stores ``next_check_at`` (indexed, derived on save). The beat task calls
``sweep`` every few seconds: it takes only the due rows, in batches, with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the work and none
acts twice; the ``warned_at`` / ``breached_at`` marks make each action idempotent. The cost follows
what is due, not what is open.

Before expiry (the policy's warning share of the TTL): the team and assignee are warned; with an
automatic handoff policy the person is told, on their channel, that the answer will take longer
and where it will come, and the thread moves to that channel. At expiry: the breach is recorded
with its durations and the conversation is escalated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, When
from django.db.models.functions import Least
from django.template import Context, Template
from django.utils import formats, timezone, translation

from hub.adapters import OutboundRefused
from hub.models import Conversation, MessageTemplate, SlaRecord, Team, TtlPolicy
from hub.payloads import conversation_payload
from hub.services import clock, realtime, temperature
from hub.services.conversations import conversation_changed, wake_up
from hub.services.errors import ServiceError
from hub.services.handoff import handoff, plan, target_address
from hub.services.outbound import send_reply
from hub.services.policies import ResolvedPolicy, policy_for
from hub.services.timeline import insert_events, record_event
from hub.services.understanding import language_for

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    handoffs: int = 0
    wakeups: int = 0


def sweep(
    now: datetime | None = None, *, batch_size: int = 1000, max_batches: int = 20
) -> SweepResult:
    """Act on every conversation due by ``now``; returns what was done."""
    result = SweepResult()
    for _ in range(max_batches):
        taken = _sweep_batch(now or timezone.now(), batch_size, result)
        if taken < batch_size:
            break
    return result


def due_conversations(now: datetime, limit: int) -> list[Conversation]:
    """Lock and return up to ``limit`` due conversations (call inside a transaction). Rows
    another sweep holds are skipped, not waited for. Whole rows: Django builds an instance of
    a partly loaded row (``only()``) twice as slowly as a whole one, and the handoff path
    needs whole rows anyway."""
    qs = Conversation.objects.filter(next_check_at__lte=now).order_by("next_check_at")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs[:limit])


def _sweep_batch(now: datetime, batch_size: int, result: SweepResult) -> int:
    with transaction.atomic():
        due = due_conversations(now, batch_size)
        plain, other = [], []
        for conversation in due:
            # Plain warnings in bulk; anything else (handoff, breach, escalation) one by one.
            (plain if _only_a_warning(conversation, now) else other).append(conversation)
        if plain and not other and connection.vendor == "postgresql":
            # Warnings only: commit without waiting for the WAL flush. A crash could lose this
            # commit (never corrupt anything); the rows are then still due and the next sweep
            # warns again. Batches that hand off or escalate (messages to people) commit as
            # usual.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        if plain:
            warn_many(plain, now)
            result.warnings += len(plain)
        for conversation in other:
            try:
                with transaction.atomic():
                    process(conversation, now, result)
            except Exception:
                logger.exception("SLA sweep failed on conversation %s", conversation.pk)
        result.checked += len(due)
    return len(due)


def _only_a_warning(conversation: Conversation, now: datetime) -> bool:
    """Whether all that is due is a warning without a handoff: the common case, done in bulk."""
    return (
        conversation.status == Conversation.Status.OPEN
        and conversation.waiting_since is not None
        and conversation.clock_remaining is None
        and conversation.warn_at is not None
        and conversation.warned_at is None
        and conversation.warn_at <= now
        and (conversation.due_at is None or conversation.due_at > now)
        and (conversation.resolution_due_at is None or conversation.resolution_due_at > now)
        and policy_for(conversation).handoff_mode != TtlPolicy.HandoffMode.AUTOMATIC
    )


def warn_many(conversations: list[Conversation], now: datetime) -> None:
    """Warn on many conversations with a few statements: mark them, add their timeline events,
    and push one realtime batch per team."""
    events = []
    for conversation in conversations:
        due = conversation.due_at.isoformat()
        events.append(
            {
                "conversation_id": conversation.pk,
                "channel": conversation.channel,
                "event_type": "sla_warning",
                "text": f"Reply due by {due}",
                "metadata": {"due_at": due, "assignee_id": conversation.assignee_id},
                "occurred_at": now,
            }
        )
    # One UPDATE for the batch. After a warning the next check is the expiry (or the resolution
    # deadline, whichever comes first; _only_a_warning guarantees both are in the future): the
    # rule of Conversation.derive_next_check, in SQL. A test holds the two to the same result.
    Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(
        warned_at=now,
        updated_at=now,
        next_check_at=Case(
            When(resolution_due_at__isnull=True, then=F("due_at")),
            When(due_at__isnull=True, then=F("resolution_due_at")),
            default=Least("due_at", "resolution_due_at"),
        ),
    )
    SlaRecord.objects.filter(
        pk__in=[c.sla_record_id for c in conversations if c.sla_record_id]
    ).update(warned=True)
    insert_events(events)
    _warm_many(conversations, now)
    by_team: dict[int, list] = {}
    for conversation in conversations:
        # Agents' clients refetch the row; the push says which and when it is due.
        by_team.setdefault(conversation.team_id, []).append(
            {
                "id": conversation.pk,
                "team_id": conversation.team_id,
                "assignee_id": conversation.assignee_id,
                "due_at": conversation.due_at.isoformat(),
            }
        )
    for team_id, payloads in by_team.items():
        realtime.publish_batch(team_id, "sla.warning", payloads)


def _warm_many(conversations: list[Conversation], now: datetime) -> None:
    """The temperature of warned conversations: the TTL's part of each reading grows (no query
    per conversation); one bulk UPDATE of the readings, and one by one the few whose level
    changes (priority policy, timeline event, ``conversation.updated``)."""
    moved, changed = [], []
    for conversation in conversations:
        reading = temperature.clock_reading(conversation, now)
        if reading.level != conversation.temperature:
            moved.append(conversation)
        else:
            conversation.temperature_score = reading.score
            conversation.temperature_reasons = reading.reasons
            changed.append(conversation)
    if changed:
        Conversation.objects.bulk_update(changed, ["temperature_score", "temperature_reasons"])
    for conversation in moved:
        conversation.warned_at = now  # as the UPDATE above stored it
        changes = temperature.on_clock(conversation, now)
        conversation.save()
        temperature.announce(conversation, changes)


def process(conversation: Conversation, now: datetime, result: SweepResult) -> None:
    """Everything due on one (locked) conversation, each step at most once."""
    if (
        conversation.status == Conversation.Status.SNOOZED
        and conversation.snoozed_until
        and conversation.snoozed_until <= now
    ):
        wake_up(conversation, now)
        result.wakeups += 1
    running = conversation.waiting_since is not None and conversation.clock_remaining is None
    if (
        running
        and conversation.warn_at
        and not conversation.warned_at
        and now >= conversation.warn_at
    ):
        warn(conversation, now, result)
        conversation.refresh_from_db()
    if (
        running
        and conversation.due_at
        and not conversation.breached_at
        and now >= conversation.due_at
    ):
        breach(conversation, now)
        result.breaches += 1
    if (
        conversation.resolution_due_at
        and not conversation.resolution_breached_at
        and conversation.status != Conversation.Status.RESOLVED
        and now >= conversation.resolution_due_at
    ):
        breach_resolution(conversation, now)
        result.breaches += 1
    conversation.save()


def warn(conversation: Conversation, now: datetime, result: SweepResult) -> None:
    conversation.warned_at = now
    if conversation.sla_record is not None:
        conversation.sla_record.warned = True
        conversation.sla_record.save(update_fields=["warned"])
    changes = temperature.on_clock(conversation, now)
    conversation.save()
    if changes:
        temperature.announce(conversation, changes)
    record_event(
        conversation,
        "sla_warning",
        text=f"Reply due by {conversation.due_at.isoformat()}",
        metadata={
            "due_at": conversation.due_at.isoformat(),
            "assignee_id": conversation.assignee_id,
        },
    )
    realtime.publish(conversation, "sla.warning", conversation_payload(conversation))
    result.warnings += 1
    policy = policy_for(conversation)
    if policy.handoff_mode == TtlPolicy.HandoffMode.AUTOMATIC and hand_off_in_time(
        conversation, policy, now
    ):
        result.handoffs += 1


def _language(conversation: Conversation) -> str:
    """The person's language: their contact's (chosen, else learned from their messages), else
    their endpoint's, else the site's. (Never the thread's active language: that belongs to
    whoever triggered the sweep.)"""
    return language_for(conversation.contact, conversation.endpoint)


def render_template(key: str, language: str, context: dict) -> str:
    template = (
        MessageTemplate.objects.filter(key=key, language=language).first()
        or MessageTemplate.objects.filter(key=key, language="en").first()
    )
    if template is None:
        raise ServiceError(f"No message template {key!r}.", code="no_template")
    return Template(template.text).render(Context(context, autoescape=False)).strip()


def _local_time(moment: datetime, policy: ResolvedPolicy, language: str) -> str:
    zone = policy.schedule.zone if policy.schedule else timezone.get_default_timezone()
    with translation.override(language):
        text = formats.date_format(moment.astimezone(zone), "j F, H:i")
    # Django's Italian month names are capitalised; in running Italian text they are not.
    return text.lower() if language == "it" else text


def hand_off_in_time(conversation: Conversation, policy: ResolvedPolicy, now: datetime) -> bool:
    """Tell the person the answer will take longer and where it will come, then move the thread
    to the first handoff channel we have an address on. With no address (typically chat with an
    unknown email) the message asks for one instead. Returns whether the thread moved."""
    language = _language(conversation)
    name = (conversation.contact.name or "").split(" ")[0]
    for channel in policy.handoff_channels:
        try:
            endpoint, address = plan(conversation, channel, automatic=True)
        except ServiceError:
            continue
        target = Conversation(
            channel=channel,
            team_id=conversation.team_id,
            endpoint=endpoint,
            clock_kind=conversation.clock_kind,
        )
        target_policy = policy_for(target)
        ttl = target_policy.ttl(conversation.clock_kind)
        due = (
            clock.add_time(conversation.waiting_since, ttl, target_policy.schedule) if ttl else None
        )
        text = render_template(
            "expectation_handoff",
            language,
            {
                "name": name,
                "address": address.value,
                "channel": channel,
                "due_time": _local_time(due, target_policy, language) if due else "",
            },
        )
        try:
            send_reply(
                conversation,
                text=text,
                counts_as_response=False,
                automatic=True,
                metadata={"sla": "expectation", "handoff_to": channel},
            )
        except (OutboundRefused, ServiceError) as exc:
            record_event(conversation, "handoff_failed", text=str(exc))
            return False
        handoff(conversation, channel=channel, reason="ttl")
        return True
    if (
        "email" in policy.handoff_channels
        and target_address(conversation, "email", automatic=True) is None
    ):
        text = render_template("expectation_ask_email", language, {"name": name})
        try:
            send_reply(
                conversation,
                text=text,
                counts_as_response=False,
                automatic=True,
                metadata={"sla": "expectation", "asks_for": "email"},
            )
        except (OutboundRefused, ServiceError) as exc:
            record_event(conversation, "handoff_failed", text=str(exc))
    return False


def breach(conversation: Conversation, now: datetime) -> None:
    policy = policy_for(conversation)
    conversation.breached_at = now
    waited = clock.elapsed(conversation.waiting_since, now, policy.schedule)
    record = conversation.sla_record
    if record is not None:
        record.breached = True
        record.breached_at = now
        record.save(update_fields=["breached", "breached_at"])
    ttl = policy.ttl(conversation.clock_kind)
    heated = temperature.on_clock(conversation, now, breached=True)
    record_event(
        conversation,
        "sla_breached",
        text=f"TTL missed: waiting {clock.describe(waited)}"
        + (f", TTL {clock.describe(ttl)}" if ttl else ""),
        metadata={
            "kind": conversation.clock_kind,
            "waited_seconds": int(waited.total_seconds()),
            "ttl_seconds": int(ttl.total_seconds()) if ttl else None,
        },
    )
    escalate(conversation, policy, heated)


def breach_resolution(conversation: Conversation, now: datetime) -> None:
    policy = policy_for(conversation)
    conversation.resolution_breached_at = now
    SlaRecord.objects.create(
        conversation=conversation,
        kind=SlaRecord.Kind.RESOLUTION,
        channel=conversation.channel,
        team_id=conversation.team_id,
        agent_id=conversation.assignee_id,
        started_at=conversation.created_at,
        due_at=conversation.resolution_due_at,
        waited=clock.elapsed(conversation.created_at, now, policy.schedule),
        breached=True,
        breached_at=now,
        outcome=SlaRecord.Outcome.BREACHED,
    )
    record_event(conversation, "sla_resolution_breached", text="Resolution TTL missed")
    escalate(conversation, policy)


def escalate(
    conversation: Conversation, policy: ResolvedPolicy, heated: dict | None = None
) -> None:
    """Raise the priority and hand the conversation to the escalation team, else the team lead.
    ``heated``: the changes of temperature (and priority) the breach made, announced with it."""
    heated = dict(heated or {})
    before = heated.pop("priority", [conversation.priority])[0]
    conversation.priority += 1
    changes: dict = {**heated, "priority": [before, conversation.priority]}
    target = None
    if policy.escalation_team_id and policy.escalation_team_id != conversation.team_id:
        changes["team_id"] = [conversation.team_id, policy.escalation_team_id]
        conversation.team_id = policy.escalation_team_id
        target = Team.objects.get(pk=policy.escalation_team_id).name
    elif conversation.assignee_id is None:
        lead_id = (
            Team.objects.filter(pk=conversation.team_id).values_list("lead", flat=True).first()
        )
        if lead_id:
            changes["assignee_id"] = [None, lead_id]
            conversation.assignee_id = lead_id
            target = "the team lead"
    record_event(
        conversation,
        "escalated",
        text=f"Escalated to {target}" if target else "Priority raised",
        metadata=changes,
    )
    conversation_changed(conversation, changes)
    realtime.publish(conversation, "sla.breached", conversation_payload(conversation))
