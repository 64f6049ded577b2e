"""TTL clocks, the SLA sweep, handoff and escalation, with controlled time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.services import add_identity
from hub.models import BusinessHours, Conversation, Message, SlaRecord, Team, TtlPolicy
from hub.services import ingest, mark_pending, send_reply, snooze
from hub.services import sla as sla_service
from hub.services.policies import policy_for
from tests.factories import EndpointFactory, TeamFactory, UserFactory, inbound
from tests.markers import postgresql_feature, postgresql_only

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday


def events(conversation, event_type):
    return Message.objects.filter(conversation=conversation, kind="event", event_type=event_type)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sla_service.sweep()


@pytest.fixture
def sms(endpoint_for):
    return endpoint_for("sms")


def test_endpoint_policy_wins_over_the_channel_default(sms, endpoint_for):
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    assert policy_for(conversation).first_response == timedelta(hours=1)
    TtlPolicy.objects.create(channel="sms", endpoint=sms, first_response=timedelta(minutes=10))
    assert policy_for(conversation).first_response == timedelta(minutes=10)


def test_a_persons_message_starts_the_clock_with_a_warning_before_expiry(sms):
    message = ingest(inbound(sms, "+393471234567", received_at=T0))
    conversation = message.conversation
    assert conversation.clock_kind == "first_response"
    assert conversation.due_at == T0 + timedelta(hours=1)
    assert conversation.warn_at == T0 + timedelta(minutes=45)  # 75 % of the TTL
    assert conversation.next_check_at == conversation.warn_at
    record = SlaRecord.objects.get()
    assert (record.kind, record.channel, record.due_at) == (
        "first_response",
        "sms",
        T0 + timedelta(hours=1),
    )
    assert events(conversation, "sla_started").count() == 1


def test_channel_without_ttl_runs_no_clock(api_endpoint):
    conversation = ingest(inbound(api_endpoint, "x", received_at=T0)).conversation
    assert conversation.due_at is None and conversation.next_check_at is None
    assert not SlaRecord.objects.exists()


def test_email_ttl_counts_business_hours(endpoint_for, team):
    BusinessHours.objects.create(
        team=team,
        time_zone="Europe/Rome",
        weekly={d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    rome = ZoneInfo("Europe/Rome")
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=rome)
    message = ingest(
        inbound(
            endpoint_for("email"),
            "anna@example.com",
            received_at=friday_5pm,
            provider_message_id="m@x",
        )
    )
    # 24 business hours: 1 h Friday, 9 Monday, 9 Tuesday, 5 Wednesday.
    assert message.conversation.due_at == datetime(2026, 12, 2, 14, 0, tzinfo=rome)


def test_a_reply_stops_the_clock_and_records_the_wait(sms, agent):
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        send_reply(conversation, text="Ciao!", author=agent)
    conversation.refresh_from_db()
    assert conversation.waiting_since is None and conversation.next_check_at is None
    record = SlaRecord.objects.get()
    assert record.waited == timedelta(minutes=20) and record.agent == agent
    assert record.stopped_at == T0 + timedelta(minutes=20) and not record.breached
    assert events(conversation, "sla_stopped").get().text == "Answered after 20 min"
    # The person's next message runs the next-response clock.
    again = ingest(
        inbound(
            sms,
            "+393471234567",
            text="thanks, one more thing",
            received_at=T0 + timedelta(minutes=30),
        )
    ).conversation
    assert again.clock_kind == "next_response"


def test_snooze_pauses_the_clock_and_the_sweep_wakes_it(sms):
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        snooze(conversation, until=T0 + timedelta(hours=3))
    conversation.refresh_from_db()
    assert conversation.clock_remaining == timedelta(minutes=50)
    assert conversation.due_at is None
    assert conversation.next_check_at == T0 + timedelta(hours=3)
    assert sweep_at(T0 + timedelta(hours=2)).checked == 0  # nothing due while snoozed
    result = sweep_at(T0 + timedelta(hours=3))
    assert result.wakeups == 1
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.clock_remaining is None
    assert conversation.due_at == T0 + timedelta(hours=3, minutes=50)
    assert (
        events(conversation, "sla_paused").exists() and events(conversation, "sla_resumed").exists()
    )


def test_pending_pauses_until_the_person_writes(sms, agent):
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        mark_pending(conversation, by=agent)
    conversation.refresh_from_db()
    assert conversation.status == "pending" and conversation.next_check_at is None
    later = T0 + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        ingest(inbound(sms, "+393471234567", text="here are the details", received_at=later))
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert conversation.due_at == later + timedelta(minutes=30)


def test_auto_replies_do_not_start_the_clock(endpoint_for):
    message = ingest(
        inbound(
            endpoint_for("email"),
            "a@example.com",
            is_auto_reply=True,
            provider_message_id="ooo@x",
            received_at=T0,
        )
    )
    assert message.conversation.waiting_since is None
    assert not SlaRecord.objects.exists()


def test_warning_once_then_breach_with_escalation_to_the_team_lead(sms, team):
    lead = UserFactory()
    team.members.add(lead)
    team.lead = lead
    team.save()
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    assert sweep_at(T0 + timedelta(minutes=44)).checked == 0
    result = sweep_at(T0 + timedelta(minutes=46))
    assert result.warnings == 1
    sweep_at(T0 + timedelta(minutes=47))  # again: nothing new
    assert events(conversation, "sla_warning").count() == 1
    # The bulk path (COPY on PostgreSQL) stores a complete timeline event.
    warning = events(conversation, "sla_warning").get()
    conversation.refresh_from_db()
    due = conversation.due_at.isoformat()
    assert warning.text == f"Reply due by {due}" and warning.channel == "sms"
    assert warning.metadata == {"due_at": due, "assignee_id": None}
    assert warning.occurred_at == warning.created_at == T0 + timedelta(minutes=46)
    assert warning.kind == "event" and warning.direction == ""
    assert warning.idempotency_key is not None
    assert warning.sender_identity_id is None and warning.author_id is None
    result = sweep_at(T0 + timedelta(hours=1, seconds=5))
    assert result.breaches == 1
    conversation.refresh_from_db()
    assert conversation.breached_at is not None and conversation.priority == 1
    assert conversation.assignee == lead
    assert events(conversation, "sla_breached").get().metadata["waited_seconds"] == 3605
    assert events(conversation, "escalated").get().text == "Escalated to the team lead"
    record = SlaRecord.objects.get()
    assert record.warned and record.breached
    assert sweep_at(T0 + timedelta(hours=2)).checked == 0
    assert conversation.next_check_at is None


def test_breach_moves_the_conversation_to_the_escalation_team(sms, team):
    escalation = TeamFactory(name="Escalations")
    policy = TtlPolicy.objects.get(channel="sms", endpoint=None)
    policy.escalation_team = escalation
    policy.save()
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    sweep_at(T0 + timedelta(hours=2))
    conversation.refresh_from_db()
    assert conversation.team == escalation and conversation.priority == 1


@pytest.fixture
def chat_and_mail(endpoint_for):
    return endpoint_for("chat"), endpoint_for("email")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "",
            "We need a little longer to check this, Anna. We'll write to you at "
            "anna@example.com by 25 November, 09:00.",
        ),
        (
            "it",
            "Ci serve ancora un po' di tempo per verificare, Anna. Ti scriveremo a "
            "anna@example.com entro 25 novembre, 09:00.",
        ),
    ],
)
def test_chat_that_cannot_be_answered_in_time_moves_to_email(
    chat_and_mail, language, expected, on_commit
):
    chat, mailbox = chat_and_mail
    first = ingest(inbound(chat, "visitor-1", sender_name="Anna Bianchi", received_at=T0))
    conversation = first.conversation
    conversation.contact.language = language
    conversation.contact.save()
    add_identity(conversation.contact, "email", "anna@example.com")
    # Chat: 2 min first-response TTL, warning at 75 % = 90 s, automatic handoff to email.
    with on_commit():
        result = sweep_at(T0 + timedelta(seconds=95))
    assert result.warnings == 1 and result.handoffs == 1
    conversation.refresh_from_db()
    expectation = Message.objects.get(direction="out", metadata__sla="expectation")
    assert expectation.channel == "chat"  # said where the person is, before the TTL expired
    assert expectation.text == expected
    assert conversation.channel == "email" and conversation.endpoint == mailbox
    assert conversation.waiting_since == T0  # the person still waits for the real answer
    assert conversation.due_at == T0 + timedelta(hours=24)  # email's TTL (no business hours set)
    handoff = events(conversation, "handoff").get()
    assert handoff.metadata["from"] == "chat" and handoff.metadata["address"] == "anna@example.com"
    assert SlaRecord.objects.get().handed_off
    # The real answer goes out by email, threaded with the reply token.
    with on_commit():
        reply = send_reply(conversation, text="Here is the answer.")
    assert reply.channel == "email" and reply.recipient_identity.value == "anna@example.com"


def test_chat_without_a_known_email_asks_for_it(chat_and_mail):
    chat, _ = chat_and_mail
    conversation = ingest(inbound(chat, "visitor-2", received_at=T0)).conversation
    result = sweep_at(T0 + timedelta(seconds=95))
    assert result.handoffs == 0
    ask = Message.objects.get(direction="out", metadata__asks_for="email")
    assert ask.text.endswith("Which email address can we send the answer to?")
    conversation.refresh_from_db()
    assert conversation.channel == "chat" and conversation.waiting_since == T0


def test_agent_handoff_through_the_api(chat_and_mail, agent):
    chat, mailbox = chat_and_mail
    conversation = ingest(inbound(chat, "visitor-3", received_at=T0)).conversation
    client = APIClient()
    client.force_authenticate(agent)
    url = f"/api/v1/conversations/{conversation.pk}/handoff/"
    refused = client.post(url, {"channel": "email"}, format="json")
    assert refused.status_code == 400 and "No Email address" in refused.json()["channel"][0]
    add_identity(conversation.contact, "email", "v3@example.com")
    assert client.post(url, {"channel": "fax"}, format="json").status_code == 400
    moved = client.post(url, {"channel": "email"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["channel"] == "email" and moved.json()["endpoint"] == mailbox.pk
    assert events(conversation, "handoff").get().author == agent


def test_sweep_reads_only_what_is_due(sms):
    due = [ingest(inbound(sms, f"+39347123{i:04d}", received_at=T0)).conversation for i in range(3)]
    for i in range(30):  # open, but not due for hours
        ingest(inbound(sms, f"+39348123{i:04d}", received_at=T0 + timedelta(hours=5)))
    with CaptureQueriesContext(connection) as few_open:
        assert sweep_at(T0 + timedelta(minutes=46)).checked == len(due)
    for i in range(30, 90):
        ingest(inbound(sms, f"+39348123{i:04d}", received_at=T0 + timedelta(hours=5)))
    for conversation in due:  # make them due again (a new wait)
        Conversation.objects.filter(pk=conversation.pk).update(warned_at=None)
        conversation.refresh_from_db()
        conversation.save()
    with CaptureQueriesContext(connection) as many_open:
        assert sweep_at(T0 + timedelta(minutes=46)).checked == len(due)
    assert len(many_open) == len(few_open)


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_concurrent_sweeps_act_once_per_conversation():
    team = TeamFactory()
    endpoint = EndpointFactory(team=team, channel="sms", address="+390200000000")
    conversations = [
        ingest(inbound(endpoint, f"+39347000{i:04d}", received_at=T0)).conversation
        for i in range(40)
    ]
    barrier = threading.Barrier(3)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            with time_machine.travel(T0 + timedelta(minutes=50), tick=False):
                results.append(sla_service.sweep(batch_size=5))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.warnings for r in results) == len(conversations)
    assert Message.objects.filter(event_type="sla_warning").count() == len(conversations)
    assert not Team.objects.filter(pk=team.pk, conversations__warned_at__isnull=True).exists()


def test_sla_report_per_channel_through_the_api(sms, endpoint_for, agent):
    waits = [5, 10, 20, 30, 90]  # minutes; the 90 is past the 1 h TTL
    for i, minutes in enumerate(waits):
        conversation = ingest(inbound(sms, f"+39347555{i:04d}", received_at=T0)).conversation
        if minutes > 60:
            sweep_at(T0 + timedelta(minutes=61))
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            send_reply(conversation, text="answer", author=agent)
    client = APIClient()
    client.force_authenticate(agent)
    response = client.get(
        "/api/v1/reports/sla/",
        {
            "group_by": "channel",
            "since": (T0 - timedelta(days=1)).isoformat(),
            "until": (T0 + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    (row,) = response.json()
    assert row["key"] == "sms" and row["clocks"] == 5 and row["breaches"] == 1
    assert row["attainment"] == 0.8
    assert row["first_response_median"] == 20 * 60
    assert row["first_response_p90"] == 90 * 60
    by_agent = client.get(
        "/api/v1/reports/sla/",
        {
            "group_by": "agent",
            "since": (T0 - timedelta(days=1)).isoformat(),
            "until": (T0 + timedelta(days=1)).isoformat(),
        },
    ).json()
    assert [r["label"] for r in by_agent] == [agent.username]
    assert client.get("/api/v1/reports/sla/", {"group_by": "planet"}).status_code == 400


def test_sla_report_page_in_the_admin(sms, admin_client):
    ingest(inbound(sms, "+393471234567"))
    response = admin_client.get("/admin/hub/slarecord/report/?group_by=team&days=7")
    assert response.status_code == 200
    assert b"SLA report" in response.content


def test_ttl_policies_are_editable_by_staff_only(agent):
    client = APIClient()
    client.force_authenticate(agent)
    listing = client.get("/api/v1/ttl-policies/")
    assert listing.status_code == 200
    assert {p["channel"] for p in listing.json()["results"]} == {
        "email",
        "chat",
        "sms",
        "whatsapp",
        "api",
    }
    sms_policy = TtlPolicy.objects.get(channel="sms", endpoint=None)
    url = f"/api/v1/ttl-policies/{sms_policy.pk}/"
    assert client.patch(url, {"first_response": "00:30:00"}, format="json").status_code == 403
    agent.is_staff = True
    agent.save()
    changed = client.patch(url, {"first_response": "00:30:00"}, format="json")
    assert changed.status_code == 200 and changed.json()["first_response"] == "00:30:00"
    bad = client.patch(url, {"handoff_channels": ["pigeon"]}, format="json")
    assert bad.status_code == 400
    duplicate = client.post("/api/v1/ttl-policies/", {"channel": "sms"}, format="json")
    assert duplicate.status_code == 400


def test_business_hours_through_the_api(team, agent):
    agent.is_staff = True
    agent.save()
    client = APIClient()
    client.force_authenticate(agent)
    created = client.post(
        "/api/v1/business-hours/",
        {
            "team": team.pk,
            "time_zone": "Europe/Rome",
            "weekly": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]},
            "holidays": [{"date": "2026-12-25", "name": "Natale"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert BusinessHours.objects.get(team=team).holidays.get().name == "Natale"
    bad = client.post(
        "/api/v1/business-hours/",
        {
            "team": TeamFactory().pk,
            "time_zone": "Europe/Rome",
            "weekly": {"mon": [["18:00", "09:00"]]},
        },
        format="json",
    )
    assert bad.status_code == 400 and "weekly" in bad.json()


@postgresql_feature
def test_only_a_batch_of_plain_warnings_commits_without_waiting_for_the_wal_flush(sms):
    """A lost warning is redone by the next sweep; a lost handoff or breach could repeat a
    message to a person, so those batches commit durably."""
    conversation = ingest(inbound(sms, "+393471234567", received_at=T0)).conversation
    with CaptureQueriesContext(connection) as warning_sweep:
        assert sweep_at(T0 + timedelta(minutes=46)).warnings == 1
    with CaptureQueriesContext(connection) as breach_sweep:
        assert sweep_at(T0 + timedelta(hours=1, seconds=5)).breaches == 1
    asynchronous = "SET LOCAL synchronous_commit = off"
    assert [q["sql"] for q in warning_sweep.captured_queries].count(asynchronous) == 1
    assert asynchronous not in [q["sql"] for q in breach_sweep.captured_queries]
    assert events(conversation, "sla_warning").count() == 1


@pytest.mark.parametrize(
    "resolution_after_due",
    [None, timedelta(hours=3), -timedelta(minutes=5)],
    ids=["no resolution deadline", "resolution after expiry", "resolution before expiry"],
)
def test_the_bulk_warning_sets_the_next_check_the_model_would(sms, resolution_after_due):
    """``warn_many`` sets ``next_check_at`` in SQL for the whole batch; the rule is the model's
    ``derive_next_check``. Whatever the deadlines, both give the same moment."""
    conversations = []
    for i in range(3):
        conversation = ingest(inbound(sms, f"+39349123{i:04d}", received_at=T0)).conversation
        if resolution_after_due is not None:
            conversation.resolution_due_at = conversation.due_at + resolution_after_due
        conversation.save()
        conversations.append(conversation)
    now = max(c.warn_at for c in conversations) + timedelta(seconds=1)
    assert all(sla_service._only_a_warning(c, now) for c in conversations)
    sla_service.warn_many(conversations, now)
    for conversation in conversations:
        conversation.refresh_from_db()
        assert conversation.warned_at == now
        assert conversation.next_check_at is not None
        assert conversation.next_check_at == conversation.derive_next_check()
