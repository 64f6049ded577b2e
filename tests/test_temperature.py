"""A conversation's temperature: the person's last messages and the situation, the priority
policy, the events and the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from hub.models import Conversation, Message, TemperaturePolicy, WebhookDelivery
from hub.models import WebhookSubscription as Subscription
from hub.services import ingest, send_reply
from hub.services import sla as sla_service
from hub.services.temperature import score_of
from tests.factories import EndpointFactory, TeamFactory, inbound

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CALM = "Buongiorno, vorrei sapere quando arriva il mio ordine"
ANGRY = "This is ridiculous!!! I want a refund NOW or I will sue you"


def _at(moment, text, endpoint, sender="+393471234567"):
    with time_machine.travel(moment, tick=False):
        return ingest(inbound(endpoint, sender, text=text, received_at=moment))


def _updates():
    return [
        d.payload["data"]
        for d in WebhookDelivery.objects.filter(event_type="conversation.updated").order_by("id")
    ]


@pytest.fixture
def sms(endpoint_for):
    return endpoint_for("sms")


def test_an_angry_message_heats_the_conversation_and_the_policy_raises_priority(sms):
    Subscription.objects.create(url="https://example.com/hook")
    TemperaturePolicy.objects.create(level="hot", minimum_priority=3)
    TemperaturePolicy.objects.create(level="hot", minimum_priority=9, team=TeamFactory())
    conversation = _at(T0, CALM, sms).conversation
    conversation.refresh_from_db()
    assert (conversation.temperature, conversation.priority) == ("calm", 0)
    _at(T0 + timedelta(minutes=1), ANGRY, sms)
    conversation.refresh_from_db()
    assert conversation.temperature == "hot" and conversation.temperature_score >= 60
    codes = [reason["code"] for reason in conversation.temperature_reasons]
    assert codes[:2] == ["message_angry", "threat"] and "unanswered" in codes
    assert conversation.priority == 3  # the other team's rule does not apply
    event = Message.objects.get(conversation=conversation, event_type="priority_raised")
    assert event.metadata["priority"] == [0, 3] and event.metadata["temperature"] == "hot"
    assert "message_angry" in event.text
    [update] = _updates()
    assert update["changes"] == {"temperature": ["calm", "hot"], "priority": [0, 3]}
    assert update["temperature"] == "hot" and update["priority"] == 3


def test_the_policy_never_lowers_priority_and_the_most_specific_highest_rule_wins(sms):
    TemperaturePolicy.objects.create(level="warm", minimum_priority=1)
    TemperaturePolicy.objects.create(level="warm", minimum_priority=4, endpoint=sms)
    TemperaturePolicy.objects.create(level="warm", minimum_priority=7, is_active=False)
    conversation = _at(T0, "Ciao, ho scritto ieri per il mio ordine e nessuno mi ha risposto", sms)
    conversation = Conversation.objects.get(pk=conversation.conversation_id)
    assert (conversation.temperature, conversation.priority) == ("warm", 4)
    Conversation.objects.filter(pk=conversation.pk).update(priority=8, temperature="calm")
    _at(T0 + timedelta(minutes=1), "Ciao, ho scritto ieri e nessuno mi ha risposto", sms)
    conversation.refresh_from_db()
    assert conversation.priority == 8


def test_a_reply_and_a_calm_answer_cool_it_down(sms, agent):
    Subscription.objects.create(url="https://example.com/hook")
    conversation = _at(T0, ANGRY, sms).conversation
    conversation.refresh_from_db()
    assert conversation.temperature == "hot"
    with time_machine.travel(T0 + timedelta(minutes=2), tick=False):
        send_reply(conversation, text="We are sorry: the refund is on its way.", author=agent)
    conversation.refresh_from_db()
    assert conversation.temperature == "hot"  # the latest word of the person is still angry
    _at(T0 + timedelta(minutes=3), "Ok, grazie per la risposta, tutto chiaro", sms)
    conversation.refresh_from_db()
    assert conversation.temperature == "warm"  # the angry message counts less, one step back
    assert _updates()[-1]["changes"] == {"temperature": ["hot", "warm"]}


def test_messages_left_unanswered_add_up(sms):
    conversation = _at(T0, CALM, sms).conversation
    for minute in (1, 2, 3):
        _at(T0 + timedelta(minutes=minute), CALM, sms)
    conversation.refresh_from_db()
    [reason] = [r for r in conversation.temperature_reasons if r["code"] == "unanswered"]
    assert reason["count"] == 4 and reason["points"] == 15


def test_the_sla_sweep_heats_at_warning_and_breach(sms):
    Subscription.objects.create(url="https://example.com/hook")
    TemperaturePolicy.objects.create(level="warm", minimum_priority=2)
    conversation = _at(T0, CALM, sms).conversation  # SMS: 1 h first response, warn at 75 %
    with time_machine.travel(T0 + timedelta(minutes=46), tick=False):
        assert sla_service.sweep().warnings == 1
    conversation.refresh_from_db()
    assert [r["code"] for r in conversation.temperature_reasons] == ["ttl_near"]
    assert (conversation.temperature, conversation.temperature_score) == ("calm", 15)
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        assert sla_service.sweep().breaches == 1
    conversation.refresh_from_db()
    codes = [r["code"] for r in conversation.temperature_reasons]
    assert codes == ["ttl_passed", "breached_before"]
    assert conversation.temperature == "warm"
    # Policy (0 -> 2) then the escalation (+1), announced together.
    assert conversation.priority == 3
    assert _updates()[-1]["changes"]["temperature"] == ["calm", "warm"]
    assert _updates()[-1]["changes"]["priority"] == [0, 3]


def test_a_long_back_and_forth_and_a_reopened_thread_count():
    conversation = Conversation(waiting_since=None)
    calm = {"temperature": "calm", "signals": []}
    items = [("message", "in" if i % 2 == 0 else "out", calm if i % 2 == 0 else None, {})
             for i in range(8)]  # fmt: skip
    items.insert(1, ("event", "", None, {"reason": "inbound message"}))
    reading = score_of(conversation, items, False, T0)
    codes = {reason["code"]: reason for reason in reading.reasons}
    assert codes["long_exchange"]["count"] == 7 and "reopened" in codes
    assert reading.score == 20 and reading.level == "calm"


def test_the_api_shows_and_filters_by_temperature(sms, agent):
    hot = _at(T0, ANGRY, sms).conversation
    _at(T0, CALM, sms, sender="+393479999999")
    client = APIClient()
    client.force_authenticate(agent)
    listed = client.get("/api/v1/conversations/", {"temperature": "hot"}).json()["results"]
    assert [row["id"] for row in listed] == [hot.pk]
    assert listed[0]["temperature"] == "hot"
    assert listed[0]["temperature_reasons"][0] == {"code": "message_angry", "points": 60}
    both = client.get("/api/v1/conversations/?temperature=hot&temperature=calm").json()
    assert len(both["results"]) == 2
    assert client.get("/api/v1/conversations/", {"temperature": "boiling"}).status_code == 400
    timeline = client.get(f"/api/v1/conversations/{hot.pk}/timeline/").json()["results"]
    [message] = [item for item in timeline if item["direction"] == "in"]
    assert message["analysis"]["temperature"] == "angry"
    assert "threat_legal" in message["analysis"]["signals"]


def test_a_history_import_does_not_heat(endpoint_for, on_commit):
    mailbox = EndpointFactory(channel="email", address="old@shop.example")
    with on_commit():
        message = ingest(inbound(mailbox, "a@example.com", text=ANGRY, is_historical=True))
        assert message.analysis is None  # read after the commit
    message.refresh_from_db()
    message.conversation.refresh_from_db()
    assert message.analysis["temperature"] == "angry"
    assert (message.conversation.temperature, message.conversation.temperature_reasons) == (
        "calm",
        [],
    )


def test_the_policy_is_edited_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/hub/temperaturepolicy/add/",
        {"level": "hot", "minimum_priority": "2", "is_active": "on"},
    )
    assert response.status_code == 302, response.content
    rule = TemperaturePolicy.objects.get()
    assert (rule.level, rule.minimum_priority, rule.team, rule.endpoint) == ("hot", 2, None, None)
    assert admin_client.get("/admin/hub/temperaturepolicy/").status_code == 200
    assert admin_client.get("/admin/hub/conversation/?temperature__exact=hot").status_code == 200
