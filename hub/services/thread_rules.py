"""The threading rules' vocabulary, shared by ``ingest`` and ``import_mail``'s batched planner.

Which rule threaded a message is stored in ``message.metadata["threading"]["rule"]``:

- ``reply_token``: our reply address (``support+<token>@...``);
- ``references``: ``In-Reply-To``/``References`` name a stored message;
- ``reverse_references``: the same person's stored message names this one, or the same earlier
  one (a reply that overtook its parent);
- ``subject_ref``: a ``[#<id>]`` subject token of the same person;
- ``subject``: no thread headers found anything: the same person's conversation on the same
  mailbox with the same subject once reply/forward prefixes and tags are stripped
  (``subject_key``), active within ``HUB_SUBJECT_THREAD_WINDOW_DAYS`` and open or resolved
  within the reopen window, never for a generic subject;
- ``contact_latest``: the person's latest conversation on the endpoint (chat, SMS, WhatsApp);
- ``new``: none of these: a new conversation.

A subject is no proof, so it joins only the same person's mail, and:

- a reply without thread headers ("Re: ..." and no ``In-Reply-To``/``References``) joins the
  conversation with its subject;
- a new mail (no reply prefix), or a reply whose headers name no stored message, joins only a
  conversation opened by a reply and holding no thread headers at all: subject-only replies
  that arrived before it. Two new mails both called "Invoice" stay two conversations, and a
  reply whose references do not meet a conversation's own references is another thread.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings

from hub.models import Conversation

REPLY_TOKEN = "reply_token"
REFERENCES = "references"
REVERSE_REFERENCES = "reverse_references"
SUBJECT_REF = "subject_ref"
SUBJECT = "subject"
CONTACT_LATEST = "contact_latest"
NEW = "new"
RULES = (REPLY_TOKEN, REFERENCES, REVERSE_REFERENCES, SUBJECT_REF, SUBJECT, CONTACT_LATEST, NEW)

# Reply prefixes in the languages of our users' clients, and forward prefixes; "Re[2]:" too.
_REPLY = r"re|r|aw|sv|rif|antw|vs|odp"
_FORWARD = r"fwd|fw|i|inoltro|tr|wg|doorst|enc"
_AUTOMATIC = r"automatic reply|auto ?reply|risposta automatica|out of office"
_COLON = ":\uff1a"  # and the full-width colon of CJK clients
_PREFIX = re.compile(
    rf"^\s*(?:\[[^\]]*\]\s*"
    rf"|(?P<kind>{_REPLY}|{_FORWARD}|{_AUTOMATIC})\s*(?:\[\d+\]|\(\d+\))?\s*[{_COLON}]\s*)",
    re.IGNORECASE,
)
_REPLY_WORD = re.compile(rf"^(?:{_REPLY}|{_AUTOMATIC})$", re.IGNORECASE)
_TAG = re.compile(r"\[[^\]]*\]")
_ENDS = " \t\r\n.,;:!?-_*~\"'()<>«»\u201c\u201d\u2018\u2019"
_SPACE = re.compile(r"\s+")

# Subjects that say nothing about the thread: never a reason to join two mails. Kept short and
# lower case; the length rule below catches most of the rest.
GENERIC_SUBJECTS = frozenset(
    {
        "ciao", "salve", "buongiorno", "buonasera", "info", "informazioni", "informazione",
        "richiesta", "richiesta informazioni", "richiesta info", "domanda", "aiuto", "ordine",
        "problema", "supporto", "assistenza", "urgente", "grazie", "nessun oggetto",
        "senza oggetto", "hello", "hi", "hey", "question", "questions", "help", "request",
        "inquiry", "enquiry", "information", "order", "problem", "issue", "support", "urgent",
        "thanks", "thank you", "no subject", "test", "fyi", "documenti", "documents",
    }
)  # fmt: skip
# Fewer letters and digits than this: too short to tell threads apart ("Ok", "Re: ?").
MIN_SUBJECT_CHARS = 6


def _strip_prefixes(subject: str) -> tuple[str, bool]:
    """``subject`` without its leading prefixes and tags, and whether the first prefix was a
    reply's."""
    is_reply = None
    while True:
        match = _PREFIX.match(subject)
        if not match or match.end() == 0:
            break
        kind = match.group("kind")
        if kind and is_reply is None:
            is_reply = bool(_REPLY_WORD.match(kind))
        subject = subject[match.end() :]
    return subject, bool(is_reply)


def subject_key(subject: str) -> str:
    """The subject two mails of one thread share: prefixes (``Re:``, ``R:``, ``AW:``, ``Fwd:``,
    ``I:``, ``Inoltro:``, ``TR:``, ``RIF:``, ``SV:``, repeated, any case), ``[tags]``, spaces and
    punctuation at the ends removed, lower case; "" for a generic or too short subject."""
    rest, _ = _strip_prefixes(subject or "")
    rest = _SPACE.sub(" ", _TAG.sub(" ", rest)).strip(_ENDS).casefold()
    if rest in GENERIC_SUBJECTS or sum(ch.isalnum() for ch in rest) < MIN_SUBJECT_CHARS:
        return ""
    return rest


def is_reply_subject(subject: str) -> bool:
    """Whether ``subject`` starts (after tags) with a reply prefix."""
    return _strip_prefixes(subject or "")[1]


def thread_subject(conversation_subject: str, subject: str) -> str | None:
    """The conversation's new subject when a message with ``subject`` joins it: a new mail's
    (no reply prefix) where the conversation was opened by a reply that arrived before it, so
    the conversation reads as the thread and a second new mail with that subject is not taken
    for this thread's start; None to keep it."""
    if not subject or is_reply_subject(subject) or not is_reply_subject(conversation_subject):
        return None
    key = subject_key(subject)
    return subject if key and key == subject_key(conversation_subject) else None


def joins_by_subject(
    conversation: Conversation,
    *,
    key: str,
    is_reply: bool,
    has_references: bool,
    holds_references: bool,
    started_at: datetime | None,
    occurred_at: datetime,
    now: datetime,
) -> bool:
    """Whether a message with subject ``key`` (``subject_key``) may join ``conversation`` (the
    same person's, on the same endpoint, not merged) by its subject. ``holds_references``:
    whether any message of the conversation has thread headers; ``started_at``: its earliest
    message's time."""
    if not key or subject_key(conversation.subject) != key:
        return False
    # A new mail, or one whose headers found nothing: only a conversation of subject-only mail
    # opened by a reply (its parent, or earlier replies, arrived later).
    if (has_references or not is_reply) and (
        holds_references or not is_reply_subject(conversation.subject)
    ):
        return False
    if (
        started_at is not None
        and started_at > occurred_at
        and not is_reply_subject(conversation.subject)
    ):
        return False  # its thread's first mail came after this reply: another thread
    window = settings.HUB["SUBJECT_THREAD_WINDOW"]
    if abs(conversation.last_activity_at - occurred_at) > window:
        return False
    if conversation.status == Conversation.Status.RESOLVED:
        resolved_at = conversation.resolved_at
        return resolved_at is not None and resolved_at >= now - settings.HUB["REOPEN_WINDOW"]
    return True
