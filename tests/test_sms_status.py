"""Status callbacks through POST /channels/sms/twilio/status/: chatwoot's cases, every Twilio
MessageStatus, never backwards, error codes kept, callbacks that arrive before the send commits."""

from __future__ import annotations

import copy
import threading
import time
import uuid

import pytest
from django.db import transaction

from channels_sms import services
from crm.models import Identity
from crm.services import resolve_identity
from hub.models import Message
from tests.db_errors import raises_deadlock
from tests.factories import ConversationFactory, MessageFactory
from tests.markers import postgresql_only
from tests.sms_fixtures import STATUS_PATH, corpus, signed_post, sms_endpoint

pytestmark = pytest.mark.django_db

SID = "SMd560ac79e4a4d36b3ce59f1f50471986"
CASES = {case["name"]: case for case in corpus("chatwoot_twilio_cases.json")["status_callbacks"]}


@pytest.fixture
def sms(endpoint_for):
    return sms_endpoint(endpoint_for)


@pytest.fixture
def sent(sms):
    """An outbound SMS Twilio accepted as SID, to +393471234567."""
    recipient = resolve_identity("phone", "+393471234567")
    conversation = ConversationFactory(endpoint=sms, contact=recipient.contact)
    return MessageFactory(
        conversation=conversation,
        direction="out",
        recipient_identity=recipient,
        provider_message_id=SID,
        delivery_status="sent",
    )


def callback(client, sid=SID, status="delivered", query="", **more):
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+393471234567",
        "MessageSid": sid,
        "AccountSid": "AC" + "a" * 32,
        "From": "+390212345678",
        "ApiVersion": "2010-04-01",
        **more,
    }
    return signed_post(client, STATUS_PATH, params, query=query)


CHATWOOT_EXPECTED = {
    "status_read": ("read", ""),
    "status_delivered": ("delivered", ""),
    "status_failed": ("failed", ""),
    "status_failed_with_error": (
        "failed",
        "Twilio error 30008: Unknown error (https://www.twilio.com/docs/api/errors/30008)",
    ),
    "status_failed_code_only": (
        "failed",
        "Twilio error 30008: Unknown error (https://www.twilio.com/docs/api/errors/30008)",
    ),
}


def test_every_chatwoot_status_case_has_an_expectation():
    assert set(CHATWOOT_EXPECTED) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chatwoot_status_case(name, client, sent):
    params = copy.deepcopy(CASES[name]["params"])
    response = signed_post(client, STATUS_PATH, params)
    assert response.status_code == 204
    sent.refresh_from_db()
    assert (sent.delivery_status, sent.delivery_error) == CHATWOOT_EXPECTED[name]


@pytest.mark.parametrize(
    ("twilio_status", "expected"),
    [
        ("accepted", "sent"),
        ("scheduled", "sent"),
        ("queued", "sent"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("partially_delivered", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("canceled", "failed"),
        ("receiving", "sent"),  # an inbound status: ignored
        ("something-new", "sent"),  # Twilio may add values: ignored, not an error
    ],
)
def test_message_status_mapping(client, sent, twilio_status, expected):
    assert callback(client, status=twilio_status).status_code == 204
    sent.refresh_from_db()
    assert sent.delivery_status == expected


def test_out_of_order_callbacks_never_move_backwards(client, sent):
    for status in ["delivered", "sent", "queued", "read", "delivered", "failed", "sending"]:
        assert callback(client, status=status).status_code == 204
    sent.refresh_from_db()
    assert sent.delivery_status == "read"


def test_undelivered_keeps_the_error_and_marks_a_dead_number(client, sent):
    response = callback(client, status="undelivered", ErrorCode="30006")
    assert response.status_code == 204
    sent.refresh_from_db()
    assert sent.delivery_status == "failed"
    assert sent.delivery_error.startswith("Twilio error 30006: Landline or unreachable carrier")
    identity = sent.recipient_identity
    identity.refresh_from_db()
    assert identity.undeliverable_at is not None and "30006" in identity.undeliverable_reason
    event = Message.objects.get(event_type="undeliverable")
    assert event.conversation_id == sent.conversation_id and "30006" in event.text


def test_error_21610_means_the_recipient_unsubscribed(client, sent):
    callback(client, status="failed", ErrorCode="21610")
    identity = Identity.objects.get(pk=sent.recipient_identity_id)
    assert identity.opted_out_at is not None
    assert Message.objects.filter(event_type="opted_out").count() == 1


def test_unknown_messages_are_acknowledged_and_forged_callbacks_refused(client, sent):
    assert callback(client, sid="SM" + "0" * 32).status_code == 204
    params = {"MessageSid": SID, "MessageStatus": "failed", "From": "+390212345678"}
    forged = client.post(STATUS_PATH, params, HTTP_X_TWILIO_SIGNATURE="bm90LXJlYWw=")
    assert forged.status_code == 403
    unsigned = client.post(STATUS_PATH, params)
    assert unsigned.status_code == 403
    sent.refresh_from_db()
    assert sent.delivery_status == "sent"


def test_missing_message_sid_is_a_bad_request(client, sent):
    params = {"MessageStatus": "delivered", "From": "+390212345678"}
    assert signed_post(client, STATUS_PATH, params).status_code == 400


def test_callback_names_a_message_whose_send_timed_out(client, sms):
    """The send timed out after Twilio accepted it: the message is still queued with no sid.
    The callback URL carries its idempotency key, so the hub learns the sid and the status,
    and the delivery retry will not send again."""
    recipient = resolve_identity("phone", "+393471234567")
    conversation = ConversationFactory(endpoint=sms, contact=recipient.contact)
    queued = MessageFactory(
        conversation=conversation,
        direction="out",
        recipient_identity=recipient,
        delivery_status="queued",
        delivery_error="Twilio unreachable: ReadTimeout",
    )
    query = f"hub_message={queued.idempotency_key}"
    assert callback(client, status="sent", query=query).status_code == 204
    queued.refresh_from_db()
    assert queued.provider_message_id == SID and queued.delivery_status == "sent"
    assert queued.delivery_error == ""
    # A callback naming this message but another Twilio sid (a duplicate) changes nothing.
    other = callback(client, sid="SM" + "f" * 32, status="failed", query=query)
    assert other.status_code == 204
    queued.refresh_from_db()
    assert queued.provider_message_id == SID and queued.delivery_status == "sent"
    # A malformed key is ignored, the MessageSid still finds the message.
    assert callback(client, status="delivered", query="hub_message=nope").status_code == 204
    queued.refresh_from_db()
    assert queued.delivery_status == "delivered"
    # A key that names no message of ours: nothing is applied.
    assert callback(client, status="read", query=f"hub_message={uuid.uuid4()}").status_code == 204
    queued.refresh_from_db()
    assert queued.delivery_status == "delivered"


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_a_callback_during_the_send_waits_for_it_and_is_not_lost(endpoint_for):
    """Twilio can call back before the worker that sent the message has committed its sid. The
    callback names the message by its key, so it waits for the send's row lock instead of
    finding nothing."""
    from tests.test_concurrency import run_concurrently

    sms = sms_endpoint(endpoint_for)
    recipient = resolve_identity("phone", "+393471234567")
    conversation = ConversationFactory(endpoint=sms, contact=recipient.contact)
    queued = MessageFactory(
        conversation=conversation,
        direction="out",
        recipient_identity=recipient,
        delivery_status="queued",
    )
    locked = threading.Event()

    def work(i):
        if i == 0:  # the worker in deliver(): row locked while Twilio answers
            with transaction.atomic():
                row = Message.objects.select_for_update().get(pk=queued.pk)
                locked.set()
                time.sleep(0.5)
                row.provider_message_id, row.delivery_status = SID, "sent"
                row.save()
            return "sent"
        locked.wait(5)
        params = {"MessageSid": SID, "MessageStatus": "delivered"}
        return services.apply_status_callback(sms, params, idempotency_key=queued.idempotency_key)

    _results, errors = run_concurrently(2, work)
    assert errors == []
    queued.refresh_from_db()
    assert (queued.provider_message_id, queued.delivery_status) == (SID, "delivered")


def test_a_deadlock_on_a_status_callback_is_a_503_to_retry(client, sent, monkeypatch):
    """Any view (here the status callback, outside the REST API) that meets a deadlock answers
    503 with Retry-After (hub.middleware), and the retry applies the status."""
    from django.db import OperationalError

    real = services.apply_status_callback

    monkeypatch.setattr(services, "apply_status_callback", raises_deadlock)
    response = callback(client, status="delivered")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    sent.refresh_from_db()
    assert sent.delivery_status != "delivered"
    monkeypatch.setattr(services, "apply_status_callback", real)
    assert callback(client, status="delivered").status_code == 204
    sent.refresh_from_db()
    assert sent.delivery_status == "delivered"

    def broken(*args, **kwargs):  # not transient: a real server error stays one
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "apply_status_callback", broken)
    client.raise_request_exception = False
    assert callback(client, status="read").status_code == 500
