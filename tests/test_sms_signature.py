"""X-Twilio-Signature: Twilio's published test vectors through our validation code, and the
webhook's answer to unsigned, forged and proxied requests."""

from __future__ import annotations

import pytest
from django.utils.datastructures import MultiValueDict

from channels_sms import conf
from channels_sms.signature import is_valid_signature
from crm.models import Contact
from hub.models import Message
from tests.sms_fixtures import (
    AUTH_TOKEN,
    INBOUND_PATH,
    corpus,
    inbound_params,
    sign,
    signed_post,
    sms_endpoint,
)

VECTORS = corpus("request_validator_vectors.json")["vectors"]


def _params(vector):
    params = vector["params"]
    if params is None:
        return None
    pairs = params.items() if isinstance(params, dict) else params
    multi = MultiValueDict()
    for key, value in pairs:
        multi.appendlist(key, value)
    return multi


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_twilio_request_validator_vectors(vector):
    """Every vector from twilio-python/-php/-ruby's own tests (see tests/data/SOURCES.md)."""
    valid = is_valid_signature(
        vector["auth_token"],
        vector["url"],
        _params(vector),
        vector["signature"],
        body=vector.get("body"),
    )
    assert valid is vector["expect_valid"]


def test_all_vectors_are_exercised():
    assert len(VECTORS) == 17
    assert {v["expect_valid"] for v in VECTORS} == {True, False}


@pytest.fixture
def sms(endpoint_for):
    return sms_endpoint(endpoint_for)


def _nothing_stored():
    return not Message.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_unsigned_request_is_refused_and_nothing_stored(client, sms):
    response = client.post(INBOUND_PATH, inbound_params())
    assert response.status_code == 403
    assert b"X-Twilio-Signature" in response.content
    assert _nothing_stored()


@pytest.mark.django_db
def test_forged_signatures_are_refused(client, sms):
    params = inbound_params()
    wrong_token = signed_post(client, INBOUND_PATH, params, token="not-the-token")
    assert wrong_token.status_code == 403
    good = sign(f"http://testserver{INBOUND_PATH}", params)
    tampered = client.post(
        INBOUND_PATH, {**params, "Body": "changed"}, HTTP_X_TWILIO_SIGNATURE=good
    )
    assert tampered.status_code == 403
    extra_param = client.post(INBOUND_PATH, {**params, "Extra": "1"}, HTTP_X_TWILIO_SIGNATURE=good)
    assert extra_param.status_code == 403
    assert _nothing_stored()


@pytest.mark.django_db
def test_signature_over_the_public_url_behind_a_proxy(client, sms, settings):
    """Behind a proxy the hub sees http://testserver/...; Twilio signed the public URL."""
    settings.HUB_PUBLIC_URL = "https://hub.example.com/"
    public = f"https://hub.example.com{INBOUND_PATH}"
    params = inbound_params()
    assert signed_post(client, INBOUND_PATH, params).status_code == 403  # the internal URL
    response = signed_post(client, INBOUND_PATH, params, signed_url=public)
    assert response.status_code == 200
    assert Message.objects.filter(kind="message").count() == 1


@pytest.mark.django_db
def test_query_string_is_part_of_the_signed_url(client, sms, settings):
    settings.HUB_PUBLIC_URL = "https://hub.example.com"
    params = inbound_params()
    public = f"https://hub.example.com{INBOUND_PATH}?source=console"
    assert signed_post(client, INBOUND_PATH, params, signed_url=public).status_code == 403
    ok = signed_post(client, INBOUND_PATH, params, signed_url=public, query="source=console")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_endpoint_token_wins_over_the_environment(client, endpoint_for, settings):
    settings.TWILIO_AUTH_TOKEN = "environment-token"
    sms_endpoint(endpoint_for)  # has its own token
    params = inbound_params()
    assert signed_post(client, INBOUND_PATH, params, token="environment-token").status_code == 403
    assert signed_post(client, INBOUND_PATH, params, token=AUTH_TOKEN).status_code == 200


@pytest.mark.django_db
def test_environment_token_when_the_endpoint_has_none(client, endpoint_for, settings):
    settings.TWILIO_AUTH_TOKEN = "environment-token"
    endpoint_for("sms")
    params = inbound_params()
    assert signed_post(client, INBOUND_PATH, params, token=AUTH_TOKEN).status_code == 403
    assert signed_post(client, INBOUND_PATH, params, token="environment-token").status_code == 200


@pytest.mark.django_db
def test_without_any_token_only_the_local_one_signs(client, endpoint_for, settings, monkeypatch):
    """No credentials configured: the per-installation local token (simulate_sms) is the only
    one accepted, so the webhook is never open to unsigned or guessed requests."""
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    settings.TWILIO_AUTH_TOKEN = None
    endpoint_for("sms")
    params = inbound_params()
    assert signed_post(client, INBOUND_PATH, params, token="").status_code == 403
    assert signed_post(client, INBOUND_PATH, params, token=AUTH_TOKEN).status_code == 403
    local = conf.local_auth_token()
    assert len(local) == 32
    assert signed_post(client, INBOUND_PATH, params, token=local).status_code == 200


@pytest.mark.django_db
def test_real_signed_sms_webhook_from_twilio_ruby_spec(client, endpoint_for):
    """example_inbound_sms_signed.json: a real signed inbound SMS (older format: SmsSid, no
    MessageSid/NumMedia), posted to our webhook with the endpoint's public URL set to the one
    Twilio signed (a proxy that rewrites /validate/sms to our path)."""
    example = corpus("example_inbound_sms_signed.json")
    form = example["form"]
    endpoint = endpoint_for(
        "sms",
        address=form["To"],
        settings={
            "twilio_auth_token": example["auth_token"],
            "twilio_inbound_url": example["url"],
        },
    )
    response = client.post(
        INBOUND_PATH,
        data=form,
        HTTP_X_TWILIO_SIGNATURE=example["headers"]["X-Twilio-Signature"],
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    message = Message.objects.get(kind="message")
    assert message.endpoint == endpoint and message.text == "Orly"
    assert message.provider_message_id == "SM2003cbd5e6a3701999aa3e5f20ff2787"
    assert message.sender_identity.kind == "phone"
    assert message.sender_identity.value == "+14159354345"
    assert message.metadata["twilio"]["account_sid"] == form["AccountSid"]
    # The same request with one changed parameter is refused.
    forged = client.post(
        INBOUND_PATH,
        data={**form, "Body": "Orly?"},
        HTTP_X_TWILIO_SIGNATURE=example["headers"]["X-Twilio-Signature"],
    )
    assert forged.status_code == 403
    assert Message.objects.filter(kind="message").count() == 1


@pytest.mark.django_db
def test_methods_other_than_post_are_refused(client, sms):
    assert client.get(INBOUND_PATH).status_code == 405
    assert client.put(INBOUND_PATH).status_code == 405
