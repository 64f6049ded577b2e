"""Helpers for the SMS/WhatsApp tests: endpoints with Twilio credentials, signed webhook posts and
Twilio REST API responses shaped as Twilio documents them (the JSON bodies follow the examples
of twilio/twilio-python's tests/integration/api/v2010/account/test_message.py)."""

from __future__ import annotations

import json
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "12345678901234567890123456789012"
INBOUND_PATH = "/channels/sms/twilio/inbound/"
STATUS_PATH = "/channels/sms/twilio/status/"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SMS_NUMBER = "+390212345678"
WHATSAPP_NUMBER = "+390212345679"
CORPORA = Path(__file__).resolve().parent / "data" / "twilio"  # origins: tests/data/SOURCES.md
CREDENTIALS = {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN}


def corpus(name: str):
    return json.loads((CORPORA / name).read_text())


def sms_endpoint(endpoint_for, **settings):
    return endpoint_for("sms", settings={**CREDENTIALS, **settings})


def whatsapp_endpoint(endpoint_for, **settings):
    return endpoint_for("whatsapp", settings={**CREDENTIALS, **settings})


def sign(url: str, params, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def signed_post(client, path, params, *, token=AUTH_TOKEN, signed_url=None, query="", **extra):
    """POST ``params`` form-encoded, as Twilio does, signed for ``signed_url`` (default: the URL
    the test client requests)."""
    full_path = f"{path}?{query}" if query else path
    url = signed_url or f"http://testserver{full_path}"
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    multi = MultiValueDict()
    for key, value in pairs:
        multi.appendlist(key, value)
    return client.post(
        full_path,
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=sign(url, multi, token),
        **extra,
    )


def inbound_params(sender="+393471234567", to=SMS_NUMBER, body="Ciao!", sid=None, **more):
    """An incoming-message webhook as Twilio documents it."""
    sid = sid or "SM" + "1" * 32
    params = {
        "ToCountry": "IT",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    params.update(more)
    return params


def twilio_message(sid, *, to, sender, body, status="queued", num_media="0", created=None):
    """A Message resource as Twilio's REST API returns it (JSON)."""
    created = format_datetime(created or timezone.now(), usegmt=True)
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": sender,
        "messaging_service_sid": None,
        "num_media": num_media,
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
        },
        "to": to,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def twilio_message_page(messages):
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=50&Page=0"
    return {
        "end": max(len(messages) - 1, 0),
        "first_page_uri": uri,
        "messages": messages,
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }


def twilio_error(code: int, message: str, status: int = 400):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
