"""Template filters of the understanding layer's labels (see ``inbox.understanding``)."""

from __future__ import annotations

from django import template

from inbox import understanding

register = template.Library()


@register.filter
def analysis_view(message):
    """A message's stored analysis, ready to show (None for anything but an inbound message)."""
    return understanding.message_view(getattr(message, "analysis", None))


@register.filter
def temperature_label(level: str) -> str:
    return understanding.temperature_label(level)


@register.filter
def temperature_title(conversation) -> str:
    return understanding.temperature_title(conversation)


@register.filter
def contact_language(contact):
    return understanding.contact_language(contact)
