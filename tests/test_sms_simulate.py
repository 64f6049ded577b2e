"""``manage.py simulate_sms``: a signed webhook posted to a running hub (pytest-django's live
server: a real HTTP server thread), the whole path without a Twilio account."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from crm.models import Identity
from hub.models import LocalDelivery, Message
from hub.services import send_reply
from tests.sms_fixtures import INBOUND_PATH

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch, settings):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HUB_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
        setattr(settings, name, None)


def simulate(live_server, *args):
    out = io.StringIO()
    call_command("simulate_sms", *args, "--url", live_server.url + INBOUND_PATH, stdout=out)
    return out.getvalue()


def test_simulated_sms_is_stored_and_answered_to_the_local_outbox(live_server, endpoint_for):
    endpoint_for("sms")
    output = simulate(live_server, "+39 347 123 4567", "+390212345678", "Ciao, è arrivato?")
    assert "<Response></Response>" in output and "Stored as message #" in output
    message = Message.objects.get(kind="message")
    assert message.text == "Ciao, è arrivato?" and message.sender_identity.value == "+393471234567"
    assert message.provider_message_id.startswith("SM") and len(message.provider_message_id) == 34
    send_reply(message.conversation, text="Sì, domani.")
    assert LocalDelivery.objects.get().body == "Sì, domani."


def test_simulated_whatsapp_and_opt_out(live_server, endpoint_for):
    endpoint_for("whatsapp")
    simulate(live_server, "whatsapp:+393471234567", "+390212345679", "Ciao", "--name", "Anna")
    identity = Identity.objects.get(kind="whatsapp")
    assert identity.contact.name == "Anna"
    simulate(live_server, "+393471234567", "whatsapp:+390212345679", "STOP")
    identity.refresh_from_db()
    assert identity.opted_out_at is not None


def test_unknown_endpoint_and_refused_webhooks_are_command_errors(live_server, endpoint_for):
    with pytest.raises(CommandError, match="No sms endpoint for"):
        simulate(live_server, "+393471234567", "+390299999999", "Ciao")
    endpoint_for("sms")
    with pytest.raises(CommandError, match="answered 400"):
        simulate(live_server, "hello", "+390212345678", "Ciao")
