"""Business-time arithmetic across nights, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.business_hours import InvalidSchedule, Schedule, add_time, elapsed

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS_9_TO_18 = {d: [("09:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")}


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.fixture
def office():
    return Schedule.from_config("Europe/Rome", WEEKDAYS_9_TO_18, holidays=[date(2026, 12, 25)])


def test_inside_opening_hours_it_is_plain_addition(office):
    assert office.add(rome(2026, 11, 24, 10, 0), timedelta(hours=2)) == rome(2026, 11, 24, 12, 0)


def test_due_time_skips_the_night(office):
    # Tuesday 17:00 + 2 h of open time = Wednesday 10:00.
    assert office.add(rome(2026, 11, 24, 17, 0), timedelta(hours=2)) == rome(2026, 11, 25, 10, 0)


def test_due_time_skips_the_weekend(office):
    # Friday 16:00 + 24 h of open time: 2 h Fri, 9 h Mon, 9 h Tue, 4 h Wed -> Wed 13:00.
    due = office.add(rome(2026, 11, 27, 16, 0), timedelta(hours=24))
    assert due == rome(2026, 12, 2, 13, 0)
    assert office.between(rome(2026, 11, 27, 16, 0), due) == timedelta(hours=24)


def test_a_message_at_the_weekend_waits_for_monday(office):
    assert office.add(rome(2026, 11, 28, 11, 0), timedelta(minutes=30)) == rome(2026, 11, 30, 9, 30)


def test_holidays_are_closed(office):
    # Thursday 24 Dec 17:00 + 2 h: Christmas is closed -> Friday 26th? 26 Dec 2026 is a Saturday,
    # so Monday 28th 10:00.
    assert office.add(rome(2026, 12, 24, 17, 0), timedelta(hours=2)) == rome(2026, 12, 28, 10, 0)


def test_dst_spring_forward_night_is_not_counted_twice():
    always = Schedule.from_config(
        "Europe/Rome",
        {d: [("00:00", "00:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    )
    # 29 March 2026: 02:00 -> 03:00 in Rome. From 00:00 local, 3 real hours end at 04:00 local.
    start = rome(2026, 3, 29, 0, 0)
    assert always.add(start, timedelta(hours=3)) == rome(2026, 3, 29, 4, 0)
    # And a whole day that day is 23 real hours.
    assert always.between(start, rome(2026, 3, 30, 0, 0)) == timedelta(hours=23)


def test_dst_fall_back_day_counts_its_extra_hour():
    night_shift = Schedule.from_config("Europe/Rome", {"sun": [("00:00", "06:00")]})
    # 25 October 2026: 03:00 -> 02:00 in Rome, so 00:00-06:00 lasts seven real hours.
    assert night_shift.between(rome(2026, 10, 25, 0, 0), rome(2026, 10, 25, 12, 0)) == timedelta(
        hours=7
    )


def test_office_hours_across_dst_keep_local_opening_times(office):
    # Friday 27 March 17:00 + 2 h -> Monday 30 March 10:00 local (after the change), i.e. 08:00 UTC.
    due = office.add(rome(2026, 3, 27, 17, 0), timedelta(hours=2))
    assert due == rome(2026, 3, 30, 10, 0)
    assert due.astimezone(UTC).hour == 8


def test_without_schedule_time_runs_24_7():
    start = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert add_time(start, timedelta(hours=2), None) == start + timedelta(hours=2)
    assert elapsed(start, start - timedelta(hours=1), None) == timedelta(0)


def test_between_equals_the_duration_added(office):
    start = rome(2026, 11, 20, 13, 37)
    for hours in (1, 5, 9, 17, 40, 100):
        due = office.add(start, timedelta(hours=hours))
        assert office.between(start, due) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("zone", "weekly"),
    [
        ("Mars/Olympus", WEEKDAYS_9_TO_18),
        ("Europe/Rome", {"monday": [("09:00", "18:00")]}),
        ("Europe/Rome", {"mon": [("18:00", "09:00")]}),
        ("Europe/Rome", {"mon": [("09:00", "13:00"), ("12:00", "18:00")]}),
        ("Europe/Rome", {"mon": [("9am", "6pm")]}),
    ],
)
def test_invalid_schedules_are_refused(zone, weekly):
    with pytest.raises(InvalidSchedule):
        Schedule.from_config(zone, weekly)


def test_a_schedule_with_no_open_time_is_refused_at_use():
    with pytest.raises(InvalidSchedule):
        Schedule.from_config("Europe/Rome", {}).add(rome(2026, 1, 1, 0, 0), timedelta(hours=1))


@pytest.mark.parametrize("weekly", [{}, {"mon": []}, "abc", [1, 2], {"mon": 5}, None])
def test_schedules_without_opening_hours_or_of_the_wrong_shape_are_refused(weekly):
    with pytest.raises(InvalidSchedule):
        Schedule.from_config("Europe/Rome", weekly)


def test_a_schedule_closed_for_two_years_counts_24_7_with_a_warning(caplog):
    """Only Mondays open, and every Monday a holiday: no due time exists. The clock must not
    fail the ingest that asks for one: it counts 24/7 and logs why."""
    start = rome(2026, 1, 1, 0, 0)
    mondays = [date(2025, 12, 29) + timedelta(weeks=n) for n in range(120)]
    closed = Schedule.from_config("Europe/Rome", {"mon": [("09:00", "18:00")]}, mondays)
    assert add_time(start, timedelta(hours=1), closed) == start + timedelta(hours=1)
    assert "business hours not usable" in caplog.text
