"""Reads of the CRM, for the agent UI, the bot and the API."""

from __future__ import annotations

from crm.models import Contact, PageView


def recent_page_views(contact: Contact, limit: int = 10) -> list[PageView]:
    """The pages ``contact`` viewed most recently, newest first (one indexed query)."""
    return list(PageView.objects.filter(contact=contact).order_by("-viewed_at", "-id")[:limit])
