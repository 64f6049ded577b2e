"""Normalisation of identity values, so one address is stored one way whatever the channel says.

Emails are lower-cased (the whole address: providers treat local parts case-insensitively in
practice, and a support hub must not split a person in two over capitals). Phone and WhatsApp
numbers become E.164 through ``phonenumbers``.
"""

from __future__ import annotations

import os
import re
from email.utils import parseaddr

import phonenumbers

from crm.models import Identity

DEFAULT_REGION = os.environ.get("HUB_DEFAULT_PHONE_REGION", "IT")


class InvalidIdentity(ValueError):
    """The value cannot be an identity of that kind."""


_LOCAL_PART = re.compile(r"^[^\s@<>(),;:\\\"\[\]]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([^\s@.<>()\[\],;:]{1,63}\.)+[^\s@.<>()\[\],;:0-9]{2,63}$")


def normalise_email(value: str) -> str:
    """Lower-cased ``local@domain``. Accepts ``Name <addr>`` and internationalised addresses."""
    _, address = parseaddr(value.strip())
    address = address or value.strip()
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.match(local) or not _DOMAIN.match(domain) or len(address) > 320:
        raise InvalidIdentity(f"not an email address: {value!r}")
    return f"{local}@{domain}".lower()


def normalise_phone(value: str, region: str | None = None) -> str:
    raw = value.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw.split(":", 1)[1]
    try:
        number = phonenumbers.parse(raw, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentity(f"not a possible phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A WhatsApp business-scoped user id (a sender who shares no phone number), e.g.
# ``IN.2081978709342942``: a region prefix and an opaque id, kept as it is.
_WHATSAPP_USER_ID = re.compile(r"^[A-Z]{2}(\.[A-Za-z0-9]{1,128}){1,3}$")


def normalise(kind: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdentity("an identity needs a value")
    if kind == Identity.Kind.EMAIL:
        return normalise_email(value)
    if kind == Identity.Kind.WHATSAPP:
        user_id = value.strip().removeprefix("whatsapp:")
        if _WHATSAPP_USER_ID.match(user_id):
            return user_id
    if kind in (Identity.Kind.PHONE, Identity.Kind.WHATSAPP):
        return normalise_phone(value)
    if kind in (Identity.Kind.CHAT_VISITOR, Identity.Kind.API):
        value = value.strip()
        if len(value) > 320:
            raise InvalidIdentity("identity value too long")
        return value
    raise InvalidIdentity(f"unknown identity kind: {kind!r}")
