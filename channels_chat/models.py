"""Proactive greetings of the live chat (DESIGN.md: "moments after a visitor lands on a page, a
short message asks whether they have questions about that page")."""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.models import Channel


class GreetingRule(models.Model):
    """Shown by the widget ``delay_seconds`` after a visitor lands on a matching page, once per
    visitor; stored on the conversation's timeline (an outbound bot message) when the visitor
    answers it."""

    endpoint = models.ForeignKey(
        "hub.Endpoint",
        on_delete=models.CASCADE,
        related_name="chat_greeting_rules",
        limit_choices_to={"channel": Channel.CHAT},
        verbose_name=_("chat endpoint"),
    )
    name = models.CharField(_("name"), max_length=120)
    url_pattern = models.CharField(
        _("URL pattern"),
        max_length=500,
        default="*",
        help_text=_(
            "Matched against the page's path (and query), '*' matching anything: '/pricing*', "
            "'/products/*/reviews'. A pattern starting with http(s):// is matched against the "
            "whole URL."
        ),
    )
    delay_seconds = models.PositiveIntegerField(_("delay after landing (seconds)"), default=10)
    message_en = models.TextField(_("message (English)"), blank=True)
    message_it = models.TextField(_("message (Italian)"), blank=True)
    position = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("When several rules match, the lowest goes first.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chat greeting rule")
        verbose_name_plural = _("chat greeting rules")
        ordering = ["endpoint", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url_pattern})"

    def clean(self):
        if not (self.message_en.strip() or self.message_it.strip()):
            raise ValidationError(_("Write the message in at least one language."))
        if self.endpoint_id and self.endpoint.channel != Channel.CHAT:
            raise ValidationError({"endpoint": _("Greetings belong to a live chat endpoint.")})

    def matches(self, url: str) -> bool:
        pattern = self.url_pattern.strip() or "*"
        if pattern.lower().startswith(("http://", "https://")):
            return fnmatchcase(url, pattern)
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        return fnmatchcase(target, pattern) or fnmatchcase(parts.path or "/", pattern)

    def message_for(self, language: str) -> str:
        """The text in ``language`` (en, it), else the other one."""
        preferred = self.message_it if language == "it" else self.message_en
        return (preferred or self.message_en or self.message_it).strip()


class GreetingDisplay(models.Model):
    """A greeting shown to one visitor (at most once per rule), and the timeline message it
    became when the visitor answered."""

    rule = models.ForeignKey(GreetingRule, on_delete=models.CASCADE, related_name="displays")
    identity = models.ForeignKey(
        "crm.Identity", on_delete=models.CASCADE, related_name="chat_greetings"
    )
    language = models.CharField(max_length=12, blank=True)
    text = models.TextField()
    page_url = models.CharField(max_length=2000, blank=True)
    shown_at = models.DateTimeField()
    message = models.ForeignKey(
        "hub.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("chat greeting shown")
        verbose_name_plural = _("chat greetings shown")
        ordering = ["-shown_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "identity"], name="chat_greeting_once")
        ]
        indexes = [
            models.Index(
                fields=["identity", "shown_at"],
                name="chat_greeting_pending_idx",
                condition=models.Q(message__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} -> {self.identity_id}"
