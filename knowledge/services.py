"""Changes to answers: create/update by key (idempotent), index their words, delete. Every
write of an answer goes through here so the search index stays in sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from knowledge import backends
from knowledge.models import Answer, AnswerText
from knowledge.textnorm import terms

ANSWER_FIELDS = ("status", "kinds", "topics", "url", "is_canned", "actions", "review_by")
TEXT_FIELDS = ("title", "body", "short", "channel_overrides")
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class AnswerData:
    """One answer as the import formats and the API describe it."""

    key: str
    texts: dict[str, dict[str, Any]]  # language -> {"title", "body", "short", "channel_overrides"}
    status: str = Answer.Status.PUBLISHED
    kinds: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    url: str = ""
    is_canned: bool = False
    actions: dict = field(default_factory=dict)
    review_by: Any = None


def index_text(text: AnswerText, topics: list[str]) -> None:
    """Fill the normalised terms the finder matches (title, short, body, topics)."""
    lang = text.language
    text.terms = {
        "title": terms(text.title, lang),
        "short": terms(text.short, lang),
        "body": terms(text.body, lang),
        "topics": terms(" ".join(topics), lang),
    }
    words = [t for part in text.terms.values() for t in part]
    text.search_text = backends.search_text(words)


def _error(exc: ValidationError, prefix: str = "") -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError({f"{prefix}{k}": v for k, v in exc.message_dict.items()})
    return exc


@transaction.atomic
def save_answer(data: AnswerData, *, by=None) -> tuple[Answer, str]:
    """Create or update the answer ``data.key`` with exactly ``data.texts``' languages; return it
    and what happened (created, updated, unchanged). Invalid data raises ValidationError with
    the field (``texts.it.short``...) and changes nothing."""
    if not data.texts:
        raise ValidationError({"texts": "At least one language is required."})
    answer = Answer.objects.filter(key=data.key).first()
    outcome = UNCHANGED
    if answer is None:
        answer = Answer(key=data.key)
        outcome = CREATED
    for name in ANSWER_FIELDS:
        value = getattr(data, name)
        if getattr(answer, name) != value:
            setattr(answer, name, value)
            outcome = outcome if outcome == CREATED else UPDATED
    try:
        answer.full_clean(exclude=["owner"], validate_unique=outcome == CREATED)
    except ValidationError as exc:
        raise _error(exc) from exc
    existing = {t.language: t for t in answer.texts.all()} if answer.pk else {}
    changed_texts: list[AnswerText] = []
    for lang, values in data.texts.items():
        text = existing.pop(lang, None) or AnswerText(language=lang)
        dirty = text.pk is None
        for name in TEXT_FIELDS:
            value = values.get(name, {} if name == "channel_overrides" else "")
            if getattr(text, name) != value:
                setattr(text, name, value)
                dirty = True
        try:
            text.full_clean(exclude=["answer"], validate_unique=False)
        except ValidationError as exc:
            raise _error(exc, f"texts.{lang}.") from exc
        if dirty or outcome != UNCHANGED:
            changed_texts.append(text)
    if changed_texts or existing:
        outcome = outcome if outcome == CREATED else UPDATED
    if outcome == UNCHANGED:
        return answer, outcome
    if by is not None:
        answer._history_user = by
    answer.save()
    for text in existing.values():  # languages no longer given
        backends.remove([text.pk])
        text.delete()
    for text in changed_texts:
        text.answer = answer
        index_text(text, answer.topics)
        if by is not None:
            text._history_user = by
        text.save()
    backends.sync([(t.pk, t.search_text) for t in changed_texts])
    _invalidate()
    return answer, outcome


@transaction.atomic
def reindex_answer(answer: Answer) -> None:
    """After an edit outside ``save_answer`` (the admin): recompute the texts' terms."""
    texts = list(answer.texts.all())
    for text in texts:
        index_text(text, answer.topics)
        AnswerText.objects.filter(pk=text.pk).update(terms=text.terms, search_text=text.search_text)
    backends.sync([(t.pk, t.search_text) for t in texts])
    _invalidate()


@transaction.atomic
def delete_answer(answer: Answer) -> None:
    backends.remove(list(answer.texts.values_list("pk", flat=True)))
    answer.delete()
    _invalidate()


def _invalidate() -> None:
    from knowledge import finder

    transaction.on_commit(finder.invalidate)
    finder.invalidate()


def answer_data(answer: Answer) -> AnswerData:
    """An answer back in the import shape (export, round trips)."""
    return AnswerData(
        key=answer.key,
        texts={
            t.language: {
                "title": t.title,
                "body": t.body,
                "short": t.short,
                "channel_overrides": t.channel_overrides,
            }
            for t in answer.texts.all()
        },
        status=answer.status,
        kinds=list(answer.kinds),
        topics=list(answer.topics),
        url=answer.url,
        is_canned=answer.is_canned,
        actions=dict(answer.actions),
        review_by=answer.review_by,
    )


def find_answers(text: str, **kwargs):
    """See ``knowledge.finder.find_answers``."""
    from knowledge.finder import find_answers as find

    return find(text, **kwargs)


def render_answer(answer: Answer, **kwargs):
    """See ``knowledge.rendering.render_answer``."""
    from knowledge.rendering import render_answer as render

    return render(answer, **kwargs)


def render_placeholders(text: str, **kwargs):
    """See ``knowledge.rendering.render_placeholders``."""
    from knowledge.rendering import render_placeholders as render

    return render(text, **kwargs)
