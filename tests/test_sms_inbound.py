"""Inbound SMS, MMS and WhatsApp through POST /channels/sms/twilio/inbound/: every incoming case
of chatwoot's Twilio specs, retries, identities across SMS and WhatsApp, media, bad input."""

from __future__ import annotations

import base64
import copy

import pytest
import responses

from channels_sms import services
from crm.models import Contact, Identity
from hub.models import Attachment, Conversation, Message
from tests.db_errors import raises_deadlock
from tests.markers import postgresql_only
from tests.sms_fixtures import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    INBOUND_PATH,
    SMS_NUMBER,
    WHATSAPP_NUMBER,
    corpus,
    inbound_params,
    signed_post,
    sms_endpoint,
    whatsapp_endpoint,
)

pytestmark = pytest.mark.django_db

SERVICE_SID = "MG" + "b" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
CASES = {case["name"]: case for case in corpus("chatwoot_twilio_cases.json")["incoming"]}
# chatwoot's factory numbers are not possible phone numbers (we store E.164 only, see
# test_chatwoot_cases_as_published); the replay swaps them for possible ones.
POSSIBLE = {"+12345": "+12025550145", "+123456": "+12025550146", "+1234567890": "+12025550147"}


def messages():
    return Message.objects.filter(kind="message")


@pytest.fixture
def sms(endpoint_for):
    return sms_endpoint(endpoint_for, twilio_messaging_service_sid=SERVICE_SID)


@pytest.fixture
def whatsapp(endpoint_for):
    return whatsapp_endpoint(endpoint_for, twilio_messaging_service_sid=SERVICE_SID)


@pytest.fixture
def post(client, on_commit):
    """Post a signed webhook and run its after-commit work (the media task) like a commit."""

    def run(params, **kwargs):
        with on_commit():
            return signed_post(client, INBOUND_PATH, params, **kwargs)

    return run


def chatwoot_params(name, *, possible=True):
    params = copy.deepcopy(CASES[name]["params"])
    params["MessagingServiceSid"] = SERVICE_SID
    if possible:
        params["From"] = POSSIBLE.get(params["From"], params["From"])
    return params


# --- chatwoot's incoming cases ------------------------------------------------------------------


def _earlier_message(post, sender):
    response = post(
        inbound_params(
            sender=sender,
            to="",
            sid="SM" + "e" * 32,
            MessagingServiceSid=SERVICE_SID,
            body="earlier",
        )
    )
    assert response.status_code == 200
    return messages().get(provider_message_id="SM" + "e" * 32)


def expect_basic(post, http_mock):
    earlier = _earlier_message(post, "+12025550145")
    assert post(chatwoot_params("sms_basic_existing_conversation")).status_code == 200
    message = messages().get(provider_message_id="SMxx")
    assert message.text == "testing3"
    assert message.conversation_id == earlier.conversation_id
    assert message.sender_identity.value == "+12025550145"


def expect_null_bytes(post, http_mock):
    assert post(chatwoot_params("sms_null_bytes_removed")).status_code == 200
    assert messages().get().text == "remove null bytes"


def expect_no_body(post, http_mock):
    response = post(chatwoot_params("sms_no_body"))
    assert response.status_code == 200 and b"<Response></Response>" in response.content
    assert not messages().exists() and not Contact.objects.exists()


def expect_new_sender(post, http_mock):
    earlier = _earlier_message(post, "+12025550145")
    assert post(chatwoot_params("sms_new_sender_new_conversation")).status_code == 200
    message = messages().get(provider_message_id="SMxx")
    assert message.text == "new conversation"
    assert message.conversation_id != earlier.conversation_id
    assert Conversation.objects.count() == 2 and Contact.objects.count() == 2


def expect_single_media(post, http_mock):
    http_mock.get("https://chatwoot-assets.local/sample.png", body=JPEG, content_type="image/jpeg")
    assert post(chatwoot_params("mms_single_media")).status_code == 200
    message = messages().get()
    assert message.text == "testing3"
    (attachment,) = message.attachments.all()
    assert attachment.content_type == "image/jpeg" and attachment.size == len(JPEG)
    assert attachment.filename == "sample.png"
    assert attachment.file.read() == JPEG
    assert "Authorization" not in http_mock.calls[-1].request.headers  # not a Twilio host


def expect_two_media(post, http_mock):
    http_mock.get("https://chatwoot-assets.local/sample.png", body=PNG, content_type="image/png")
    http_mock.get("https://chatwoot-assets.local/sample.jpg", body=JPEG, content_type="image/jpeg")
    assert post(chatwoot_params("mms_two_media")).status_code == 200
    message = messages().get()
    attachments = list(message.attachments.order_by("id"))
    assert [(a.filename, a.content_type) for a in attachments] == [
        ("sample.png", "image/png"),
        ("sample.jpg", "image/jpeg"),
    ]


def expect_twilio_hosted_media(post, http_mock):
    url = CASES["mms_twilio_hosted_media_needs_basic_auth"]["params"]["MediaUrl0"]
    http_mock.get(url, body=PNG, content_type="image/png")
    assert post(chatwoot_params("mms_twilio_hosted_media_needs_basic_auth")).status_code == 200
    (attachment,) = messages().get().attachments.all()
    assert attachment.filename == "MExx.png" and attachment.content_type == "image/png"
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert http_mock.calls[-1].request.headers["Authorization"] == f"Basic {basic}"


def expect_location(post, http_mock):
    assert post(chatwoot_params("whatsapp_location")).status_code == 200
    message = messages().get()
    assert message.text.startswith("Location: 12.160894393921, 75.265205383301\n")
    assert "openstreetmap.org/?mlat=12.160894393921&mlon=75.265205383301" in message.text
    assert message.metadata["twilio"]["location"] == {
        "latitude": 12.160894393921,
        "longitude": 75.265205383301,
    }
    assert message.metadata["twilio"]["message_type"] == "location"


def expect_profile_name(post, http_mock):
    assert post(chatwoot_params("whatsapp_profile_name")).status_code == 200
    message = messages().get()
    assert message.sender_identity.contact.name == "John Doe"
    assert message.metadata["twilio"]["profile_name"] == "John Doe"


def expect_blank_profile_name(post, http_mock):
    assert post(chatwoot_params("whatsapp_blank_profile_name")).status_code == 200
    identity = messages().get().sender_identity
    # Ours: no invented name; the agent UI shows the identity's number.
    assert identity.contact.name == "" and identity.value == "+12025550147"


def expect_prefixed_whatsapp(post, http_mock, whatsapp):
    assert post(chatwoot_params("whatsapp_prefixed_from_with_profile")).status_code == 200
    message = messages().get()
    assert message.endpoint == whatsapp and message.channel == "whatsapp"
    identity = message.sender_identity
    assert (identity.kind, identity.value) == ("whatsapp", "+5541988887777")
    assert identity.contact.name == "João Silva"


def expect_argentina(post, http_mock, whatsapp):
    assert post(chatwoot_params("whatsapp_argentina_9_prefix")).status_code == 200
    message = messages().get()
    assert message.endpoint == whatsapp
    assert message.sender_identity.value == "+5491123456789"
    assert Conversation.objects.get().channel == "whatsapp"


def expect_bsuid(post, http_mock, whatsapp):
    assert post(chatwoot_params("whatsapp_bsuid_only_sender")).status_code == 200
    identity = messages().get().sender_identity
    assert (identity.kind, identity.value) == ("whatsapp", "IN.2081978709342942")
    assert identity.contact.name == "Muhsin"
    assert not Identity.objects.filter(kind="phone").exists()


def expect_ctwa_referral(post, http_mock, whatsapp):
    assert post(chatwoot_params("whatsapp_ctwa_referral")).status_code == 200
    message = messages().get()
    assert message.text == "Hallo! Kann ich hierzu mehr Informationen erhalten?"
    assert message.metadata["twilio"]["referral"] == {
        "ctwa_clid": "AfjyUDlaIoiweZDnlzmDTEaG",
        "source_id": "120237244350960485",
        "source_url": "https://fb.me/4tBfhWhjr",
        "source_type": "ad",
        "headline": "German citizenship lawyer",
        "body": "Fast-track your German citizenship",
        "num_media": "0",
    }


EXPECTATIONS = {
    "sms_basic_existing_conversation": expect_basic,
    "sms_null_bytes_removed": expect_null_bytes,
    "sms_no_body": expect_no_body,
    "sms_new_sender_new_conversation": expect_new_sender,
    "mms_single_media": expect_single_media,
    "mms_two_media": expect_two_media,
    "mms_twilio_hosted_media_needs_basic_auth": expect_twilio_hosted_media,
    "whatsapp_location": expect_location,
    "whatsapp_profile_name": expect_profile_name,
    "whatsapp_blank_profile_name": expect_blank_profile_name,
    "whatsapp_prefixed_from_with_profile": expect_prefixed_whatsapp,
    "whatsapp_argentina_9_prefix": expect_argentina,
    "whatsapp_bsuid_only_sender": expect_bsuid,
    "whatsapp_ctwa_referral": expect_ctwa_referral,
}


def test_every_chatwoot_incoming_case_has_an_expectation():
    assert set(EXPECTATIONS) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chatwoot_incoming_case(name, post, http_mock, sms, whatsapp, settings):
    settings.TWILIO_MEDIA_HOSTS = "api.twilio.com,*.twilio.com,chatwoot-assets.local"
    expect = EXPECTATIONS[name]
    if expect.__code__.co_argcount == 3:
        expect(post, http_mock, whatsapp)
    else:
        expect(post, http_mock)
    assert not Message.objects.filter(event_type="media_unavailable").exists()


def test_chatwoot_cases_as_published(post, sms, whatsapp):
    """The cases unchanged: chatwoot's numbers like +12345 are not possible phone numbers, so we
    answer a clear 400 and store nothing; an empty message is acknowledged and not stored."""
    for name in sorted(CASES):
        params = chatwoot_params(name, possible=False)
        response = post(params)
        impossible = params["From"] in POSSIBLE
        if name == "sms_no_body":
            assert response.status_code == 200, name
        elif impossible:
            assert response.status_code == 400, name
            assert b"not a possible phone number" in response.content, name
        else:
            assert response.status_code == 200, name
        Message.objects.filter(provider_message_id="SMxx").delete()  # all cases share SMxx
    assert not Identity.objects.filter(value__in=POSSIBLE).exists()


# --- retries and identities ---------------------------------------------------------------------


def test_answers_empty_twiml_and_stores_once_per_message_sid(post, sms):
    params = inbound_params(body="Dov'è il mio ordine?")
    first, retry = post(params), post(params)
    for response in (first, retry):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        assert response.content == (b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>')
    message = messages().get()
    assert message.text == "Dov'è il mio ordine?" and message.channel == "sms"
    assert message.provider_message_id == params["MessageSid"]
    assert message.conversation.endpoint == sms


def test_whatsapp_address_and_profile_name(post, whatsapp):
    params = inbound_params(
        sender="whatsapp:+393471234567",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        body="Ciao 👋",
        ProfileName="Anna Bianchi",
        WaId="393471234567",
        MessageType="text",
    )
    assert post(params).status_code == 200
    message = messages().get()
    assert message.channel == "whatsapp" and message.endpoint == whatsapp
    assert message.sender_identity.kind == "whatsapp"
    assert message.sender_identity.value == "+393471234567"
    assert message.sender_identity.display_name == "Anna Bianchi"
    assert message.sender_identity.contact.name == "Anna Bianchi"
    assert message.metadata["twilio"]["wa_id"] == "393471234567"


@pytest.mark.parametrize("sms_first", [True, False])
def test_sms_and_whatsapp_numbers_of_one_phone_are_one_contact(post, sms, whatsapp, sms_first):
    by_sms = inbound_params(sender="+39 347 123 4567", sid="SM" + "1" * 32)
    by_whatsapp = inbound_params(
        sender="whatsapp:+393471234567",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        sid="SM" + "2" * 32,
        ProfileName="Anna",
    )
    for params in (by_sms, by_whatsapp) if sms_first else (by_whatsapp, by_sms):
        assert post(params).status_code == 200
    contact = Contact.objects.get()
    assert sorted(contact.identities.values_list("kind", "value")) == [
        ("phone", "+393471234567"),
        ("whatsapp", "+393471234567"),
    ]
    assert contact.name == "Anna"
    # One contact, two conversations (one per endpoint), one timeline across both.
    assert Conversation.objects.filter(contact=contact).count() == 2


def test_a_number_already_on_two_contacts_is_left_as_it_is(post, sms, whatsapp):
    """Two contacts created by hand for the two addresses: the webhook does not merge them."""
    from crm.services import create_contact

    phone_owner = create_contact(name="A", identities=[{"kind": "phone", "value": "+393471234567"}])
    wa_owner = create_contact(name="B", identities=[{"kind": "whatsapp", "value": "+393471234567"}])
    post(inbound_params(sender="whatsapp:+393471234567", to=f"whatsapp:{WHATSAPP_NUMBER}"))
    assert messages().get().sender_identity.contact == wa_owner
    assert phone_owner.identities.count() == 1


def test_reply_context_threads_into_the_replied_conversation(post, whatsapp):
    first = inbound_params(
        sender="whatsapp:+393471234567", to=f"whatsapp:{WHATSAPP_NUMBER}", sid="SM" + "3" * 32
    )
    post(first)
    original = messages().get()
    answer = inbound_params(
        sender="whatsapp:+393471234567",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        sid="SM" + "4" * 32,
        OriginalRepliedMessageSid="SM" + "3" * 32,
        OriginalRepliedMessageSender=f"whatsapp:{WHATSAPP_NUMBER}",
    )
    post(answer)
    reply = messages().get(provider_message_id="SM" + "4" * 32)
    assert reply.conversation_id == original.conversation_id
    assert reply.metadata["twilio"]["replied_to"]["sid"] == "SM" + "3" * 32


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_gets_a_clear_4xx_and_nothing_is_stored(post, sms, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN  # an unknown To is validated with the account token
    cases = [
        (inbound_params(sender="hello"), 400, b"Invalid sender"),
        (inbound_params(sender=""), 400, b"Invalid sender"),
        ({k: v for k, v in inbound_params().items() if "Sid" not in k}, 400, b"MessageSid"),
        (inbound_params(body="x" * (settings.HUB["MAX_MESSAGE_CHARS"] + 1)), 400, b"longer"),
        (inbound_params(to="+390299999999"), 404, b"No SMS/WhatsApp endpoint"),
        (inbound_params(to="not a number"), 404, b"No SMS/WhatsApp endpoint"),
    ]
    for params, status, reason in cases:
        response = post(params)
        assert response.status_code == status, params
        assert reason in response.content
    assert not Message.objects.exists() and not Contact.objects.exists()


def test_inactive_endpoint_refuses_and_keeps_nothing(post, sms):
    sms.is_active = False
    sms.save()
    response = post(inbound_params())
    assert response.status_code == 400 and b"not active" in response.content
    assert not Message.objects.exists() and not Contact.objects.exists()


def test_nul_and_control_characters_never_reach_the_database(post, whatsapp):
    params = inbound_params(
        sender="whatsapp:+393471234567",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        body="a\x00b\x07c",
        ProfileName="Mar\x00io",
        ButtonText="S\x00ì",
    )
    assert post(params).status_code == 200
    message = messages().get()
    assert message.text == "abc"
    assert message.sender_identity.contact.name == "Mario"
    assert message.metadata["twilio"]["button"] == {"text": "Sì", "payload": ""}


def test_endpoint_typed_with_spaces_is_found_by_e164(post, endpoint_for):
    """Twilio sends E.164; an endpoint whose number was typed with spaces is still found."""
    endpoint = sms_endpoint(endpoint_for, address="+39 02 1234 5678")
    assert post(inbound_params(to=SMS_NUMBER)).status_code == 200
    assert messages().get().endpoint == endpoint


# --- media --------------------------------------------------------------------------------------

TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'5' * 32}/Media/ME{'6' * 32}"  # noqa: E501
CDN = f"https://mms.twiliocdn.com/{ACCOUNT_SID}/{'7' * 32}"


def media_params(url=TWILIO_MEDIA, content_type="image/jpeg", body=""):
    return inbound_params(body=body, NumMedia="1", MediaUrl0=url, MediaContentType0=content_type)


def media_events():
    return Message.objects.filter(kind="event", event_type="media_unavailable")


def test_media_only_mms_is_stored_then_its_file_attached(post, sms, http_mock):
    http_mock.get(TWILIO_MEDIA, status=307, headers={"Location": CDN})
    http_mock.get(CDN, body=JPEG, content_type="image/jpeg")
    assert post(media_params()).status_code == 200
    message = messages().get()
    assert message.text == ""
    (attachment,) = message.attachments.all()
    assert attachment.filename == f"ME{'6' * 32}.jpg" and attachment.file.read() == JPEG
    twilio_call, cdn_call = http_mock.calls[-2:]
    assert twilio_call.request.headers["Authorization"].startswith("Basic ")
    assert "Authorization" not in cdn_call.request.headers  # credentials stay with Twilio


def test_media_download_is_idempotent(post, sms, http_mock):
    http_mock.get(TWILIO_MEDIA, body=JPEG, content_type="image/jpeg")
    params = media_params(body="foto")
    post(params)
    post(params)  # Twilio's retry queues the task again
    message = messages().get()
    assert services.fetch_inbound_media(message.pk) is True
    assert Attachment.objects.count() == 1


def test_media_refused_hosts_and_redirects_are_recorded_not_fetched(post, sms, http_mock):
    http_mock.get(TWILIO_MEDIA, status=302, headers={"Location": "https://169.254.169.254/x"})
    post(media_params(body="a"))
    evil = media_params(body="b", url="https://evil.example/x.jpg")
    post({**evil, "MessageSid": "SM" + "8" * 32})
    plain_http = media_params(body="c", url="http://api.twilio.com/x.jpg")
    post({**plain_http, "MessageSid": "SM" + "9" * 32})
    reasons = sorted(event.metadata["reason"] for event in media_events())
    assert reasons == [
        "host not allowed (TWILIO_MEDIA_HOSTS): evil.example",
        "not a public host: 169.254.169.254",
        "not an https URL: http://api.twilio.com/x.jpg",
    ]
    assert not Attachment.objects.exists()
    assert [call.request.url for call in http_mock.calls] == [TWILIO_MEDIA]
    event = media_events().first()
    assert "could not be downloaded" in event.text


def test_media_over_the_size_limit_is_refused(post, sms, http_mock, settings):
    settings.TWILIO_MEDIA_MAX_BYTES = 16
    http_mock.get(TWILIO_MEDIA, body=JPEG, content_type="image/jpeg")
    post(media_params(body="big"))
    assert not Attachment.objects.exists()
    assert "larger than 16 bytes" in media_events().get().metadata["reason"]


def test_media_transient_failure_is_retried_then_recorded(sms, http_mock, client):
    signed_post(client, INBOUND_PATH, media_params(body="x"))  # after-commit task not run
    message = messages().get()
    http_mock.get(TWILIO_MEDIA, status=503)
    assert services.fetch_inbound_media(message.pk) is False  # retry later
    assert not media_events().exists()
    http_mock.replace(responses.GET, TWILIO_MEDIA, body=JPEG, content_type="image/jpeg")
    assert services.fetch_inbound_media(message.pk) is True
    assert message.attachments.count() == 1
    http_mock.replace(responses.GET, TWILIO_MEDIA, status=503)
    other = {**media_params(body="y"), "MessageSid": "SM" + "a" * 32}
    signed_post(client, INBOUND_PATH, other)
    second = messages().get(provider_message_id="SM" + "a" * 32)
    assert services.fetch_inbound_media(second.pk, final=True) is True
    assert media_events().get().metadata["reason"] == "HTTP 503 from api.twilio.com"


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@postgresql_only
def test_first_sms_and_whatsapp_messages_together_make_one_contact(endpoint_for):
    from tests.test_concurrency import run_concurrently

    sms = sms_endpoint(endpoint_for)
    whatsapp = whatsapp_endpoint(endpoint_for)

    def receive(i):
        if i % 2:
            params = inbound_params(
                sender="whatsapp:+393471234567", to=f"whatsapp:{WHATSAPP_NUMBER}", sid=f"SM{i:032d}"
            )
            return services.receive_inbound(whatsapp, params)
        return services.receive_inbound(sms, inbound_params(sid=f"SM{i:032d}"))

    _results, errors = run_concurrently(8, receive)
    assert errors == []
    assert Contact.objects.count() == 1
    assert Identity.objects.count() == 2
    assert messages().count() == 8


def test_quick_reply_button_without_body_keeps_the_button_text(post, whatsapp):
    params = inbound_params(
        sender="whatsapp:+393471234567",
        to=f"whatsapp:{WHATSAPP_NUMBER}",
        body="",
        MessageType="button",
        ButtonText="Sì, confermo",
        ButtonPayload="confirm-42",
    )
    assert post(params).status_code == 200
    message = messages().get()
    assert message.text == "Sì, confermo"
    assert message.metadata["twilio"]["button"] == {"text": "Sì, confermo", "payload": "confirm-42"}


def test_the_endpoint_is_found_without_a_query_once_known_and_a_change_is_seen(post, sms):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert post(inbound_params(sid="SM" + "a" * 32)).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert post(inbound_params(sid="SM" + "b" * 32, sender="+393471234568")).status_code == 200
    assert not [q for q in queries if 'FROM "hub_endpoint"' in q["sql"]]
    assert messages().filter(endpoint=sms).count() == 2
    # Deactivated in this process: the cached endpoint is dropped at once.
    sms.is_active = False
    sms.save()
    response = post(inbound_params(sid="SM" + "c" * 32))
    assert response.status_code == 400 and b"not active" in response.content


def test_a_known_sender_is_looked_up_once(post, sms):
    """The number linking and the ingest share one read of the sender (its contact locked)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post(inbound_params(sender="+39 347 123 4567", sid="SM" + "5" * 32))
    with CaptureQueriesContext(connection) as queries:
        response = post(inbound_params(sender="+39 347 123 4567", sid="SM" + "6" * 32))
    assert response.status_code == 200
    identity_reads = [q["sql"] for q in queries if 'FROM "crm_identity"' in q["sql"]]
    assert len(identity_reads) == 1, identity_reads
    assert messages().count() == 2
    assert len({m.conversation_id for m in messages()}) == 1


def test_a_deadlock_is_a_503_that_twilio_retries(post, sms, monkeypatch):
    """A transaction aborted by a deadlock stored nothing; Twilio is asked to retry, not shown a
    server error, and its retry stores the message."""

    real = services.receive_inbound

    params = inbound_params(sender="+39 347 123 4567", sid="SM" + "7" * 32)
    monkeypatch.setattr(services, "receive_inbound", raises_deadlock)
    response = post(params)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert not messages().exists()
    monkeypatch.setattr(services, "receive_inbound", real)
    assert post(params).status_code == 200
    assert messages().count() == 1
