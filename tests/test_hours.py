"""Business-hours arithmetic, with expectations worked out by hand on a calendar."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from listener.hours import BusinessHours, HoursError, parse_hours

STHLM = ZoneInfo("Europe/Stockholm")
SPEC = "mon-fri 08:00-12:00,13:00-17:00; sat 10:00-14:00"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=STHLM)


@pytest.fixture(scope="module")
def cs():
    return BusinessHours.of(SPEC, "Europe/Stockholm", "SE")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.mark.parametrize("start, end, expected", [
    (local(2026, 11, 23, 9), local(2026, 11, 23, 11), hours(2)),         # inside one range
    (local(2026, 11, 23, 11), local(2026, 11, 23, 14), hours(2)),        # lunch is not counted
    (local(2026, 11, 23, 6), local(2026, 11, 23, 8, 30), hours(0.5)),    # arrived before opening
    (local(2026, 11, 23, 18), local(2026, 11, 24, 7), hours(0)),         # overnight, closed throughout
    (local(2026, 11, 27, 16), local(2026, 11, 30, 9), hours(6)),         # Fri 1h + Sat 4h + Mon 1h
    (local(2026, 11, 28, 15), local(2026, 11, 30, 8), hours(0)),         # Sat after closing → Mon opening
    (local(2026, 11, 29, 12), local(2026, 11, 29, 13), hours(0)),        # Sunday has no hours
    (local(2026, 12, 24, 16), local(2026, 12, 28, 9), hours(2)),         # Christmas Day and Boxing Day (Sat) closed
    (local(2026, 6, 5, 16), local(2026, 6, 8, 9), hours(2)),             # National Day on a Saturday
    (local(2026, 3, 27, 16), local(2026, 3, 30, 9), hours(6)),           # summer time begins on the Sunday
    (local(2026, 10, 23, 16), local(2026, 10, 26, 9), hours(6)),         # summer time ends on the Sunday
    (local(2026, 11, 23, 11), local(2026, 11, 23, 10), hours(0)),        # end before start
])
def test_open_time_between_two_instants(cs, start, end, expected):
    assert cs.between(start, end) == expected


def test_days_on_which_the_clocks_change_are_as_long_as_they_really_are():
    always_sunday = BusinessHours.of("sun 00:00-24:00", "Europe/Stockholm")
    spring, autumn = datetime(2026, 3, 29, tzinfo=STHLM), datetime(2026, 10, 25, tzinfo=STHLM)
    assert always_sunday.between(spring, spring + timedelta(days=2)) == hours(23)
    assert always_sunday.between(autumn, autumn + timedelta(days=2)) == hours(25)
    night = BusinessHours.of("sun 01:00-04:00", "Europe/Stockholm")
    assert night.between(spring, spring + timedelta(days=1)) == hours(2)
    assert night.between(autumn, autumn + timedelta(days=1)) == hours(4)


@pytest.mark.parametrize("start, duration, expected", [
    (local(2026, 11, 23, 9), hours(2), local(2026, 11, 23, 11)),
    (local(2026, 11, 23, 11), hours(2), local(2026, 11, 23, 14)),        # over lunch
    (local(2026, 11, 28, 15), hours(4), local(2026, 11, 30, 12)),        # out of hours: counts from Monday 08:00
    (local(2026, 11, 28, 15), hours(5), local(2026, 11, 30, 14)),
    (local(2026, 11, 29, 3), hours(0), local(2026, 11, 30, 8)),          # nothing to count: the next opening
    (local(2026, 12, 24, 16), hours(2), local(2026, 12, 28, 9)),         # across the Christmas holidays
    (local(2026, 10, 23, 16), hours(6), local(2026, 10, 26, 9)),         # across the end of summer time
    (local(2026, 3, 27, 16), hours(6), local(2026, 3, 30, 9)),           # across its beginning
])
def test_instant_after_an_amount_of_open_time(cs, start, duration, expected):
    assert cs.add(start, duration) == expected


def test_adding_open_time_and_measuring_it_agree(cs):
    rng = random.Random(8)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        duration = timedelta(minutes=rng.randrange(1, 60 * 60))
        assert cs.between(start, cs.add(start, duration)) == duration


def test_without_hours_the_clock_always_runs():
    plain = BusinessHours.of()
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert plain.between(start, start + hours(30)) == hours(30)
    assert plain.add(start, hours(30)) == start + hours(30)
    holidays_only = BusinessHours.of(None, "Europe/Stockholm", "SE")
    assert holidays_only.between(local(2026, 12, 24, 12), local(2026, 12, 27, 12)) == hours(12 + 12)


def test_several_ranges_a_day_and_spans_over_the_week_end():
    week = parse_hours("fri-mon 09:00-10:00, 11:00-12:00")
    assert [len(day) for day in week] == [2, 0, 0, 0, 2, 2, 2]


@pytest.mark.parametrize("spec, words", [
    ("", "no opening hours"),
    ("08:00-17:00", "not a day"),
    ("mon-fry 08:00-17:00", '"mon-fry" is not a day'),
    ("mon-fri", "no hours"),
    ("mon 8-17", "not a range"),
    ("mon 17:00-08:00", "ends before it starts"),
    ("mon 25:00-26:00", "not a time of day"),
    ("mon 08:00-12:00,11:00-13:00", "overlap"),
])
def test_bad_hours_say_how_to_write_them(spec, words):
    with pytest.raises(HoursError, match=words):
        parse_hours(spec)


def test_unknown_zone_and_holiday_country():
    with pytest.raises(HoursError, match='unknown time zone "Europe/Stokholm"'):
        BusinessHours.of(SPEC, "Europe/Stokholm")
    with pytest.raises(HoursError, match='unknown holiday country "XX"'):
        BusinessHours.of(SPEC, "UTC", "XX")
