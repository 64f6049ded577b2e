"""The outcome of every TTL clock is decided when it stops, from its times: a late answer is a
breach even when no sweep ran (beat down or lagging), an answer in time is met, a paused clock
counts only the time it ran, and a clock closed by a merge in time counts neither way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from rest_framework.test import APIClient

from hub import services
from hub.models import BusinessHours, Message, SlaRecord, TtlPolicy
from hub.reports import sla_report
from hub.services import ingest, mark_pending, resolve, send_reply
from hub.services import sla as sla_service
from tests.factories import inbound

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def sms(endpoint_for):
    endpoint = endpoint_for("sms")
    TtlPolicy.objects.create(
        channel="sms",
        endpoint=endpoint,
        first_response=timedelta(minutes=10),
        next_response=timedelta(minutes=10),
    )
    return endpoint


def _waiting(endpoint, sender="+393471234567", at=T0):
    return ingest(inbound(endpoint, sender, received_at=at)).conversation


def _at(moment, action, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return action(*args, **kwargs)


def _report(**kwargs):
    (row,) = sla_report(
        since=T0 - timedelta(days=1), until=T0 + timedelta(days=3), group_by="channel", **kwargs
    )
    return row


def test_a_late_answer_is_a_breach_without_any_sweep(sms, agent):
    conversation = _waiting(sms)
    _at(T0 + timedelta(hours=3), send_reply, conversation, text="sorry!", author=agent)
    record = SlaRecord.objects.get()
    assert record.outcome == SlaRecord.Outcome.BREACHED and record.breached
    assert record.breached_at == T0 + timedelta(minutes=10)  # when the TTL ran out
    assert record.waited == timedelta(hours=3)
    event = Message.objects.get(conversation=conversation, event_type="sla_stopped")
    assert event.metadata["breached"] is True and "past the TTL" in event.text
    row = _report()
    assert row["met"] == 0 and row["breaches"] == 1 and row["attainment"] == 0.0


def test_an_answer_in_time_is_met(sms, agent):
    conversation = _waiting(sms)
    _at(T0 + timedelta(minutes=9), send_reply, conversation, text="here", author=agent)
    record = SlaRecord.objects.get()
    assert record.outcome == SlaRecord.Outcome.MET and not record.breached
    assert record.breached_at is None
    assert _report()["attainment"] == 1.0


def test_the_times_decide_even_after_the_sweep(sms, agent):
    conversation = _waiting(sms)
    with time_machine.travel(T0 + timedelta(minutes=11), tick=False):
        sla_service.sweep()
    _at(T0 + timedelta(minutes=20), send_reply, conversation, text="late", author=agent)
    record = SlaRecord.objects.get()
    assert record.outcome == SlaRecord.Outcome.BREACHED
    assert record.breached_at == T0 + timedelta(minutes=11)  # the sweep's mark stays
    assert _report()["breaches"] == 1


def test_resolving_late_without_an_answer_is_a_breach(sms, agent):
    conversation = _waiting(sms)
    _at(T0 + timedelta(hours=1), resolve, conversation, by=agent)
    assert SlaRecord.objects.get().outcome == SlaRecord.Outcome.BREACHED


def test_business_hours_count_as_when_the_due_time_was_set(endpoint_for, team, agent):
    BusinessHours.objects.create(
        team=team,
        time_zone="Europe/Rome",
        weekly={d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    email = endpoint_for("email")
    TtlPolicy.objects.create(
        channel="email",
        endpoint=email,
        first_response=timedelta(hours=4),
        business_hours_only=True,
    )
    rome = ZoneInfo("Europe/Rome")
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=rome)
    first = ingest(inbound(email, "anna@example.com", received_at=friday_5pm)).conversation
    second = ingest(
        inbound(email, "bruno@example.com", received_at=friday_5pm, subject="other")
    ).conversation
    assert first.due_at == datetime(2026, 11, 30, 12, 0, tzinfo=rome)  # Monday noon
    # Sunday: two calendar days later, one business hour: met.
    _at(datetime(2026, 11, 29, 11, 0, tzinfo=rome), send_reply, first, text="a", author=agent)
    # Monday 13:00: an hour past the due time: breached.
    _at(datetime(2026, 11, 30, 13, 0, tzinfo=rome), send_reply, second, text="b", author=agent)
    outcomes = dict(SlaRecord.objects.values_list("conversation_id", "outcome"))
    assert outcomes == {first.pk: "met", second.pk: "breached"}


def test_a_paused_clock_counts_only_the_time_it_ran(sms, agent):
    conversation = _waiting(sms)
    _at(T0 + timedelta(minutes=5), mark_pending, conversation, by=agent)
    # Resolved two days later while still pending: 5 of its 10 minutes had run.
    _at(T0 + timedelta(days=2), resolve, conversation, by=agent)
    record = SlaRecord.objects.get()
    assert record.outcome == SlaRecord.Outcome.MET and not record.breached


def test_a_clock_paused_after_its_due_time_is_a_breach(sms, agent):
    conversation = _waiting(sms)
    _at(T0 + timedelta(minutes=30), mark_pending, conversation, by=agent)  # no sweep ran
    _at(T0 + timedelta(days=2), resolve, conversation, by=agent)
    record = SlaRecord.objects.get()
    assert record.outcome == SlaRecord.Outcome.BREACHED
    assert record.breached_at == T0 + timedelta(minutes=10)


def test_a_resumed_clock_is_judged_on_its_new_due_time(sms, agent):
    """Paused with 5 of its 10 minutes left, resumed a day later: due 5 minutes after."""
    conversation = _waiting(sms)
    _at(T0 + timedelta(minutes=5), mark_pending, conversation, by=agent)
    later = T0 + timedelta(days=1)
    _at(later, ingest, inbound(sms, "+393471234567", text="details", received_at=later))
    conversation.refresh_from_db()
    assert conversation.due_at == later + timedelta(minutes=5)
    _at(later + timedelta(minutes=4), send_reply, conversation, text="thanks", author=agent)
    assert SlaRecord.objects.get().outcome == SlaRecord.Outcome.MET
    # The same, answered 6 minutes after the resume: late.
    other = _waiting(sms, "+393479999999", at=T0)
    _at(T0 + timedelta(minutes=5), mark_pending, other, by=agent)
    _at(later, ingest, inbound(sms, "+393479999999", text="details", received_at=later))
    other.refresh_from_db()
    _at(later + timedelta(minutes=6), send_reply, other, text="thanks", author=agent)
    assert SlaRecord.objects.get(conversation=other).outcome == SlaRecord.Outcome.BREACHED


def test_a_clock_closed_by_a_merge_in_time_counts_neither_way(sms, agent, endpoint_for):
    chat = endpoint_for("chat")
    TtlPolicy.objects.create(channel="chat", endpoint=chat, first_response=timedelta(minutes=10))
    older = _waiting(sms)
    newer = ingest(inbound(chat, "visitor-1", received_at=T0 + timedelta(minutes=2))).conversation
    newer.contact = older.contact
    newer.save(update_fields=["contact"])
    _at(T0 + timedelta(minutes=3), services.merge_conversations, older, newer, by=agent)
    merged = SlaRecord.objects.get(conversation=older, started_at=T0 + timedelta(minutes=2))
    assert merged.outcome == SlaRecord.Outcome.MERGED and not merged.breached
    # The kept wait, answered in time, is the only one that counts.
    older.refresh_from_db()
    _at(T0 + timedelta(minutes=8), send_reply, older, text="both answered", author=agent)
    rows = sla_report(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1), group_by="team")
    assert [(r["met"], r["attainment"], r["breaches"]) for r in rows] == [(1, 1.0, 0)]


def test_a_clock_closed_by_a_merge_after_its_due_time_is_a_breach(sms, agent, endpoint_for):
    chat = endpoint_for("chat")
    TtlPolicy.objects.create(channel="chat", endpoint=chat, first_response=timedelta(minutes=10))
    older = _waiting(sms)
    newer = ingest(inbound(chat, "visitor-1", received_at=T0 + timedelta(minutes=2))).conversation
    newer.contact = older.contact
    newer.save(update_fields=["contact"])
    _at(T0 + timedelta(minutes=30), services.merge_conversations, older, newer, by=agent)
    merged = SlaRecord.objects.get(conversation=older, started_at=T0 + timedelta(minutes=2))
    assert merged.outcome == SlaRecord.Outcome.BREACHED


def test_the_sla_report_api_shows_late_answers_as_breaches(sms, agent):
    for i, minutes in enumerate([5, 180]):
        conversation = _waiting(sms, f"+39347555{i:04d}")
        _at(T0 + timedelta(minutes=minutes), send_reply, conversation, text="a", author=agent)
    client = APIClient()
    client.force_authenticate(agent)
    (row,) = client.get(
        "/api/v1/reports/sla/",
        {
            "group_by": "channel",
            "since": (T0 - timedelta(days=1)).isoformat(),
            "until": (T0 + timedelta(days=1)).isoformat(),
        },
    ).json()
    assert (row["clocks"], row["met"], row["breaches"], row["attainment"]) == (2, 1, 1, 0.5)


def test_the_demo_data_shows_its_late_answer(db):
    call_command("bootstrap_hub", verbosity=0)
    call_command("seed_demo", verbosity=0)
    late = SlaRecord.objects.get(conversation__subject="Invoice for order #988")
    assert late.waited >= timedelta(hours=26) - timedelta(minutes=1)
    assert late.outcome == SlaRecord.Outcome.BREACHED
    from django.utils import timezone

    now = timezone.now()
    rows = {
        r["key"]: r
        for r in sla_report(
            since=now - timedelta(days=2), until=now + timedelta(minutes=1), group_by="channel"
        )
    }
    assert rows["email"]["breaches"] >= 1 and rows["email"]["attainment"] < 1


def test_past_records_get_their_outcome_from_their_times():
    """The migration's data step on records written before outcomes were decided at stop."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("hub.migrations.0013_sla_outcome_decided_at_stop")
    conversation = _legacy_conversation()
    make = lambda **kw: SlaRecord.objects.create(  # noqa: E731
        conversation=conversation,
        kind="first_response",
        channel="sms",
        team_id=conversation.team_id,
        started_at=T0,
        due_at=T0 + timedelta(minutes=10),
        **kw,
    )
    late = make(stopped_at=T0 + timedelta(hours=3), waited=timedelta(hours=3))
    in_time = make(stopped_at=T0 + timedelta(minutes=5), waited=timedelta(minutes=5))
    swept = make(breached=True, breached_at=T0 + timedelta(minutes=10))
    running = make()
    migration.decide_past_outcomes(apps, None)
    outcomes = {r.pk: (r.outcome, r.breached) for r in SlaRecord.objects.all()}
    assert outcomes == {
        late.pk: ("breached", True),
        in_time.pk: ("met", False),
        swept.pk: ("breached", True),
        running.pk: ("", False),
    }


def _legacy_conversation():
    from tests.factories import ConversationFactory

    return ConversationFactory()
