"""The understanding layer (the ``understanding`` package) wired into the hub.

Every inbound message is read once, in the ingest's transaction (``read_inbound``): its language,
the questions in it with their kind, its temperature label and signals are stored on the
message (``Message.analysis``, with the analyser's version), and a confident reading of a long
enough text teaches the contact's language (``crm.services.learn_language``; an explicit choice
wins). Both ways in call it, one by one (``ingest``) and in runs (``ingest_batch``), in the
order of the messages, so both store the same results. It runs in the request path, not in a
task: the analyser costs well under a millisecond per typical message (README, "Understanding").

``language_for`` is the language of what the hub sends on its own to a person.
"""

from __future__ import annotations

from django.conf import settings

from crm.models import Contact
from crm.services import learn_language
from hub.models import Endpoint, Message
from understanding import VERSION, analyse

__all__ = ["VERSION", "language_for", "language_prior", "read_inbound", "version_key"]


def _code(value: str | None) -> str:
    return (value or "").strip().lower().replace("_", "-").split("-")[0]


def endpoint_language(endpoint: Endpoint | None) -> str:
    """The endpoint's default language (``settings["language"]``), if it has one."""
    if endpoint is None or not isinstance(endpoint.settings, dict):
        return ""
    value = endpoint.settings.get("language", "")
    return _code(value) if isinstance(value, str) else ""


def language_prior(contact: Contact, endpoint: Endpoint | None) -> str:
    """What a text too short to tell is probably written in: the contact's language (chosen or
    learned), else the endpoint's default."""
    return _code(contact.language) or endpoint_language(endpoint)


def read_inbound(message: Message, contact: Contact) -> bool:
    """Analyse the inbound ``message`` (unsaved or saved: the caller saves it) and learn its
    language into ``contact`` (the caller saves ``crm.services.LANGUAGE_FIELDS``). Returns whether
    the contact's language changed."""
    text = message.text or ""
    analysis = analyse(
        text, language_prior=language_prior(contact, message.endpoint), channel=message.channel
    )
    message.analysis = analysis.as_dict()
    return learn_language(
        contact, analysis.language, analysis.language_confidence, len(text.strip())
    )


def language_for(contact: Contact | None, endpoint: Endpoint | None = None, supported=None) -> str:
    """The language of an automatic message to ``contact``: their language (chosen first, else
    learned: the contact holds one of them), else the endpoint's default, else the site's; among
    ``supported`` (default: the site's languages), else English."""
    if supported is None:
        supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (
        _code(contact.language) if contact is not None else "",
        endpoint_language(endpoint),
        _code(settings.LANGUAGE_CODE),
    ):
        if candidate in supported:
            return candidate
    return "en"


def version_key(version: str | None) -> tuple:
    """A version string ("2026.12.1") as a comparable tuple; an unreadable one sorts first."""
    parts = []
    for part in (version or "").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)
