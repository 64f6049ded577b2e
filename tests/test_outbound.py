"""The one way out: outbox first, delivery by a Celery task with retries and idempotency."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from hub import adapters
from hub.models import LocalDelivery, Message
from hub.services import add_note, check_reply, ingest, send_reply, update_delivery_status
from hub.services.errors import ServiceError
from hub.services.outbound import deliver, stalled_deliveries
from hub.services.webhooks import verify
from hub.tasks import RetryLater, attempt_delivery, requeue_stalled_deliveries
from tests.factories import inbound

pytestmark = pytest.mark.django_db


class FlakyAdapter(adapters.ChannelAdapter):
    """A channel whose provider fails ``failures`` times, then accepts."""

    channel = "api"
    capabilities = adapters.Capabilities(max_text_length=50)

    def __init__(self, failures=0, permanent=False):
        self.failures = failures
        self.permanent = permanent
        self.sent = []

    def send(self, message):
        if self.failures:
            self.failures -= 1
            raise adapters.DeliveryError("provider timeout", permanent=self.permanent)
        self.sent.append((message.pk, message.idempotency_key))
        return adapters.SendResult(provider_message_id=f"prov-{message.pk}")


@pytest.fixture
def flaky(monkeypatch):
    def install(**kwargs):
        adapter = FlakyAdapter(**kwargs)
        monkeypatch.setitem(adapters._registry, "api", adapter)
        return adapter

    return install


@pytest.fixture
def conversation(api_endpoint):
    return ingest(inbound(api_endpoint, "cust-9", text="Where is my order?")).conversation


def test_reply_is_stored_before_it_is_sent(conversation, agent, flaky, on_commit):
    adapter = flaky()
    with on_commit():
        reply = send_reply(conversation, text="On its way!", author=agent)
        stored = Message.objects.get(pk=reply.pk)
        assert stored.delivery_status == "queued" and adapter.sent == []
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    assert reply.provider_message_id == f"prov-{reply.pk}"
    assert adapter.sent == [(reply.pk, reply.idempotency_key)]
    assert reply.recipient_identity.value == "cust-9"


def test_reply_stops_the_ttl_clock(conversation, flaky, on_commit):
    flaky()
    assert conversation.due_at is None or conversation.waiting_since is not None
    with on_commit():
        send_reply(conversation, text="Hi")
    conversation.refresh_from_db()
    assert conversation.waiting_since is None and conversation.due_at is None
    assert conversation.last_outbound_at is not None


def test_transient_failures_are_retried_with_backoff_until_sent(conversation, flaky):
    adapter = flaky(failures=2)
    reply = send_reply(conversation, text="Hi")
    for attempt, backoff in [(0, 10), (1, 20)]:
        with pytest.raises(RetryLater) as later:
            attempt_delivery(reply.pk, attempt)
        assert later.value.countdown == backoff
        reply.refresh_from_db()
        assert reply.delivery_status == "queued" and reply.delivery_error == "provider timeout"
        assert reply.next_attempt_at > timezone.now()
    assert attempt_delivery(reply.pk, 2) == "sent"
    reply.refresh_from_db()
    assert reply.delivery_attempts == 3 and reply.delivery_error == ""
    assert len(adapter.sent) == 1


def test_permanent_failure_is_not_retried(conversation, flaky, on_commit):
    adapter = flaky(failures=5, permanent=True)
    with on_commit():
        send_reply(conversation, text="Hi")
    reply = Message.objects.get(direction="out")
    assert reply.delivery_status == "failed"
    assert reply.delivery_attempts == 1
    assert reply.delivery_error == "provider timeout"
    assert adapter.failures == 4


def test_gives_up_after_max_attempts(conversation, flaky, settings):
    settings.HUB = {**settings.HUB, "DELIVERY_MAX_ATTEMPTS": 3}
    flaky(failures=10)
    reply = send_reply(conversation, text="Hi")
    for attempt in range(2):
        with pytest.raises(RetryLater):
            attempt_delivery(reply.pk, attempt)
    assert attempt_delivery(reply.pk, 2) == "failed"
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and reply.delivery_attempts == 3


def test_an_adapter_crash_is_retried_not_lost(conversation, monkeypatch, flaky):
    adapter = flaky()
    monkeypatch.setattr(adapter, "send", lambda message: 1 / 0)
    reply = send_reply(conversation, text="Hi")
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 0)
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and "ZeroDivisionError" in reply.delivery_error


def test_delivery_is_idempotent(conversation, flaky):
    adapter = flaky()
    reply = send_reply(conversation, text="Hi")
    deliver(reply.pk)
    deliver(reply.pk)  # a duplicate task (broker redelivery) sends nothing more
    assert len(adapter.sent) == 1


def test_channel_rules_refuse_before_storing(conversation, flaky):
    flaky()
    with pytest.raises(adapters.OutboundRefused) as excinfo:
        send_reply(conversation, text="x" * 51)
    assert excinfo.value.code == "too_long"
    with pytest.raises(ServiceError):
        send_reply(conversation, text="   ")
    assert not Message.objects.filter(direction="out").exists()


def test_reply_needs_an_address_on_the_channel(endpoint_for, flaky):
    sms = endpoint_for("sms")
    conversation = ingest(inbound(sms, "+393471234567")).conversation
    conversation.endpoint = endpoint_for("email")
    conversation.channel = "email"
    conversation.save()
    with pytest.raises(adapters.OutboundRefused) as excinfo:
        send_reply(conversation, text="by email")
    assert excinfo.value.code == "no_recipient"


def test_without_credentials_replies_land_in_the_local_outbox(endpoint_for, on_commit):
    conversation = ingest(inbound(endpoint_for("sms"), "+393471234567")).conversation
    with on_commit():
        reply = send_reply(conversation, text="Grazie, arriva domani.")
    local = LocalDelivery.objects.get()
    assert local.message_id == reply.pk
    assert local.recipient == "+393471234567" and local.body == "Grazie, arriva domani."
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"


def test_email_reply_goes_out_threaded_with_a_reply_token(endpoint_for, on_commit):
    mailbox = endpoint_for("email")
    first = ingest(
        inbound(
            mailbox,
            "anna@example.com",
            subject="Ordine 42",
            provider_message_id="orig@client.example",
        )
    )
    with on_commit():
        send_reply(first.conversation, text="Ciao Anna", html="<p>Ciao <b>Anna</b></p>")
    local = LocalDelivery.objects.get()
    headers = local.payload["headers"]
    assert headers["In-Reply-To"] == "<orig@client.example>"
    assert "<orig@client.example>" in headers["References"]
    assert local.payload["reply_to"] == [f"support+{first.conversation.reply_token}@shop.example"]
    assert local.subject == f"Re: Ordine 42 [#{first.conversation_id}]"
    assert "<b>Anna</b>" in local.payload["html"]
    # The person's answer, quoting our Message-ID, threads back into the conversation.
    ours = Message.objects.get(direction="out").provider_message_id
    answer = ingest(
        inbound(
            mailbox, "anna@example.com", provider_message_id="ans@client.example", references=[ours]
        )
    )
    assert answer.conversation_id == first.conversation_id


def test_api_channel_posts_signed_replies_to_the_delivery_url(api_endpoint, http_mock, on_commit):
    api_endpoint.settings = {
        "delivery_url": "https://integrator.example/replies",
        "signing_secret": "s3cret",
    }
    api_endpoint.save()
    http_mock.post("https://integrator.example/replies", json={"id": "ext-77"}, status=200)
    conversation = ingest(inbound(api_endpoint, "cust-1")).conversation
    with on_commit():
        reply = send_reply(conversation, text="Done")
    request = http_mock.calls[0].request
    assert verify("s3cret", request.body, request.headers["X-Hub-Signature-256"])
    assert request.headers["Idempotency-Key"] == str(reply.idempotency_key)
    body = json.loads(request.body)
    assert body["recipient"] == "cust-1" and body["message"]["text"] == "Done"
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered" and reply.provider_message_id == "ext-77"


def test_api_channel_4xx_is_permanent_5xx_is_retried(api_endpoint, http_mock, settings):
    settings.HUB = {**settings.HUB, "DELIVERY_MAX_ATTEMPTS": 5}
    api_endpoint.settings = {"delivery_url": "https://integrator.example/replies"}
    api_endpoint.save()
    conversation = ingest(inbound(api_endpoint, "cust-1")).conversation
    http_mock.post("https://integrator.example/replies", status=503)
    reply = send_reply(conversation, text="one")
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 0)
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and reply.delivery_attempts == 1
    http_mock.replace("POST", "https://integrator.example/replies", status=404)
    assert attempt_delivery(reply.pk, 1) == "failed"
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "404" in reply.delivery_error


def test_status_callbacks_never_move_backwards(conversation, flaky):
    flaky()
    reply = send_reply(conversation, text="Hi")
    deliver(reply.pk)
    endpoint = conversation.endpoint
    provider_id = f"prov-{reply.pk}"
    update_delivery_status(endpoint, provider_id, "delivered")
    update_delivery_status(endpoint, provider_id, "sent")  # late, out of order
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"
    update_delivery_status(endpoint, provider_id, "read")
    reply.refresh_from_db()
    assert reply.delivery_status == "read"
    assert update_delivery_status(endpoint, "unknown-id", "read") is None


def test_lost_tasks_are_handed_to_the_worker_again(conversation, flaky, settings):
    adapter = flaky()
    reply = send_reply(conversation, text="Hi")  # no commit in this test: its task never ran
    assert stalled_deliveries() == []
    Message.objects.filter(pk=reply.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert requeue_stalled_deliveries.apply().result == 1
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and len(adapter.sent) == 1
    assert requeue_stalled_deliveries.apply().result == 0


def test_with_the_broker_down_a_reply_is_stored_and_queued_later(
    conversation, agent, flaky, on_commit, monkeypatch, settings
):
    """Handing the reply to the worker fails after the commit: the agent's reply is not an
    error (it is stored, queued), and the beat's stalled-delivery task hands it over later."""
    from hub.tasks import deliver_message

    adapter = flaky()

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to the broker")

    with monkeypatch.context() as patched:
        patched.setattr(deliver_message, "delay", broker_down)
        with on_commit():
            reply = send_reply(conversation, text="On its way!", author=agent)
    assert Message.objects.get(pk=reply.pk).delivery_status == "queued"
    Message.objects.filter(pk=reply.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert requeue_stalled_deliveries.apply().result == 1
    assert len(adapter.sent) == 1


def test_internal_note_is_never_delivered(conversation, agent, flaky, on_commit):
    adapter = flaky()
    with on_commit():
        note = add_note(conversation, author=agent, text="Customer is VIP")
    assert note.kind == "note" and note.delivery_status == ""
    assert adapter.sent == []


def test_opted_out_or_undeliverable_recipients_are_refused_before_storing(conversation, flaky):
    flaky()
    identity = conversation.contact.identities.get()
    identity.opted_out_at = timezone.now()
    identity.save()
    with pytest.raises(adapters.OutboundRefused) as excinfo:
        send_reply(conversation, text="Hi")
    assert excinfo.value.code == "opted_out"
    identity.opted_out_at = None
    identity.undeliverable_at = timezone.now()
    identity.undeliverable_reason = "hard bounce: mailbox does not exist"
    identity.save()
    with pytest.raises(adapters.OutboundRefused) as excinfo:
        send_reply(conversation, text="Hi")
    assert excinfo.value.code == "undeliverable" and "mailbox" in excinfo.value.reason
    assert not Message.objects.filter(direction="out").exists()


def test_reply_check_tells_the_rules_before_sending(conversation, flaky, monkeypatch):
    adapter = flaky()
    monkeypatch.setattr(
        adapter,
        "compose_notices",
        lambda conversation, text, recipient: [
            adapters.ComposeNotice("length", f"{len(text)} of 50 characters")
        ],
        raising=False,
    )
    ok = check_reply(conversation, "Hello")
    assert ok.allowed and ok.notices[0].message == "5 of 50 characters"
    refused = check_reply(conversation, "x" * 60)
    assert not refused.allowed and refused.code == "too_long"
    assert not Message.objects.filter(direction="out").exists()


class InlineAdapter(FlakyAdapter):
    capabilities = adapters.Capabilities(max_text_length=50, delivers_inline=True)


@pytest.fixture
def queued_tasks(monkeypatch):
    """The delivery tasks handed to the broker, instead of running them."""
    from hub import tasks

    calls = []
    monkeypatch.setattr(tasks.deliver_message, "delay", lambda *a: calls.append(("delay", a)))
    monkeypatch.setattr(
        tasks.deliver_message,
        "apply_async",
        lambda args, countdown=None: calls.append(("retry", args, countdown)),
    )
    return calls


def test_inline_channel_delivers_on_commit_without_a_worker(
    conversation, monkeypatch, on_commit, queued_tasks
):
    adapter = InlineAdapter()
    monkeypatch.setitem(adapters._registry, "api", adapter)
    with on_commit():
        reply = send_reply(conversation, text="Right away")
        assert adapter.sent == []  # nothing before commit
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and adapter.sent == [(reply.pk, reply.idempotency_key)]
    assert queued_tasks == []


def test_inline_failure_is_recorded_and_left_to_the_worker(
    conversation, monkeypatch, on_commit, queued_tasks
):
    adapter = InlineAdapter(failures=1)
    monkeypatch.setitem(adapters._registry, "api", adapter)
    with on_commit():
        reply = send_reply(conversation, text="Right away")
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and reply.delivery_attempts == 1
    assert reply.delivery_error == "provider timeout"
    assert queued_tasks == [("retry", (reply.pk,), 10)]


def test_other_channels_go_through_the_worker(conversation, flaky, on_commit, queued_tasks):
    adapter = flaky()
    with on_commit():
        reply = send_reply(conversation, text="Later")
    assert adapter.sent == [] and queued_tasks == [("delay", (reply.pk,))]
    assert Message.objects.get(pk=reply.pk).delivery_status == "queued"


def test_delivering_a_preloaded_message_rechecks_its_status_under_the_lock(
    conversation, monkeypatch
):
    adapter = InlineAdapter()
    monkeypatch.setitem(adapters._registry, "api", adapter)
    reply = send_reply(conversation, text="Once")  # not committed: no dispatch ran
    Message.objects.filter(pk=reply.pk).update(delivery_status="sent")  # a worker was first
    assert deliver(reply.pk, loaded=reply).delivery_status == "sent"
    assert adapter.sent == []
    Message.objects.filter(pk=reply.pk).update(delivery_status="queued")
    reply.refresh_from_db()
    assert deliver(reply.pk, loaded=reply).delivery_status == "sent"
    assert adapter.sent == [(reply.pk, reply.idempotency_key)]


def _received(conversation, endpoint, sender, at) -> Message:
    """An inbound message (unsaved) from ``sender`` through ``endpoint`` at ``at``."""
    return Message(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        kind=Message.Kind.MESSAGE,
        channel="api",
        endpoint=endpoint,
        sender_identity=sender,
        text=f"Scritto alle {at:%H:%M:%S}",
        occurred_at=at,
    )


def test_a_reply_goes_to_whoever_last_wrote_on_the_endpoint_however_far_back(api_endpoint):
    """The recipient is looked up along the conversation's latest inbound messages; one that
    came through the endpoint before 50 others came through another is still found."""
    from crm.services import add_identity
    from hub.services.outbound import _RECENT_INBOUND, recipient_identity
    from tests.factories import EndpointFactory

    first = ingest(inbound(api_endpoint, "cust-a", text="Prima domanda"))
    conversation, writer_a = first.conversation, first.sender_identity
    other = EndpointFactory(team=api_endpoint.team, address="other-source")
    writer_b = add_identity(conversation.contact, "api", "cust-b")
    now = timezone.now()
    Message.objects.bulk_create(
        _received(conversation, other, writer_b, now + timedelta(seconds=n))
        for n in range(_RECENT_INBOUND)
    )
    assert recipient_identity(conversation, api_endpoint) == writer_a
    assert recipient_identity(conversation, other) == writer_b

    # The newest writer on the endpoint wins.
    writer_c = add_identity(conversation.contact, "api", "cust-c")
    _received(conversation, api_endpoint, writer_c, now + timedelta(minutes=5)).save()
    assert recipient_identity(conversation, api_endpoint) == writer_c
