"""Answers: one fact each, with a text per language and its history."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

KINDS = ("who", "what", "why", "when", "where", "how", "which")
MAX_SHORT_SENTENCES = 2
# A sentence ends at . ! ? … followed by white space; "3.5", "€6.90", "e.g." do not end one.
_SPLIT = re.compile(r"(?<=[.!?…])[\"')»\]]*\s+")
_ABBREVIATION = re.compile(
    r"(?:\b\w|\be\.g|\bi\.e|\betc|\becc|\bsig|\bdott|\bnr|\bno)\.$", re.IGNORECASE
)


def count_sentences(text: str) -> int:
    pieces = [p for p in _SPLIT.split((text or "").strip()) if p.strip()]
    count = 0
    for i in range(len(pieces)):
        if i == 0 or not _ABBREVIATION.search(pieces[i - 1]):
            count += 1
    return count


def validate_kinds(value) -> None:
    if not isinstance(value, list) or any(k not in KINDS for k in value):
        raise ValidationError(
            _("Kinds must be a list of: %(kinds)s."), params={"kinds": ", ".join(KINDS)}
        )


def validate_str_list(value) -> None:
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise ValidationError(_("A list of words is expected."))


def validate_short(value: str) -> None:
    if count_sentences(value) > MAX_SHORT_SENTENCES:
        raise ValidationError(
            _("The short variant has at most %(n)d sentences."), params={"n": MAX_SHORT_SENTENCES}
        )


class Answer(models.Model):
    """One fact. Its words live in one ``AnswerText`` per language."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        ARCHIVED = "archived", _("archived")

    key = models.SlugField(_("key"), max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    kinds = models.JSONField(
        _("question kinds"), default=list, blank=True, validators=[validate_kinds]
    )
    topics = models.JSONField(_("topics"), default=list, blank=True, validators=[validate_str_list])
    url = models.URLField(_("article URL"), max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    review_by = models.DateField(_("review by"), null=True, blank=True)
    is_canned = models.BooleanField(
        _("canned reply"), default=False, help_text=_("A macro agents insert by hand.")
    )
    actions = models.JSONField(
        _("macro actions"),
        default=dict,
        blank=True,
        help_text=_('Optional: {"status": "resolved", "team": 3, "tags": ["vip"]}.'),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        if not isinstance(self.actions, dict):
            raise ValidationError({"actions": _("An object is expected.")})


class AnswerText(models.Model):
    """An answer's words in one language: title, canonical body, short variant, per-channel
    overrides. ``terms``/``search_text`` are the normalised words the finder matches (written by
    ``knowledge.services``, never by hand)."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=12)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"))
    short = models.TextField(
        _("short variant"),
        blank=True,
        validators=[validate_short],
        help_text=_("At most two sentences: chat, SMS, WhatsApp."),
    )
    channel_overrides = models.JSONField(_("per-channel text"), default=dict, blank=True)
    terms = models.JSONField(default=dict, blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["terms", "search_text"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["answer", "language"], name="knowledge_text_per_lang")
        ]
        ordering = ["answer_id", "language"]
        verbose_name = _("answer text")
        verbose_name_plural = _("answer texts")

    def __str__(self) -> str:
        return f"{self.answer_id}/{self.language}: {self.title}"

    def clean(self) -> None:
        if not isinstance(self.channel_overrides, dict) or any(
            not isinstance(v, str) for v in self.channel_overrides.values()
        ):
            raise ValidationError({"channel_overrides": _("An object of channel: text.")})


class AnswerAttachment(models.Model):
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="knowledge/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=120, blank=True)
    size = models.PositiveIntegerField(_("size"), default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename
