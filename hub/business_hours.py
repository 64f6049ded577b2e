"""Business-time arithmetic: due times that skip closed hours, weekends and holidays.

A schedule is a weekly list of opening intervals in a team's local time zone. Each day's
intervals are turned into aware datetimes with ``zoneinfo``, so a day on which clocks change
(DST) has its real length: an interval 09:00-18:00 on the day clocks go back still counts nine
hours of wall-clock time, and 01:00-03:00 on the day clocks go forward counts one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A search horizon: a schedule with no open time within it is treated as always closed.
_MAX_DAYS = 366 * 2


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    """Opening intervals per weekday (``{"mon": [("09:00", "18:00")], ...}``), a time zone, and
    closed dates."""

    time_zone: str
    weekly: dict[str, list[tuple[time, time]]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_config(
        cls,
        time_zone: str,
        weekly: dict[str, Iterable[Iterable[str]]],
        holidays: Iterable[date] = (),
    ) -> Schedule:
        try:
            ZoneInfo(time_zone)
        except Exception as exc:
            raise InvalidSchedule(f"unknown time zone {time_zone!r}") from exc
        if not isinstance(weekly, dict):
            raise InvalidSchedule(
                'the weekly schedule must be an object, e.g. {"mon": [["09:00", "18:00"]]}'
            )
        parsed: dict[str, list[tuple[time, time]]] = {}
        for day, intervals in weekly.items():
            if day not in WEEKDAYS:
                raise InvalidSchedule(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            if not isinstance(intervals, list | tuple):
                raise InvalidSchedule(
                    f'{day} must be a list of intervals, e.g. [["09:00", "18:00"]]'
                )
            day_intervals = []
            for interval in intervals:
                try:
                    start_s, end_s = interval
                    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
                except (TypeError, ValueError) as exc:
                    raise InvalidSchedule(f"bad interval {interval!r} on {day}") from exc
                if end == time(0, 0):
                    end = time.max  # "24:00" written as 00:00: until midnight
                if end <= start:
                    raise InvalidSchedule(f"interval {interval!r} on {day} ends before it starts")
                day_intervals.append((start, end))
            day_intervals.sort()
            for (_, end_a), (start_b, _) in pairwise(day_intervals):
                if start_b < end_a:
                    raise InvalidSchedule(f"overlapping intervals on {day}")
            parsed[day] = day_intervals
        if not any(parsed.values()):
            # An empty schedule is never open: every due time would be "never".
            raise InvalidSchedule("the schedule has no opening hours: give at least one interval")
        return cls(time_zone=time_zone, weekly=parsed, holidays=frozenset(holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _open_intervals(self, start_day: date) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals as aware datetimes, day by day from ``start_day``."""
        zone = self.zone
        for offset in range(_MAX_DAYS):
            day = start_day + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, end in self.weekly.get(WEEKDAYS[day.weekday()], []):
                opens = datetime.combine(day, start, zone)
                if end == time.max:
                    closes = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
                else:
                    closes = datetime.combine(day, end, zone)
                # Arithmetic in UTC: subtracting two aware datetimes of one zone ignores DST.
                yield opens.astimezone(UTC), closes.astimezone(UTC)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of open time has passed after ``start``."""
        remaining = duration
        start = start.astimezone(UTC)
        local_day = start.astimezone(self.zone).date()
        for opens, closes in self._open_intervals(local_day - timedelta(days=1)):
            if closes <= start:
                continue
            begin = max(opens, start)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise InvalidSchedule("the schedule has no open time in the next two years")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time between two moments (zero if ``end`` is not after ``start``)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        local_day = start.astimezone(self.zone).date()
        for opens, closes in self._open_intervals(local_day - timedelta(days=1)):
            if opens >= end:
                break
            if closes <= start:
                continue
            total += min(closes, end) - max(opens, start)
        return total


def add_time(start: datetime, duration: timedelta, schedule: Schedule | None) -> datetime:
    """``start + duration``, counting only open time when there is a schedule (else 24/7).

    A schedule with no open time ahead (every open day a holiday) counts 24/7 with a warning:
    a due time must never stop a message from being stored."""
    if schedule is not None:
        try:
            return schedule.add(start, duration)
        except InvalidSchedule as exc:
            logger.warning("business hours not usable (%s): the clock runs 24/7", exc)
    return start + duration


def elapsed(start: datetime, end: datetime, schedule: Schedule | None) -> timedelta:
    if schedule is None:
        return max(end - start, timedelta(0))
    return schedule.between(start, end)
