"""Keyset cursor pagination for the REST API.

DRF's ``CursorPagination`` puts only the first ordering field's value and an offset in its
cursor. When many rows tie on that value at a page edge (conversations touched in the same
second, a burst of messages imported with one timestamp), walking the ``previous`` links loses
rows. Here the cursor holds the values of *every* ordering field of the row at the page edge,
and the ordering always ends in a unique field (the primary key), so a position is one exact
point in the order and each page is "the next ``page_size`` rows strictly beyond it", in either
direction, whatever the ties, and stable under inserts elsewhere in the list.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.utils.urls import remove_query_param, replace_query_param

# A cursor we make is well under this; anything longer is refused before it is decoded.
CURSOR_MAX_CHARS = 1000
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class InvalidCursor(ValueError):
    """A cursor we did not make (or made for another ordering): a 404, as DRF answers."""


# --- how each kind of ordering field goes into a cursor and back --------------------------------


def _encode_datetime(value: datetime) -> str:
    # ISO 8601 in UTC keeps the microseconds and the instant exactly.
    if timezone.is_aware(value):
        value = value.astimezone(UTC)
    return value.isoformat()


def _decode_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidCursor("not a datetime")
    moment = datetime.fromisoformat(value)  # ValueError on anything else
    if settings.USE_TZ:
        if timezone.is_naive(moment):
            raise InvalidCursor("a datetime without its offset")
        return moment.astimezone(UTC)  # OverflowError near year 1 or 9999
    if timezone.is_aware(moment):
        raise InvalidCursor("an aware datetime without USE_TZ")
    return moment


def _decode_date(value: Any) -> date:
    if not isinstance(value, str):
        raise InvalidCursor("not a date")
    return date.fromisoformat(value)


def _decode_int(value: Any) -> int:
    # bool is an int to Python; a float or a bigint overflow would reach the database.
    if type(value) is not int or not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidCursor("not a 64-bit integer")
    return value


def _decode_text(value: Any) -> str:
    # PostgreSQL refuses NUL in text parameters with an error, not an empty result.
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidCursor("not a text value")
    return value


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _codec(field: models.Field) -> Codec:
    """``(encode, decode)`` between a field's Python value and a JSON value."""
    if isinstance(field, models.ForeignKey):
        return _codec(field.target_field)
    if isinstance(field, models.DateTimeField):
        return _encode_datetime, _decode_datetime
    if isinstance(field, models.DateField):
        return date.isoformat, _decode_date
    if isinstance(field, (models.IntegerField, models.AutoField)):
        return int, _decode_int
    if isinstance(field, (models.CharField, models.TextField)):
        return str, _decode_text
    raise ImproperlyConfigured(
        f"Cursor pagination cannot order by {field.name!r} ({type(field).__name__})."
    )


@dataclass(frozen=True)
class OrderingKey:
    """One field of the pagination order: how to read, filter, order and encode it."""

    attname: str  # attribute on a row (``team_id`` for a foreign key)
    descending: bool
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]

    def order_by(self, reverse: bool) -> str:
        return f"-{self.attname}" if self.descending != reverse else self.attname

    def value_of(self, row: Any) -> Any:
        return row[self.attname] if isinstance(row, dict) else getattr(row, self.attname)


def ordering_keys(model: type[models.Model], ordering: Sequence[str]) -> list[OrderingKey]:
    """The keys of ``ordering``, with the primary key appended (in the last field's direction)
    unless a unique field is already there: a keyset position is exact only when no two rows
    share every value of it."""
    keys: list[OrderingKey] = []
    unique = False
    for name in ordering:
        descending = name.startswith("-")
        name = name.lstrip("-")
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if field.null:
            # NULLs compare as neither < nor = : rows with one would drop out of every page.
            raise ImproperlyConfigured(f"Cursor pagination cannot order by nullable {name!r}.")
        unique = unique or field.unique
        keys.append(OrderingKey(field.attname, descending, *_codec(field)))
    if not unique:
        pk = model._meta.pk
        descending = keys[-1].descending if keys else True
        keys.append(OrderingKey(pk.attname, descending, *_codec(pk)))
    return keys


def beyond(keys: Sequence[OrderingKey], position: Sequence[Any], reverse: bool) -> Q:
    """Rows strictly after ``position`` in the order of ``keys`` (before it if ``reverse``).

    For a descending ``(a, id)`` the row comparison ``(a, id) < (x, y)`` is written
    ``a <= x AND (a < x OR id < y)`` (``>`` for ascending fields, nested the same way for more
    fields): equivalent, and the leading ``a <= x`` lets an index on ``a`` start its scan at the
    position instead of filtering from the top. It is one Q, so ``PerTeamMerge`` hands it to
    every team's query.
    """

    def compare(i: int, strict: bool = True) -> Q:
        key = keys[i]
        below = key.descending != reverse
        lookup = ("lt" if below else "gt") + ("" if strict else "e")
        return Q(**{f"{key.attname}__{lookup}": position[i]})

    def from_field(i: int) -> Q:  # strictly beyond on fields i.., given equality before i
        if i == len(keys) - 1:
            return compare(i)
        return compare(i) | (Q(**{keys[i].attname: position[i]}) & from_field(i + 1))

    if len(keys) != len(position):
        raise ValueError("one value per ordering field")
    if len(keys) == 1:
        return compare(0)
    # Given first <= x, "first = x AND ..." in the OR needs no equality test.
    return compare(0, strict=False) & (compare(0) | from_field(1))


@dataclass(frozen=True)
class KeysetCursor:
    """A place in the order: the rows after ``position`` or, if ``reverse`` (a ``previous``
    link), the rows before it, read backwards. ``position=None, reverse=True`` is the end of the
    list: the ``previous`` link of a page left empty by deletions."""

    position: tuple[Any, ...] | None
    reverse: bool


class KeysetCursorPagination(CursorPagination):
    """Cursor pagination on a keyset of every ordering field: exact in both directions.

    Same public face as DRF's ``CursorPagination`` (``next``/``previous``/``results``, the
    ``cursor`` and ``page_size`` parameters, 404 "Invalid cursor", its OpenAPI description);
    one query per page (``page_size + 1`` rows, the extra one tells whether there are more).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None) -> list | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.keys = ordering_keys(queryset.model, self.get_ordering(request, queryset, view))
        self.cursor = self.decode_cursor(request)
        reverse = self.cursor is not None and self.cursor.reverse

        queryset = queryset.order_by(*(key.order_by(reverse) for key in self.keys))
        if self.cursor is not None and self.cursor.position is not None:
            queryset = queryset.filter(beyond(self.keys, self.cursor.position, reverse))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()

        if self.cursor is None:  # the first page
            self.has_previous, self.has_next = False, more
        elif reverse:  # the cursor's row (or where it was) follows this page
            self.has_previous, self.has_next = more, self.cursor.position is not None
        else:
            self.has_previous, self.has_next = True, more
        self.display_page_controls = (self.has_previous or self.has_next) and bool(self.template)
        return self.page

    def _position(self, row: Any) -> tuple[Any, ...]:
        return tuple(key.value_of(row) for key in self.keys)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if not self.page:
            # Read backwards from a position and found nothing: no row is before it any more,
            # so what follows is the whole list (the cursor's own row included, were it still
            # there, which a link "after the position" would skip).
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self.encode_cursor(KeysetCursor(self._position(self.page[-1]), reverse=False))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            # Nothing after the position any more: what precedes is the end of the list.
            return self.encode_cursor(KeysetCursor(None, reverse=True))
        return self.encode_cursor(KeysetCursor(self._position(self.page[0]), reverse=True))

    def encode_cursor(self, cursor: KeysetCursor) -> str:
        """The page's URL with the cursor: URL-safe base64 of ``{"p": [values], "r": bool}``."""
        values = None
        if cursor.position is not None:
            values = [key.encode(v) for key, v in zip(self.keys, cursor.position, strict=True)]
        payload = {"p": values, "r": cursor.reverse}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request) -> KeysetCursor | None:
        """The request's cursor; none (or an empty one, as DRF reads it) is the first page."""
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            return self._decode(encoded)
        except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as exc:
            # InvalidCursor, bad base64, bad JSON, bad UTF-8, dates out of range, ...
            raise NotFound(self.invalid_cursor_message) from exc

    def _decode(self, encoded: str) -> KeysetCursor:
        if len(encoded) > CURSOR_MAX_CHARS or not _CURSOR_CHARS.fullmatch(encoded):
            raise InvalidCursor("not a cursor")
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        payload = json.loads(raw.decode("utf-8"))
        if not isinstance(payload, dict) or set(payload) != {"p", "r"}:
            raise InvalidCursor("not a cursor")
        values, reverse = payload["p"], payload["r"]
        if not isinstance(reverse, bool):
            raise InvalidCursor("no direction")
        if values is None and reverse:
            return KeysetCursor(None, reverse=True)
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise InvalidCursor("a cursor of another ordering")
        position = tuple(key.decode(value) for key, value in zip(self.keys, values, strict=True))
        return KeysetCursor(position, reverse)


class IdCursorPagination(KeysetCursorPagination):
    """Cursor pagination: stable under inserts and constant cost at any depth."""

    ordering = "-id"


class ConversationCursorPagination(KeysetCursorPagination):
    ordering = ("-last_activity_at", "-id")


class TimelineCursorPagination(KeysetCursorPagination):
    ordering = ("occurred_at", "id")


class PerTeamMerge:
    """What the cursor pagination reads an agent's conversation list from when it spans a few
    teams: its ordering and position filter go to one query per team, each an ordered scan of
    that team's index, and the page is merged here.

    One query for all the teams (``team_id IN (...)``, newest first) walks the activity index of
    every team and skips the rows of other teams: after 15,000 newer conversations elsewhere a
    page took 100 ms instead of 15. PostgreSQL cannot order an IN-list index scan across its
    values, so the merge is done per team, on the ordering keys alone; the page's rows are then
    read in one query by id (instances for the page only, not for every team's page).
    """

    def __init__(self, queryset, team_ids: list[int]):
        self.queryset = queryset
        self.team_ids = team_ids

    @property
    def model(self) -> type[models.Model]:
        return self.queryset.model

    def order_by(self, *fields):
        return PerTeamMerge(self.queryset.order_by(*fields), self.team_ids)

    def filter(self, *args, **kwargs):
        return PerTeamMerge(self.queryset.filter(*args, **kwargs), self.team_ids)

    def __getitem__(self, window: slice) -> list:
        ordering = [str(field) for field in self.queryset.query.order_by]
        descending = {field.startswith("-") for field in ordering}
        if len(descending) != 1 or window.stop is None:  # mixed directions: no simple merge
            return list(self.queryset[window])
        names = [field.lstrip("-") for field in ordering]
        # Each team's keys only (a tuple a row), merged; then the page's rows in one query.
        parts = [
            self.queryset.filter(team_id=team).values_list(*names, "pk")[: window.stop]
            for team in self.team_ids
        ]
        if (
            len(parts) > 1
            and connections[self.queryset.db].features.supports_slicing_ordering_in_compound
        ):
            # One round trip: (team 1's first rows) UNION ALL (team 2's) ..., each its own
            # ordered index scan.
            keys = list(parts[0].union(*parts[1:], all=True))
        else:
            keys = [key for part in parts for key in part]
        keys.sort(reverse=descending.pop())
        ids = [key[-1] for key in keys[window.start or 0 : window.stop]]
        rows = {row.pk: row for row in self.queryset.filter(pk__in=ids).order_by()}
        return [rows[pk] for pk in ids if pk in rows]
