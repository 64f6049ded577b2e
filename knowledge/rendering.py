"""Answers and free text rendered for a channel, a language and a person.

Placeholders are ``{{ name.path }}`` with an optional fallback ``{{ name.path|default:"text" }}``,
rendered by a tiny renderer of our own (no template engine): the values come from a dict of plain
strings built here from an allow-list (``ALLOWED``), nothing else is looked up, so no attribute of a
model, no ``__class__``, no settings can be reached, and template tags (``{% ... %}``) or filters
other than ``default`` are left as inert text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.models import count_sentences

PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+){0,3})\s*"
    r"(?:\|\s*default\s*:\s*(?P<q>[\"'])(?P<default>.{0,200}?)(?P=q)\s*)?\}\}"
)
ALLOWED = (
    "contact.first_name",
    "contact.name",
    "contact.company",
    "contact.attributes.<key>",
    "agent.first_name",
    "agent.name",
    "conversation.id",
    "team.name",
    "team.opening_hours",
)
SHORT_CHANNELS = ("chat", "sms", "whatsapp")
LANGUAGE_FALLBACK = ("it", "en")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Rendered:
    text: str
    language: str
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attachments: list = field(default_factory=list)
    url: str = ""


def _plain(value) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value).strip()
    return ""


def _opening_hours(team) -> str:
    hours = getattr(team, "business_hours", None) if team is not None else None
    if hours is None:
        return ""
    weekly = hours.weekly if isinstance(hours.weekly, dict) else {}
    parts = []
    for day in _DAYS:
        spans = weekly.get(day) or []
        text = ", ".join(
            f"{s[0]}-{s[1]}" for s in spans if isinstance(s, list | tuple) and len(s) == 2
        )
        if text:
            parts.append(f"{day} {text}")
    return "; ".join(parts)


def placeholder_values(*, contact=None, conversation=None, agent=None) -> dict[str, str]:
    """The allow-listed values as a flat dict of strings ("" = missing)."""
    values: dict[str, str] = {}
    if contact is None and conversation is not None:
        contact = conversation.contact
    if contact is not None:
        name = _plain(contact.name)
        values["contact.name"] = name
        values["contact.first_name"] = name.split()[0] if name else ""
        values["contact.company"] = _plain(contact.company.name) if contact.company_id else ""
        attributes = contact.attributes if isinstance(contact.attributes, dict) else {}
        for key, value in attributes.items():
            if isinstance(key, str):
                values[f"contact.attributes.{key}"] = _plain(value)
    if agent is not None:
        values["agent.first_name"] = _plain(agent.first_name) or _plain(agent.get_username())
        values["agent.name"] = _plain(agent.get_full_name()) or _plain(agent.get_username())
    if conversation is not None:
        values["conversation.id"] = str(conversation.pk)
        team = conversation.team
        if team is not None:
            values["team.name"] = _plain(team.name)
            values["team.opening_hours"] = _opening_hours(team)
    return values


def render_placeholders(
    text: str, *, contact=None, conversation=None, agent=None, values: dict[str, str] | None = None
) -> tuple[str, list[str]]:
    """``text`` with its placeholders filled, and the names that had no value (their fallback,
    or nothing, was used instead)."""
    if values is None:
        values = placeholder_values(contact=contact, conversation=conversation, agent=agent)
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        name = match.group("name")
        value = values.get(name, "")
        if value:
            return value
        if name not in missing:
            missing.append(name)
        return match.group("default") or ""

    return PLACEHOLDER.sub(fill, text or ""), missing


def pick_text(answer, language: str):
    texts = {t.language: t for t in answer.texts.all()}
    for lang in (language, *LANGUAGE_FALLBACK):
        if lang in texts:
            return texts[lang]
    return next(iter(sorted(texts.items())), (None, None))[1]


def render_answer(
    answer,
    *,
    channel: str,
    language: str,
    contact=None,
    conversation=None,
    agent=None,
    variant: str = "auto",
) -> Rendered:
    """The answer's words for ``channel`` in ``language`` (falling back it -> en -> any), with
    placeholders filled and the channel's checks as warnings."""
    text = pick_text(answer, language)
    if text is None:
        return Rendered(text="", language="", warnings=["The answer has no text."])
    warnings: list[str] = []
    override = (text.channel_overrides or {}).get(channel)
    if variant == "body":
        words = text.body
    elif variant == "short":
        words = text.short or text.body
    elif override:
        words = override
    elif channel in SHORT_CHANNELS and text.short:
        words = text.short
    else:
        words = text.body
    attachments = list(answer.attachments.all())
    if (
        channel in SHORT_CHANNELS
        and answer.url
        and answer.url not in words
        and (channel == "sms" or count_sentences(words) > 2)
    ):
        words = f"{words} {answer.url}"
    if channel in SHORT_CHANNELS and count_sentences(words) > 2:
        warnings.append(
            "More than two sentences for chat: send the article link instead, or move this"
            " answer to email."
        )
    if attachments and channel != "email":
        warnings.append("The attachments go by email; on this channel send their link.")
    rendered, missing = render_placeholders(
        words, contact=contact, conversation=conversation, agent=agent
    )
    if missing:
        warnings.append("No value for: " + ", ".join(missing) + ".")
    return Rendered(
        text=rendered,
        language=text.language,
        missing=missing,
        warnings=warnings,
        attachments=attachments if channel == "email" else [],
        url=answer.url,
    )
