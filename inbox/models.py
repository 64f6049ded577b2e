"""What the agent UI keeps per agent: preferences (language, time zone) and read markers."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class AgentProfile(models.Model):
    """An agent's preferences, applied to every request by ``inbox.middleware``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="agent_profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=12,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: the browser's language."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("Empty: the server's time zone."),
    )

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


class ReadMarker(models.Model):
    """How far an agent has read a conversation: the newest message id they were shown.

    Unread counts are the conversation's inbound messages with a larger id (arrival order, so a
    message whose provider date is in the past still counts as new)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "hub.Conversation", on_delete=models.CASCADE, related_name="read_markers"
    )
    last_read_message_id = models.BigIntegerField(default=0)
    last_read_at = models.DateTimeField()

    class Meta:
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"], name="inbox_read_marker_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read #{self.conversation_id} up to {self.last_read_message_id}"
