"""A conversation's temperature: how heated it is, from what the person wrote and what happened.

The score (0-100) adds up:

- the person's last messages: the temperature label the analyser gave each of the last five
  inbound messages (angry 60, annoyed 35, urgent 30, calm 0), weighted by recency (the latest
  counts fully, the one before 70 %, then 50, 35, 25 %); the strongest one counts, plus 15 when
  the latest threatens to leave, review, dispute or sue;
- the situation: messages in a row without an answer (5 per message after the first, at most
  20), a long back-and-forth (10 from six turns), the wait against the TTL (5 past half of it,
  15 past the warning share, 30 past the due time), an earlier TTL breach (15), a thread
  reopened by the person (10).

Levels: ``hot`` from 60, ``warm`` from 30, else ``calm``. It is recomputed on an inbound message
that waits for an answer, on a reply, and when the SLA sweep warns or breaches (only the
conversations it acts on): never by a sweep of every open conversation. When the level changes,
``TemperaturePolicy`` rules may raise the priority (a timeline event says why), and the change
goes out as ``conversation.updated`` with ``changes.temperature``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from hub.models import Conversation, Message, SlaRecord, Temperature, TemperaturePolicy
from hub.payloads import conversation_payload
from hub.services import realtime, webhooks
from hub.services.timeline import record_event

LABEL_POINTS = {"angry": 60, "annoyed": 35, "urgent": 30, "calm": 0}
RECENCY_WEIGHTS = (1.0, 0.7, 0.5, 0.35, 0.25)
THREAT_SIGNALS = ("threat_to_leave", "threat_review", "threat_dispute", "threat_legal")
THREAT_POINTS = 15
UNANSWERED_POINTS, UNANSWERED_MAX = 5, 20
LONG_EXCHANGE_TURNS, LONG_EXCHANGE_POINTS = 6, 10
TTL_POINTS = ((1.0, 30, "ttl_passed"), (0.75, 15, "ttl_near"), (0.5, 5, "ttl_half"))
BREACH_POINTS = 15
REOPENED_POINTS = 10
HOT_FROM, WARM_FROM = 60, 30
HISTORY = 20  # timeline items read


@dataclass(frozen=True)
class Reading:
    level: str
    score: int
    reasons: list[dict]


def level_of(score: int) -> str:
    if score >= HOT_FROM:
        return Temperature.HOT
    if score >= WARM_FROM:
        return Temperature.WARM
    return Temperature.CALM


def measure(conversation: Conversation, now: datetime) -> Reading:
    """The temperature of ``conversation`` at ``now`` (two queries: its latest timeline items and
    whether an earlier TTL was breached)."""
    items = list(
        Message.objects.filter(
            Q(kind=Message.Kind.MESSAGE, is_auto_reply=False)
            | Q(kind=Message.Kind.EVENT, event_type="reopened"),
            conversation_id=conversation.pk,
        )
        .order_by("-occurred_at", "-id")
        .values_list("kind", "direction", "analysis", "metadata")[:HISTORY]
    )
    breached_before = conversation.breached_at is not None or (
        SlaRecord.objects.filter(conversation_id=conversation.pk, breached=True).exists()
    )
    return score_of(conversation, items, breached_before, now)


def score_of(conversation: Conversation, items, breached_before: bool, now: datetime) -> Reading:
    """The reading of ``items`` (newest first: kind, direction, analysis, metadata) and the
    conversation's clock (pure: the tests give it any situation)."""
    reasons: list[dict] = []
    messages = [item for item in items if item[0] == Message.Kind.MESSAGE]
    inbound = [item for item in messages if item[1] == Message.Direction.INBOUND]

    strongest = None
    for weight, item in zip(RECENCY_WEIGHTS, inbound, strict=False):
        label = (item[2] or {}).get("temperature", "")
        points = round(LABEL_POINTS.get(label, 0) * weight)
        if points and (strongest is None or points > strongest["points"]):
            strongest = {"code": f"message_{label}", "points": points, "recency": weight}
    if strongest:
        reasons.append(strongest)
    if inbound:
        latest_signals = set((inbound[0][2] or {}).get("signals", ()))
        threats = sorted(latest_signals.intersection(THREAT_SIGNALS))
        if threats:
            reasons.append({"code": "threat", "points": THREAT_POINTS, "signals": threats})

    unanswered = 0
    for item in messages:
        if item[1] != Message.Direction.INBOUND:
            break
        unanswered += 1
    if unanswered >= 2:
        points = min(UNANSWERED_MAX, UNANSWERED_POINTS * (unanswered - 1))
        reasons.append({"code": "unanswered", "points": points, "count": unanswered})

    turns = sum(1 for newer, older in itertools.pairwise(messages) if newer[1] != older[1])
    if turns >= LONG_EXCHANGE_TURNS:
        reasons.append({"code": "long_exchange", "points": LONG_EXCHANGE_POINTS, "count": turns})

    ttl = _ttl_reason(conversation, now)
    if ttl:
        reasons.append(ttl)

    if breached_before:
        reasons.append({"code": "breached_before", "points": BREACH_POINTS})
    if any(
        item[0] == Message.Kind.EVENT and (item[3] or {}).get("reason") == "inbound message"
        for item in items
    ):
        reasons.append({"code": "reopened", "points": REOPENED_POINTS})

    score = min(100, sum(reason["points"] for reason in reasons))
    return Reading(level_of(score), score, reasons)


def _ttl_reason(conversation: Conversation, now: datetime) -> dict | None:
    """How much of the running TTL the person has waited (wall-clock share of the interval from
    ``waiting_since`` to ``due_at``)."""
    if not (
        conversation.waiting_since
        and conversation.due_at
        and conversation.clock_remaining is None
        and conversation.due_at > conversation.waiting_since
    ):
        return None
    share = (now - conversation.waiting_since) / (conversation.due_at - conversation.waiting_since)
    for threshold, points, code in TTL_POINTS:
        if share >= threshold:
            return {"code": code, "points": points, "share": round(share, 2)}
    return None


def refresh(conversation: Conversation, now: datetime) -> dict:
    """Recompute the temperature of the locked ``conversation`` onto it (the caller saves it)
    and apply the priority policy when the level changed (a timeline event). Returns the changes
    for ``conversation.updated``: ``temperature`` and ``priority`` as ``[before, after]``."""
    return apply(conversation, measure(conversation, now))


def on_clock(conversation: Conversation, now: datetime, *, breached: bool = False) -> dict:
    """At an SLA warning or breach only the clock's part of the reading changes: the stored
    reasons with the TTL's (and the breach) brought up to ``now``, without a query. As
    ``refresh``."""
    return apply(conversation, clock_reading(conversation, now, breached=breached))


def clock_reading(conversation: Conversation, now: datetime, *, breached: bool = False) -> Reading:
    reasons = [
        reason
        for reason in conversation.temperature_reasons or []
        if not str(reason.get("code", "")).startswith("ttl_")
    ]
    ttl = _ttl_reason(conversation, now)
    if ttl:
        reasons.append(ttl)
    if breached and not any(reason.get("code") == "breached_before" for reason in reasons):
        reasons.append({"code": "breached_before", "points": BREACH_POINTS})
    score = min(100, sum(int(reason.get("points", 0)) for reason in reasons))
    return Reading(level_of(score), score, reasons)


def apply(conversation: Conversation, reading: Reading) -> dict:
    """Put ``reading`` on ``conversation`` (unsaved) and, when the level changes, the priority
    policy. Returns the changes (``temperature``, ``priority``)."""
    changes: dict = {}
    before = conversation.temperature
    conversation.temperature_score = reading.score
    conversation.temperature_reasons = reading.reasons
    if reading.level == before:
        return changes
    conversation.temperature = reading.level
    changes["temperature"] = [before, reading.level]
    raised = _apply_policy(conversation, reading)
    if raised:
        changes["priority"] = raised
    return changes


def _apply_policy(conversation: Conversation, reading: Reading) -> list[int] | None:
    """Raise the priority to the highest minimum of the active rules for the new level that
    match the conversation's team and endpoint; never lower it."""
    if reading.level == Temperature.CALM:
        return None
    minimum = (
        TemperaturePolicy.objects.filter(level=reading.level, is_active=True)
        .filter(Q(team__isnull=True) | Q(team_id=conversation.team_id))
        .filter(Q(endpoint__isnull=True) | Q(endpoint_id=conversation.endpoint_id))
        .aggregate(value=Max("minimum_priority"))["value"]
    )
    if minimum is None or minimum <= conversation.priority:
        return None
    before = conversation.priority
    conversation.priority = minimum
    codes = [reason["code"] for reason in reading.reasons]
    record_event(
        conversation,
        "priority_raised",
        text=f"Priority raised from {before} to {minimum}: temperature {reading.level} "
        f"({', '.join(codes)})",
        metadata={
            "priority": [before, minimum],
            "temperature": reading.level,
            "score": reading.score,
            "reasons": codes,
        },
    )
    return [before, minimum]


def announce(conversation: Conversation, changes: dict) -> None:
    """``conversation.updated`` (webhook and realtime) for a saved change of temperature."""
    payload = conversation_payload(conversation)
    payload["changes"] = changes
    webhooks.emit("conversation.updated", payload)
    realtime.publish(conversation, "conversation.updated", payload)
