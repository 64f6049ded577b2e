"""Bad input from outside (issue #16): each request below once answered 500, stored what it should
have refused, or lost an email. Never a 500: a 4xx with a field error, or a quarantine with the
reason; whatever is quarantined can be stored."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.authtoken.models import Token

from channels_email.models import QuarantinedEmail
from crm.models import PageView
from hub.models import BusinessHours, Conversation, Message
from tests.api_helpers import client_for
from tests.chat_helpers import chat_endpoint
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

DEEP = 100_000


@pytest.fixture
def staff(team):
    user = UserFactory(is_staff=True)
    team.members.add(user)
    return user


@pytest.fixture
def api(staff):
    return client_for(staff)


def post_json_text(client, url: str, text: str, content_type="application/json"):
    return client.post(url, data=text.encode("utf-8", "surrogatepass"), content_type=content_type)


def inbound_body(endpoint, **extra) -> dict:
    return {"endpoint": endpoint.pk, "sender": {"address": "c-1"}, "text": "Hi", **extra}


# --- the API's JSON: depth, lone surrogates, non-finite numbers -------------------------------


def test_json_nested_100k_deep_on_inbound_is_a_400(api):
    response = post_json_text(api, "/api/v1/inbound/", "[" * DEEP + "]" * DEEP)
    assert response.status_code == 400, response.content
    assert "deep" in response.json()["detail"]


def test_metadata_nested_900_deep_is_a_400_and_nothing_is_stored(api, api_endpoint):
    metadata = "{}"
    for _ in range(900):
        metadata = '{"a": ' + metadata + "}"
    body = json.dumps(inbound_body(api_endpoint))[:-1] + ', "metadata": ' + metadata + "}"
    response = post_json_text(api, "/api/v1/inbound/", body)
    assert response.status_code == 400, response.content
    assert "deep" in response.json()["detail"]
    assert not Message.objects.exists()


def test_a_lone_surrogate_in_metadata_is_a_400(api, api_endpoint):
    body = json.dumps(inbound_body(api_endpoint, metadata={"x": "\udfff"}))
    assert "\\udfff" in body
    response = post_json_text(api, "/api/v1/inbound/", body)
    assert response.status_code == 400, response.content
    assert "surrogate" in response.json()["detail"]
    assert not Message.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_kept(api, api_endpoint):
    body = json.dumps(inbound_body(api_endpoint, text="smile \U0001f600"))
    assert "\\ud83d\\ude00" in body
    response = post_json_text(api, "/api/v1/inbound/", body)
    assert response.status_code == 201, response.content
    assert Message.objects.get().text == "smile \U0001f600"


def test_a_number_out_of_float_range_is_a_400(api, api_endpoint):
    body = json.dumps(inbound_body(api_endpoint))[:-1] + ', "metadata": {"n": 1e999}}'
    response = post_json_text(api, "/api/v1/inbound/", body)
    assert response.status_code == 400, response.content
    assert not Message.objects.exists()


def test_an_oversized_json_body_is_a_413(api, api_endpoint, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps(inbound_body(api_endpoint, text="x" * 2000))
    response = post_json_text(api, "/api/v1/inbound/", body)
    assert response.status_code in (400, 413), response.content
    assert not Message.objects.exists()


def test_the_json_parser_refuses_a_body_above_the_limit(settings):
    from io import BytesIO

    from rest_framework.exceptions import ParseError

    from hub.api.parsers import BodyTooLarge, JSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    with pytest.raises(BodyTooLarge):
        JSONParser().parse(BytesIO(b'{"text": "0123456789"}'))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert JSONParser().parse(BytesIO(b'{"text": "0123456789"}')) == {"text": "0123456789"}
    with pytest.raises(ParseError):
        JSONParser().parse(BytesIO(b'{"n": NaN}'))


# --- the API's fields ---------------------------------------------------------------------------


def test_patch_contact_with_an_identity_without_value_is_a_400(api):
    contact = ContactFactory()
    response = api.patch(
        f"/api/v1/contacts/{contact.pk}/", {"identities": [{"kind": "email"}]}, "json"
    )
    assert response.status_code == 400, response.content
    assert "identities" in response.json()


def test_create_contact_with_an_identity_without_kind_is_a_400(api):
    response = api.post("/api/v1/contacts/", {"identities": [{"value": "a@b.example"}]}, "json")
    assert response.status_code == 400, response.content
    errors = response.json()["identities"]  # per item: a list, or by index (DRF >= 3.16)
    first = errors["0"] if isinstance(errors, dict) else errors[0]
    assert first == {"kind": ["This field is required."]}


@pytest.mark.parametrize(
    "query",
    [
        {"until": "0001-01-01T00:00:00Z"},
        {"since": "0001-01-01T00:00:00Z", "until": "0001-01-02T00:00:00Z"},
        {"until": "9999-12-31T23:59:59Z"},
        {"since": "9999-12-31T00:00:00Z"},
    ],
)
def test_sla_report_dates_out_of_range_are_a_400(api, query):
    response = api.get("/api/v1/reports/sla/", query)
    assert response.status_code == 400, response.content
    assert set(response.json()) & set(query)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_conversations_updated_since_out_of_range_is_a_400(api, value):
    response = api.get("/api/v1/conversations/", {"updated_since": value})
    assert response.status_code == 400, response.content
    assert "updated_since" in response.json()


@pytest.mark.parametrize("year", [1, 1969, 9999])
def test_received_at_outside_the_window_is_a_400(api, api_endpoint, year):
    received = f"{year:04d}-06-01T00:00:00Z"
    response = api.post(
        "/api/v1/inbound/", inbound_body(api_endpoint, received_at=received), "json"
    )
    assert response.status_code == 400, response.content
    assert "received_at" in response.json()
    assert not Message.objects.exists()


def test_received_at_more_than_a_day_ahead_is_a_400_and_a_past_date_is_kept(api, api_endpoint):
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = api.post("/api/v1/inbound/", inbound_body(api_endpoint, received_at=ahead), "json")
    assert response.status_code == 400, response.content
    assert "received_at" in response.json()
    response = api.post(
        "/api/v1/inbound/",
        inbound_body(api_endpoint, received_at="1999-12-31T23:00:00Z"),
        "json",
    )
    assert response.status_code == 201, response.content
    assert Message.objects.get().occurred_at == datetime(1999, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("until", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_snooze_until_out_of_range_is_a_400(api, api_endpoint, until):
    created = api.post("/api/v1/inbound/", inbound_body(api_endpoint), "json")
    conversation = created.json()["conversation"]["id"]
    response = api.post(f"/api/v1/conversations/{conversation}/snooze/", {"until": until}, "json")
    assert response.status_code == 400, response.content
    assert "until" in response.json()


# --- business hours -----------------------------------------------------------------------------


BAD_SCHEDULES = ["abc", [1, 2], {"mon": 5}, {}, {"mon": []}, {"mon": [["09:00"]]}, None, 5]


@pytest.mark.parametrize("weekly", BAD_SCHEDULES, ids=repr)
def test_bad_business_hours_are_a_400(api, team, weekly):
    body = {"team": team.pk, "time_zone": "Europe/Rome", "weekly": weekly}
    response = api.post("/api/v1/business-hours/", body, "json")
    assert response.status_code == 400, response.content
    assert "weekly" in response.json()
    assert not BusinessHours.objects.exists()


@pytest.mark.parametrize("weekly", BAD_SCHEDULES, ids=repr)
def test_bad_business_hours_are_refused_by_the_model(team, weekly):
    with pytest.raises(ValidationError) as refused:
        BusinessHours(team=team, time_zone="Europe/Rome", weekly=weekly).full_clean()
    assert "weekly" in refused.value.message_dict


def test_good_business_hours_are_accepted(api, team):
    body = {"team": team.pk, "time_zone": "Europe/Rome", "weekly": {"mon": [["09:00", "18:00"]]}}
    response = api.post("/api/v1/business-hours/", body, "json")
    assert response.status_code == 201, response.content


@pytest.fixture
def mta_token(db):
    user = User.objects.create(username="mta")
    user.user_permissions.add(Permission.objects.get(codename="submit_raw_email"))
    return Token.objects.create(user=user).key


def raw_email(to="support@shop.example", message_id="<m-1@example.com>") -> bytes:
    return (
        f"From: Anna <anna@example.com>\r\nTo: {to}\r\nSubject: Help\r\n"
        f"Message-ID: {message_id}\r\nDate: Fri, 27 Nov 2026 17:00:00 +0100\r\n\r\nHello\r\n"
    ).encode()


def post_raw(token: str, raw: bytes, query: str = "recipient=support@shop.example"):
    return Client().post(
        f"/channels/email/inbound/raw/?{query}",
        data=raw,
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Token {token}",
    )


@pytest.mark.parametrize("weekly", [{}, {"mon": []}, "abc"], ids=repr)
def test_a_broken_stored_schedule_never_quarantines_mail(
    endpoint_for, team, mta_token, weekly, caplog
):
    """Business hours stored before they were validated: the clock runs 24/7 and says so."""
    endpoint_for("email")
    BusinessHours.objects.create(team=team, time_zone="Europe/Rome", weekly=weekly)
    with caplog.at_level(logging.WARNING, logger="hub.services.policies"):
        response = post_raw(mta_token, raw_email())
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "ingested", response.json()
    assert not QuarantinedEmail.objects.exists()
    conversation = Conversation.objects.get()
    assert conversation.due_at == conversation.waiting_since + timedelta(hours=24)
    assert "business hours" in caplog.text


# --- the email quarantine stores what it is given ------------------------------------------------


def test_a_nul_recipient_is_quarantined_with_the_raw_bytes(mta_token):
    raw = raw_email(to="nobody@elsewhere.example")
    response = post_raw(mta_token, raw, "recipient=%00")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "quarantined"
    item = QuarantinedEmail.objects.get()
    assert bytes(item.raw) == raw
    assert "\x00" not in item.envelope_recipient and "\x00" not in item.reason
    assert item.envelope_recipient == "\\x00"
    assert "control characters" in item.reason


def test_a_nul_recipient_beside_a_known_mailbox_is_ingested(endpoint_for, mta_token):
    endpoint_for("email")
    response = post_raw(mta_token, raw_email(), "recipient=%00")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "ingested"


# --- the chat's HTTP API ------------------------------------------------------------------------


def chat_limits_raised():
    from django.test import override_settings

    limits = {"MAX_BODY_BYTES": 10 * DEEP, "REQUESTS_PER_MINUTE_PER_IP": 0}
    return override_settings(HUB_CHAT=limits)


def chat_call(path: str, text: str):
    return Client().post(
        f"/chat/api/{path}/",
        text.encode("utf-8", "surrogatepass"),
        content_type="text/plain;charset=UTF-8",
    )


@pytest.fixture
def chat():
    endpoint = chat_endpoint()
    response = chat_call("session", json.dumps({"endpoint": endpoint.public_key}))
    assert response.status_code == 200, response.content
    return endpoint, response.json()["token"]


def test_chat_session_nested_100k_deep_is_refused():
    response = chat_call("session", "[" * DEEP + "]" * DEEP)
    assert response.status_code == 413, response.content  # above MAX_BODY_BYTES
    with chat_limits_raised():
        response = chat_call("session", "[" * DEEP + "]" * DEEP)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_json"


def test_chat_session_with_a_deep_value_is_a_400():
    endpoint = chat_endpoint()
    body = '{"endpoint": "' + endpoint.public_key + '", "language": ' + "[" * 900 + "]" * 900
    response = chat_call("session", body + "}")
    assert response.status_code == 400, response.content


def test_a_lone_surrogate_in_a_chat_message_is_a_400(chat):
    endpoint, token = chat
    body = json.dumps({"endpoint": endpoint.public_key, "token": token, "text": "hi \ud800"})
    response = chat_call("send", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_json"
    assert not Message.objects.filter(kind="message").exists()


def test_page_leave_with_seconds_1e999_is_a_400(chat):
    endpoint, token = chat
    view = chat_call(
        "pageview",
        json.dumps({"endpoint": endpoint.public_key, "token": token, "url": "https://x.example/"}),
    )
    assert view.status_code == 200, view.content
    body = json.dumps(
        {"endpoint": endpoint.public_key, "token": token, "page_view": view.json()["page_view"]}
    )
    response = chat_call("pageview/leave", body[:-1] + ', "seconds": 1e999}')
    assert response.status_code == 400, response.content
    assert PageView.objects.get().duration_seconds is None


@pytest.mark.parametrize("seconds", ["1e300", "NaN", "-1", "true", '"12"'])
def test_page_leave_with_seconds_not_a_sane_number_is_a_400(chat, seconds):
    endpoint, token = chat
    view = chat_call(
        "pageview",
        json.dumps({"endpoint": endpoint.public_key, "token": token, "url": "https://x.example/"}),
    )
    body = json.dumps(
        {"endpoint": endpoint.public_key, "token": token, "page_view": view.json()["page_view"]}
    )
    response = chat_call("pageview/leave", body[:-1] + f', "seconds": {seconds}}}')
    if seconds == "1e300":  # a finite float: capped at a day, as before
        assert response.status_code == 200, response.content
        assert PageView.objects.get().duration_seconds == 86400
    else:
        assert response.status_code == 400, response.content
        assert PageView.objects.get().duration_seconds is None


@pytest.mark.parametrize(
    ("path", "field"),
    [("sync", "after"), ("seen", "up_to"), ("pageview/leave", "page_view")],
)
def test_chat_ids_beyond_bigint_are_not_a_500(chat, path, field):
    endpoint, token = chat
    body = {"endpoint": endpoint.public_key, "token": token, field: 10**30, "seconds": 5}
    response = chat_call(path, json.dumps(body))
    assert response.status_code in (200, 400), response.content


# --- the schema says what the API returns --------------------------------------------------------


def _enum_values(schema: dict, prop: dict) -> set:
    components = schema["components"]["schemas"]
    values = set()
    for option in prop.get("oneOf", [prop]):
        target = components[option["$ref"].rsplit("/", 1)[1]] if "$ref" in option else option
        values |= set(target.get("enum", []))
    return values


def test_the_schema_allows_the_empty_direction_of_notes_and_events(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    direction = schema["components"]["schemas"]["Message"]["properties"]["direction"]
    assert _enum_values(schema, direction) == {"in", "out", ""}


def test_the_schema_documents_error_responses(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    inbound = schema["paths"]["/api/v1/inbound/"]["post"]["responses"]
    assert {"400", "401", "403", "413", "503"} <= set(inbound)
    assert inbound["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
