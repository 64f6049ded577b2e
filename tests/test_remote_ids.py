"""What a remote answers about a sent message never makes the hub send it again: the id an
integrator (or any provider) gives back is stored without a uniqueness it cannot promise, and the
message is marked sent whatever that id is."""

from __future__ import annotations

import pytest

from hub.models import Message
from hub.services import ingest, send_reply
from hub.tasks import attempt_delivery
from tests.factories import inbound

pytestmark = pytest.mark.django_db

URL = "https://integrator.example/replies"


@pytest.fixture
def integrator(api_endpoint):
    api_endpoint.settings = {"delivery_url": URL, "signing_secret": "s3cret"}
    api_endpoint.save()
    return api_endpoint


def test_two_replies_answered_with_the_same_remote_id_are_each_sent_once(
    integrator, http_mock, on_commit
):
    http_mock.post(URL, json={"id": "same-id"}, status=200)
    conversation = ingest(inbound(integrator, "cust-1")).conversation
    with on_commit():
        first = send_reply(conversation, text="one")
    with on_commit():
        second = send_reply(conversation, text="two")
    assert len(http_mock.calls) == 2
    for reply in (first, second):
        reply.refresh_from_db()
        assert reply.delivery_status == Message.DeliveryStatus.DELIVERED
        assert reply.provider_message_id == "same-id"
        assert reply.delivery_attempts == 1
        # A retry of the task (a redelivered broker message) sends nothing again.
        assert attempt_delivery(reply.pk, 1) == Message.DeliveryStatus.DELIVERED
    assert len(http_mock.calls) == 2


def test_an_inbound_message_with_the_id_of_a_reply_is_not_taken_for_a_copy(
    integrator, http_mock, on_commit
):
    http_mock.post(URL, json={"id": "42"}, status=200)
    conversation = ingest(inbound(integrator, "cust-1")).conversation
    with on_commit():
        send_reply(conversation, text="one")
    answer = ingest(inbound(integrator, "cust-1", text="thanks", provider_message_id="42"))
    assert answer.direction == Message.Direction.INBOUND and answer.text == "thanks"
    # The inbound id stays idempotent per endpoint.
    again = ingest(inbound(integrator, "cust-1", text="thanks", provider_message_id="42"))
    assert again.pk == answer.pk


@pytest.mark.parametrize("remote_id", ["nul\x00in-it", "\ud800lone", "x" * 600, 12345])
def test_a_weird_remote_id_is_stored_cleaned_and_the_reply_is_sent(
    integrator, http_mock, on_commit, remote_id
):
    import json

    body = json.dumps({"id": remote_id})
    http_mock.post(URL, body=body, status=200, content_type="application/json")
    conversation = ingest(inbound(integrator, "cust-1")).conversation
    with on_commit():
        reply = send_reply(conversation, text="one")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.DELIVERED
    assert len(reply.provider_message_id) <= 255
    assert "\x00" not in reply.provider_message_id
    assert attempt_delivery(reply.pk, 1) == Message.DeliveryStatus.DELIVERED
    assert len(http_mock.calls) == 1


def test_a_provider_id_that_cannot_be_stored_does_not_undo_sent(
    integrator, http_mock, on_commit, monkeypatch
):
    """Whatever fails while recording the remote id (here: the write itself), "sent" commits."""
    from django.db import DataError

    from hub.services import outbound

    real = outbound._write_sent

    def failing(message, fields):
        if "provider_message_id" in fields:
            raise DataError("value too long for type character varying(255)")
        real(message, fields)

    monkeypatch.setattr(outbound, "_write_sent", failing)
    http_mock.post(URL, json={"id": "ok"}, status=200)
    conversation = ingest(inbound(integrator, "cust-1")).conversation
    with on_commit():
        reply = send_reply(conversation, text="one")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.DELIVERED
    assert reply.provider_message_id == ""
    assert attempt_delivery(reply.pk, 1) == Message.DeliveryStatus.DELIVERED
    assert len(http_mock.calls) == 1


@pytest.mark.parametrize("answer", [[1, 2], "just text", {"id": None}, {"id": {"a": 1}}])
def test_any_json_answer_of_the_integrator_leaves_the_reply_sent(
    integrator, http_mock, on_commit, answer
):
    http_mock.post(URL, json=answer, status=200)
    conversation = ingest(inbound(integrator, "cust-1")).conversation
    with on_commit():
        reply = send_reply(conversation, text="one")
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.DELIVERED
    assert len(http_mock.calls) == 1
