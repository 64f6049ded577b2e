"""Datetimes the API accepts: inside a window where the hub's arithmetic stays in range.

Python's datetimes stop at years 1 and 9999: ``until - 30 days`` on year 1 raised
``OverflowError`` (a 500), and a message "received" in year 1 or 9999 was stored and sorted to
an end of every timeline. Every datetime the API reads is between ``EARLIEST`` and ``LATEST``;
a message's ``received_at`` also at most ``RECEIVED_AHEAD`` in the future (a sender's clock may
run a little fast, not days).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
from django.utils import timezone
from rest_framework import serializers

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
RECEIVED_AHEAD = timedelta(days=1)


def _latest() -> datetime:
    return LATEST


def received_latest() -> datetime:
    return timezone.now() + RECEIVED_AHEAD


def out_of_window(value: datetime, latest: datetime) -> str | None:
    """Why ``value`` is refused, or None."""
    if value < EARLIEST:
        return f"Must be on or after {EARLIEST.date().isoformat()}."
    if value > latest:
        return f"Must be on or before {latest.isoformat(timespec='seconds')}."
    return None


class WindowDateTimeField(serializers.DateTimeField):
    """``DateTimeField`` between ``EARLIEST`` and ``latest()`` (default ``LATEST``)."""

    def __init__(self, *, latest: Callable[[], datetime] = _latest, **kwargs):
        self.latest = latest
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        problem = out_of_window(parsed, self.latest())
        if problem:
            raise serializers.ValidationError(problem, code="out_of_range")
        return parsed


class WindowDateTimeFormField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        try:
            parsed = super().to_python(value)
        except OverflowError as exc:
            raise forms.ValidationError("Datetime value out of range.", code="overflow") from exc
        problem = parsed and out_of_window(parsed, LATEST)
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
        return parsed


class WindowDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` between ``EARLIEST`` and ``LATEST``."""

    field_class = WindowDateTimeFormField
