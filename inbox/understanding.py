"""What the agent UI shows of the understanding layer: a message's language, its questions with
their kind and its temperature; a conversation's temperature badge and why; the contact's
language and whether it was chosen or learned. Labels in the agent's language."""

from __future__ import annotations

from django.utils.translation import get_language_info, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.models import Contact, LanguageSource
from hub.models import Conversation, Temperature

KIND_LABELS = {
    "who": pgettext_lazy("question kind", "who"),
    "what": pgettext_lazy("question kind", "what"),
    "why": pgettext_lazy("question kind", "why"),
    "when": pgettext_lazy("question kind", "when"),
    "where": pgettext_lazy("question kind", "where"),
    "how": pgettext_lazy("question kind", "how"),
    "which": pgettext_lazy("question kind", "which"),
}
KIND_HELP = {
    "who": _("The answer is a person, team or company."),
    "what": _("The answer is a fact, a status or an amount."),
    "why": _("The answer is an explanation, a cause."),
    "when": _("The answer is a time, a date or a deadline."),
    "where": _("The answer is a place, an address or a place in the app."),
    "how": _("The answer is a procedure: the steps."),
    "which": _("The answer is a choice among options."),
}
MESSAGE_TEMPERATURE_LABELS = {
    "calm": pgettext_lazy("message temperature", "calm"),
    "urgent": pgettext_lazy("message temperature", "urgent"),
    "annoyed": pgettext_lazy("message temperature", "annoyed"),
    "angry": pgettext_lazy("message temperature", "angry"),
}
REASON_LABELS = {
    "message_angry": _("angry message"),
    "message_annoyed": _("annoyed message"),
    "message_urgent": _("urgent message"),
    "threat": _("threatens to leave, review, dispute or sue"),
    "unanswered": _("messages in a row without an answer"),
    "long_exchange": _("long back-and-forth"),
    "ttl_half": _("half the time to answer used"),
    "ttl_near": _("answer due soon"),
    "ttl_passed": _("answer overdue"),
    "breached_before": _("a reply was late before"),
    "reopened": _("thread reopened by the person"),
}
SOURCE_LABELS = {
    LanguageSource.EXPLICIT: _("chosen"),
    LanguageSource.LEARNED: _("learned from their messages"),
}


def language_name(code: str) -> str:
    """The language's name in the agent's language ("italiano"/"Italian"); the code if Django
    does not know it; "unknown" when empty."""
    if not code:
        return gettext("unknown")
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return code


def message_view(analysis: dict | None) -> dict | None:
    """What an inbound message's item shows of its stored analysis."""
    if not analysis:
        return None
    temperature = analysis.get("temperature", "")
    return {
        "language": analysis.get("language", ""),
        "language_name": language_name(analysis.get("language", "")),
        "confidence": round(100 * float(analysis.get("language_confidence") or 0)),
        "questions": [
            {
                "text": question.get("text", ""),
                "kind": question.get("kind", ""),
                "kind_label": KIND_LABELS.get(question.get("kind", ""), question.get("kind", "")),
                "kind_help": KIND_HELP.get(question.get("kind", ""), ""),
            }
            for question in analysis.get("questions") or ()
        ],
        "temperature": temperature,
        "temperature_label": MESSAGE_TEMPERATURE_LABELS.get(temperature, temperature),
        "signals": ", ".join(analysis.get("signals") or ()),
    }


def reason_text(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def temperature_label(level: str) -> str:
    return str(Temperature(level).label) if level in Temperature.values else level


def temperature_title(conversation: Conversation) -> str:
    """The badge's tooltip: the score and the reasons, in words."""
    reasons = []
    for reason in conversation.temperature_reasons or ():
        label = str(REASON_LABELS.get(reason.get("code"), reason.get("code", "")))
        if reason.get("count"):
            label = f"{label} ({reason['count']})"
        reasons.append(label)
    text = gettext("Temperature %(level)s, score %(score)s") % {
        "level": temperature_label(conversation.temperature),
        "score": conversation.temperature_score,
    }
    return f"{text}: {', '.join(reasons)}" if reasons else text


def contact_language(contact: Contact) -> dict:
    """The contact panel's language line."""
    return {
        "code": contact.language,
        "name": language_name(contact.language) if contact.language else "",
        "source": contact.language_source,
        "source_label": SOURCE_LABELS.get(contact.language_source, ""),
    }


# The languages an agent can choose in the contact panel (plus the contact's own).
CHOOSABLE_LANGUAGES = ("it", "en", "fr", "de", "es", "pt")


def language_choices(contact: Contact) -> list[tuple[str, str]]:
    codes = list(CHOOSABLE_LANGUAGES)
    if contact.language and contact.language not in codes:
        codes.append(contact.language)
    return [(code, language_name(code)) for code in codes]
