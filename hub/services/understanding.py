"""The understanding layer (the ``understanding`` package) wired into the hub.

Every inbound message is read once (``read_inbound``): its language, the questions in it with
their kind, its temperature label and signals are stored on the message (``Message.analysis``,
with the analyser's version), and a confident reading of a long enough text teaches the
contact's language (``crm.services.learn_language``; an explicit choice wins).

When, by measurement (README, "Understanding"): a live message that waits for an answer is read
by ``ingest`` in its transaction: the analyser costs about a millisecond next to an ingest of
several, and the conversation's temperature and the language of automatic messages need it at
once. Everything else (the history ``import_mail`` writes in runs through ``ingest_batch`` at a
few milliseconds per message, where reading inline slowed the import by a quarter or more;
automatic replies; keywords such as STOP) is read after the commit by a task
(``analyse_later`` -> ``analyse_stored``), in the order of ingest, with the same rules: one by
one or in runs, the same results are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Contact, LanguageSource
from crm.services import LANGUAGE_FIELDS, LEARN_MIN_CHARS, LEARN_MIN_CONFIDENCE, learn_language
from hub.models import Endpoint, Message
from understanding import VERSION, analyse

__all__ = [
    "VERSION",
    "analyse_later",
    "analyse_stored",
    "language_for",
    "language_prior",
    "read_inbound",
    "reanalyse",
    "relearn_language",
    "version_key",
]


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


def analyse_later(message_ids: list[int]) -> None:
    """Queue the analysis of stored messages (called after their commit)."""
    from hub.tasks import analyse_messages

    analyse_messages.delay(message_ids)


def analyse_stored(message_ids: list[int]) -> int:
    """Read the stored inbound messages of ``message_ids`` not read yet, in id order (the order
    they were ingested), as ``read_inbound`` at their ingest would: each with its contact's
    language as it is then, a confident one teaching it. Idempotent (a retry finds them read).
    Returns how many were read."""
    with transaction.atomic():
        messages = list(
            Message.objects.select_related("endpoint", "sender_identity")
            .filter(pk__in=message_ids, analysis__isnull=True, direction=Message.Direction.INBOUND)
            .order_by("pk")
        )
        owners = {m.sender_identity.contact_id for m in messages if m.sender_identity_id}
        contacts = {
            contact.pk: contact
            for contact in Contact.objects.select_for_update().filter(pk__in=owners).order_by("pk")
        }
        taught: dict[int, Contact] = {}
        for message in messages:
            contact = (
                contacts.get(message.sender_identity.contact_id)
                if message.sender_identity_id
                else None
            )
            if contact is None:
                continue
            if read_inbound(message, contact):
                taught[contact.pk] = contact
        Message.objects.bulk_update([m for m in messages if m.analysis is not None], ["analysis"])
        now = timezone.now()
        for contact in taught.values():
            contact.updated_at = now
        Contact.objects.bulk_update(taught.values(), [*LANGUAGE_FIELDS, "updated_at"])
    return len(messages)


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


@dataclass
class Recomputed:
    read: int = 0
    changed: int = 0
    contacts: int = 0


def reanalyse(since: datetime, *, version_below: str = "", batch_size: int = 500) -> Recomputed:
    """Analyse again the inbound messages since ``since`` (those stored by an analyser older
    than ``version_below``, if given), in batches by id, each in its own transaction, writing
    only what changed (run it twice: the second run writes nothing). Then the language of each
    contact concerned is learned again from its messages (``relearn_language``)."""
    result = Recomputed()
    below = version_key(version_below) if version_below else None
    contact_ids: set[int] = set()
    last = 0
    while True:
        with transaction.atomic():
            batch = list(
                Message.objects.select_related("endpoint", "sender_identity__contact")
                .filter(
                    pk__gt=last,
                    direction=Message.Direction.INBOUND,
                    kind=Message.Kind.MESSAGE,
                    occurred_at__gte=since,
                )
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            last = batch[-1].pk
            changed = []
            for message in batch:
                stored = message.analysis or {}
                if below is not None and stored and version_key(stored.get("version")) >= below:
                    continue
                result.read += 1
                contact = message.sender_identity.contact if message.sender_identity else None
                if contact is None:
                    continue
                contact_ids.add(contact.pk)
                text = message.text or ""
                fresh = analyse(
                    text,
                    language_prior=language_prior(contact, message.endpoint),
                    channel=message.channel,
                ).as_dict()
                if fresh != stored:
                    message.analysis = fresh
                    changed.append(message)
            Message.objects.bulk_update(changed, ["analysis"])
            result.changed += len(changed)
    for contact in Contact.objects.filter(pk__in=contact_ids).order_by("pk"):
        if relearn_language(contact):
            result.contacts += 1
    return result


def relearn_language(contact: Contact) -> bool:
    """The contact's learned language from their stored analyses: the latest message that may
    teach one (as ``crm.services.learn_language`` judges it) decides. A chosen language stays.
    Returns whether it changed (then saved)."""
    if contact.language_source == LanguageSource.EXPLICIT:
        return False
    messages = (
        Message.objects.filter(
            sender_identity__contact=contact,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.MESSAGE,
            analysis__isnull=False,
        )
        .order_by("-occurred_at", "-id")
        .values_list("analysis", "text")
    )
    for analysis, text in messages.iterator(chunk_size=200):
        language = analysis.get("language", "")
        confidence = analysis.get("language_confidence", 0.0) or 0.0
        if language and confidence >= LEARN_MIN_CONFIDENCE and len(text.strip()) >= LEARN_MIN_CHARS:
            if learn_language(contact, language, confidence, len(text.strip())):
                contact.save(update_fields=[*LANGUAGE_FIELDS, "updated_at"])
                return True
            return False
    return False
