"""Replies through Twilio's REST API (faked at the HTTP boundary): what is sent, retries that
never send twice, media by signed URL, and the channel rules the agent sees before sending."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from crm.services import add_identity
from hub import adapters
from hub.inbound import InboundAttachment
from hub.models import LocalDelivery, Message
from hub.services import check_reply, send_reply
from hub.tasks import RetryLater, attempt_delivery
from tests.sms_fixtures import (
    INBOUND_PATH,
    MESSAGES_URL,
    SMS_NUMBER,
    WHATSAPP_NUMBER,
    inbound_params,
    signed_post,
    sms_endpoint,
    twilio_error,
    twilio_message,
    twilio_message_page,
    whatsapp_endpoint,
)

pytestmark = pytest.mark.django_db

PERSON = "+393471234567"
PUBLIC = "https://hub.example.com"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.HUB_PUBLIC_URL = PUBLIC


@pytest.fixture
def sms(endpoint_for):
    return sms_endpoint(endpoint_for)


@pytest.fixture
def whatsapp(endpoint_for):
    return whatsapp_endpoint(endpoint_for)


def receive(client, endpoint, sender=PERSON, sid="SM" + "1" * 32, body="Ciao"):
    if endpoint.channel == "whatsapp":
        params = inbound_params(
            sender=f"whatsapp:{sender}", to=f"whatsapp:{endpoint.address}", sid=sid, body=body
        )
    else:
        params = inbound_params(sender=sender, to=endpoint.address, sid=sid, body=body)
    response = signed_post(client, INBOUND_PATH, params, signed_url=PUBLIC + INBOUND_PATH)
    assert response.status_code == 200
    return Message.objects.get(provider_message_id=sid).conversation


def form(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body)


def accepted(http_mock, sid="SM" + "c" * 32, **kwargs):
    def reply(request):
        sent = parse_qs(request.body)
        body = twilio_message(
            sid, to=sent["To"][0], sender=sent["From"][0], body=sent.get("Body", [""])[0], **kwargs
        )
        return 201, {}, __import__("json").dumps(body)

    http_mock.add_callback(
        responses.POST, MESSAGES_URL, callback=reply, content_type="application/json"
    )


def posts(http_mock):
    return [call for call in http_mock.calls if call.request.method == "POST"]


# --- sending ------------------------------------------------------------------------------------


def test_sms_reply_goes_through_twilio_with_a_status_callback(client, sms, http_mock, on_commit):
    conversation = receive(client, sms)
    accepted(http_mock)
    with on_commit():
        reply = send_reply(conversation, text="Grazie, arriva domani.")
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.provider_message_id == "SM" + "c" * 32
    (call,) = posts(http_mock)
    assert call.request.headers["Authorization"].startswith("Basic ")
    sent = form(call)
    assert sent["To"] == [PERSON] and sent["From"] == [SMS_NUMBER]
    assert sent["Body"] == ["Grazie, arriva domani."]
    assert sent["StatusCallback"] == [
        f"{PUBLIC}/channels/sms/twilio/status/?hub_message={reply.idempotency_key}"
    ]
    assert "MediaUrl" not in sent


def test_whatsapp_reply_uses_whatsapp_addresses(client, whatsapp, http_mock, on_commit):
    conversation = receive(client, whatsapp)
    accepted(http_mock)
    with on_commit():
        send_reply(conversation, text="Ciao!")
    sent = form(posts(http_mock)[0])
    assert sent["To"] == [f"whatsapp:{PERSON}"] and sent["From"] == [f"whatsapp:{WHATSAPP_NUMBER}"]


def test_a_retry_after_a_timeout_adopts_what_twilio_accepted(client, sms, http_mock):
    """The first attempt timed out after Twilio had accepted the message: the retry finds it in
    Twilio's list instead of sending again."""
    conversation = receive(client, sms)
    http_mock.post(MESSAGES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    reply = send_reply(conversation, text="Il pacco parte oggi.")
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 0)
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and "ReadTimeout" in reply.delivery_error
    earlier = twilio_message(
        "SM" + "d" * 32, to=PERSON, sender=SMS_NUMBER, body="Il pacco parte oggi."
    )
    http_mock.get(MESSAGES_URL, json=twilio_message_page([earlier]))
    assert attempt_delivery(reply.pk, 1) == "sent"
    reply.refresh_from_db()
    assert reply.provider_message_id == "SM" + "d" * 32
    assert len(posts(http_mock)) == 1  # the one that timed out; never a second send
    lookup = next(call for call in http_mock.calls if call.request.method == "GET")
    query = parse_qs(urlsplit(lookup.request.url).query)
    assert query["To"] == [PERSON] and query["From"] == [SMS_NUMBER]


def test_a_retry_sends_when_twilio_has_nothing_and_ignores_other_replies(client, sms, http_mock):
    conversation = receive(client, sms)
    # An earlier reply with the same text, already ours: never adopted by another message.
    http_mock.post(MESSAGES_URL, body=requests.exceptions.ConnectTimeout("connect timeout"))
    first = send_reply(conversation, text="Ok")
    first_sid = "SM" + "e" * 32
    Message.objects.filter(pk=first.pk).update(
        provider_message_id=first_sid, delivery_status="sent"
    )
    reply = send_reply(conversation, text="Ok")
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 0)
    ours = twilio_message(first_sid, to=PERSON, sender=SMS_NUMBER, body="Ok")
    http_mock.get(MESSAGES_URL, json=twilio_message_page([ours]))
    http_mock.replace(
        responses.POST,
        MESSAGES_URL,
        json=twilio_message("SM" + "f" * 32, to=PERSON, sender=SMS_NUMBER, body="Ok"),
        status=201,
    )
    assert attempt_delivery(reply.pk, 1) == "sent"
    reply.refresh_from_db()
    assert reply.provider_message_id == "SM" + "f" * 32
    assert len(posts(http_mock)) == 2


def test_if_twilio_cannot_be_asked_the_retry_waits(client, sms, http_mock):
    conversation = receive(client, sms)
    http_mock.post(MESSAGES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    reply = send_reply(conversation, text="Ciao")
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 0)
    http_mock.get(MESSAGES_URL, status=503, json=twilio_error(20500, "Internal error", 503))
    with pytest.raises(RetryLater):
        attempt_delivery(reply.pk, 1)
    reply.refresh_from_db()
    assert "not sending again yet" in reply.delivery_error
    assert len(posts(http_mock)) == 1


def test_a_sid_learnt_from_a_status_callback_is_not_sent_again(client, sms, http_mock):
    conversation = receive(client, sms)
    reply = send_reply(conversation, text="Ciao")
    Message.objects.filter(pk=reply.pk).update(provider_message_id="SM" + "9" * 32)
    assert attempt_delivery(reply.pk, 1) == "sent"
    assert posts(http_mock) == []


def test_twilio_4xx_fails_for_good_5xx_and_429_are_retried(client, sms, http_mock, on_commit):
    conversation = receive(client, sms)
    http_mock.post(
        MESSAGES_URL,
        status=400,
        json=twilio_error(21211, "The 'To' number +393471234567 is not valid."),
    )
    with on_commit():
        reply = send_reply(conversation, text="Ciao")
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and reply.delivery_attempts == 1
    assert reply.delivery_error.startswith("Twilio error 21211: The 'To' number")
    for status, code in [(429, 20429), (500, 20500)]:
        http_mock.replace(
            responses.POST,
            MESSAGES_URL,
            status=status,
            json=twilio_error(code, "Try later", status),
        )
        again = send_reply(conversation, text=f"Ciao {status}")
        with pytest.raises(RetryLater):
            attempt_delivery(again.pk, 0)
        again.refresh_from_db()
        assert again.delivery_status == "queued"


def test_without_credentials_replies_go_to_the_local_outbox(
    client, endpoint_for, on_commit, http_mock, settings, monkeypatch
):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    endpoint = endpoint_for("sms")
    from channels_sms import conf

    response = signed_post(
        client,
        INBOUND_PATH,
        inbound_params(),
        token=conf.local_auth_token(),
        signed_url=PUBLIC + INBOUND_PATH,
    )
    assert response.status_code == 200
    conversation = Message.objects.get(kind="message").conversation
    with on_commit():
        reply = send_reply(conversation, text="Ciao dal bot")
    local = LocalDelivery.objects.get()
    assert local.recipient == PERSON and local.body == "Ciao dal bot"
    assert local.payload["from"] == endpoint.address
    assert local.payload["status_callback"].endswith(f"hub_message={reply.idempotency_key}")
    assert http_mock.calls == [] or all("twilio" not in c.request.url for c in http_mock.calls)


# --- media ---------------------------------------------------------------------------------------


def test_mms_media_go_out_as_signed_expiring_urls(client, sms, http_mock, on_commit):
    conversation = receive(client, sms)
    accepted(http_mock)
    picture = InboundAttachment("ricevuta.png", "image/png", b"\x89PNG\r\n\x1a\nreceipt")
    with on_commit():
        send_reply(conversation, text="Ecco la ricevuta", attachments=[picture])
    (media_url,) = form(posts(http_mock)[0])["MediaUrl"]
    assert media_url.startswith(f"{PUBLIC}/channels/sms/media/")
    path = urlsplit(media_url).path
    fetched = client.get(path)  # what Twilio does, without any login
    assert fetched.status_code == 200
    assert b"".join(fetched.streaming_content) == b"\x89PNG\r\n\x1a\nreceipt"
    assert fetched["Content-Type"] == "image/png"
    assert fetched["Content-Security-Policy"].startswith("sandbox")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert client.get(path).status_code == 404  # expired
    tampered = path.replace("/media/", "/media/x")
    assert client.get(tampered).status_code == 404


def test_media_need_a_public_url(client, sms, settings):
    """Refused before the reply is stored; and a reply stored while the URL was set fails its
    delivery with the reason if the URL is gone by then (no media Twilio cannot fetch)."""
    conversation = receive(client, sms)
    settings.HUB_PUBLIC_URL = ""
    picture = InboundAttachment("a.png", "image/png", b"png")
    with pytest.raises(adapters.OutboundRefused) as refused:
        send_reply(conversation, text="x", attachments=[picture])
    assert refused.value.code == "no_public_url"
    assert not Message.objects.filter(direction="out").exists()

    settings.HUB_PUBLIC_URL = "https://hub.example"
    reply = send_reply(conversation, text="x", attachments=[picture])
    settings.HUB_PUBLIC_URL = ""
    assert attempt_delivery(reply.pk, 0) == "failed"
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "HUB_PUBLIC_URL" in reply.delivery_error


def test_whatsapp_takes_one_file_per_message(client, whatsapp, settings):
    conversation = receive(client, whatsapp)
    settings.HUB_PUBLIC_URL = "https://hub.example"  # after the signed webhook: its URL
    files = [InboundAttachment(f"{i}.png", "image/png", b"png") for i in range(2)]
    with pytest.raises(adapters.OutboundRefused) as refused:
        send_reply(conversation, text="x", attachments=files)
    assert refused.value.code == "too_many_files" and "WhatsApp" in refused.value.reason
    assert not Message.objects.filter(direction="out").exists()


# --- rules before sending ------------------------------------------------------------------------


def test_opted_out_recipients_are_refused_with_a_reason(client, sms):
    conversation = receive(client, sms)
    receive(client, sms, sid="SM" + "2" * 32, body="STOP")
    with pytest.raises(adapters.OutboundRefused) as refused:
        send_reply(conversation, text="Ciao?")
    assert refused.value.code == "opted_out" and PERSON in refused.value.reason
    assert not Message.objects.filter(direction="out").exists()


def test_length_counts_utf16_units_like_twilio(client, sms):
    conversation = receive(client, sms)
    assert check_reply(conversation, "😀" * 800).allowed
    too_long = check_reply(conversation, "😀" * 801)
    assert not too_long.allowed and too_long.code == "too_long"
    assert "1602 characters" in too_long.reason


def test_sms_compose_notices_count_segments_and_suggest_email(client, sms):
    conversation = receive(client, sms)
    short = check_reply(conversation, "Perché è già così?")
    (notice,) = short.notices
    assert notice.code == "sms_segments" and notice.level == "info"
    assert notice.message == "1 SMS segment (GSM-7: 18 characters, 160 per segment)."
    accented = check_reply(conversation, "È arrivato l\u2019ordine")
    assert accented.notices[0].message.startswith("1 SMS segment (UCS-2: 19 characters, 70 per")
    assert "“È”, “\u2019” force UCS-2" in accented.notices[0].message
    add_identity(conversation.contact, "email", "anna@example.com")
    long = check_reply(conversation, "a" * 500)
    codes = {n.code: n for n in long.notices}
    assert codes["sms_segments"].message.startswith("4 SMS segments (GSM-7: 500 characters, 153")
    assert codes["sms_long"].level == "warning"
    assert "move the conversation to email (anna@example.com)" in codes["sms_long"].message
    assert long.allowed  # guidance, not a refusal


def test_whatsapp_window_open_then_closed_with_a_handoff_offer(client, whatsapp, sms, endpoint_for):
    endpoint_for("email")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        conversation = receive(client, whatsapp)
    add_identity(conversation.contact, "email", "anna@example.com")
    with time_machine.travel(start + timedelta(hours=23, minutes=30), tick=False):
        inside = check_reply(conversation, "Ciao")
        assert inside.allowed
        (window,) = inside.notices
        assert window.code == "whatsapp_window" and window.level == "warning"
        assert "(0 h 30 min left)" in window.message
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        outside = check_reply(conversation, "Ciao")
        assert not outside.allowed and outside.code == "whatsapp_window_closed"
        assert "within 24 hours of the person's last message" in outside.reason
        assert "Hand the conversation off to" in outside.reason
        assert "SMS (+393471234567)" in outside.reason  # the WhatsApp number's phone
        assert "email (anna@example.com)" in outside.reason
        codes = {n.code: n for n in outside.notices}
        assert codes["whatsapp_window_closed"].level == "error"
        assert codes["handoff_offer"].message.startswith("Continue on email (anna@example.com)")
        with pytest.raises(adapters.OutboundRefused) as refused:
            send_reply(conversation, text="Ciao")
        assert refused.value.code == "whatsapp_window_closed"
    # A new message from the person opens the window again.
    with time_machine.travel(start + timedelta(hours=26), tick=False):
        receive(client, whatsapp, sid="SM" + "3" * 32, body="ci sei?")
        assert check_reply(conversation, "Sì!").allowed


def test_whatsapp_window_is_per_person_not_per_conversation(client, whatsapp):
    """No message from this person on the number yet: outside the window."""
    conversation = receive(client, whatsapp)
    contact = conversation.contact
    Message.objects.filter(conversation=conversation, kind="message").delete()
    outside = check_reply(conversation, "Ciao")
    assert not outside.allowed and "has not written to this WhatsApp number yet" in outside.reason
    assert contact.identities.count() == 1
