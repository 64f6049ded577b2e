"""hub.services.attention: after a customer's message, first responders, else ask for an agent."""

from __future__ import annotations

import pytest

from hub.services import assign, ingest
from hub.signals import conversation_needs_agent, message_received
from tests.factories import inbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Record both signals; ``heard.bot_takes`` makes a first responder take the message."""

    class Heard:
        received: list[dict] = []
        needs: list[dict] = []
        bot_takes = False

    heard = Heard()
    heard.received, heard.needs = [], []

    def on_message(sender, **kwargs):
        heard.received.append(kwargs)
        return heard.bot_takes

    def on_needs(sender, **kwargs):
        heard.needs.append(kwargs)

    message_received.connect(on_message, weak=False)
    conversation_needs_agent.connect(on_needs, weak=False)
    yield heard
    message_received.disconnect(on_message)
    conversation_needs_agent.disconnect(on_needs)


def test_nothing_is_asked_before_commit(api_endpoint, heard, on_commit):
    with on_commit():
        ingest(inbound(api_endpoint, provider_message_id="a1"))
        assert heard.received == [] and heard.needs == []
    assert len(heard.received) == 1 and len(heard.needs) == 1


def test_a_new_conversation_asks_for_an_agent_when_no_responder_takes_it(
    api_endpoint, heard, on_commit
):
    with on_commit():
        message = ingest(inbound(api_endpoint, provider_message_id="a1"))
    assert heard.received[0]["message_id"] == message.pk
    assert heard.received[0]["conversation_created"] is True
    assert heard.needs == [
        {
            "signal": conversation_needs_agent,
            "conversation_id": message.conversation_id,
            "reason": "new",
            "summary": "",
        }
    ]


def test_a_responder_that_takes_the_message_holds_the_request_back(api_endpoint, heard, on_commit):
    heard.bot_takes = True
    with on_commit():
        ingest(inbound(api_endpoint, provider_message_id="a1"))
    assert len(heard.received) == 1 and heard.needs == []


def test_an_assigned_conversation_needs_no_agent_but_responders_still_hear(
    api_endpoint, heard, on_commit, agent
):
    with on_commit():
        first = ingest(inbound(api_endpoint, "customer-9", provider_message_id="a1"))
    assign(first.conversation, assignee=agent, by=agent)
    heard.received.clear(), heard.needs.clear()
    with on_commit():
        second = ingest(inbound(api_endpoint, "customer-9", provider_message_id="a2"))
    assert second.conversation_id == first.conversation_id
    assert [r["conversation_created"] for r in heard.received] == [False]
    assert heard.needs == []


def test_history_and_automatic_replies_ask_nobody(api_endpoint, heard, on_commit):
    with on_commit():
        ingest(inbound(api_endpoint, provider_message_id="h1", is_historical=True))
        ingest(inbound(api_endpoint, provider_message_id="h2", is_auto_reply=True))
    assert heard.received == [] and heard.needs == []


def test_a_failing_receiver_never_undoes_the_message(api_endpoint, heard, on_commit):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    message_received.connect(broken, weak=False)
    try:
        with on_commit():
            message = ingest(inbound(api_endpoint, provider_message_id="a1"))
    finally:
        message_received.disconnect(broken)
    message.refresh_from_db()
    assert len(heard.needs) == 1  # the others still ran
