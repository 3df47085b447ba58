"""Report periods: pure arithmetic on dates and zones."""

from datetime import UTC, date, datetime

import pytest

from listener.reports.periods import parse_period

WEDNESDAY = date(2026, 11, 25)


@pytest.mark.parametrize("text, first, last", [
    ("last-week", date(2026, 11, 16), date(2026, 11, 22)),
    ("this-week", date(2026, 11, 23), date(2026, 11, 29)),
    ("this-month", date(2026, 11, 1), date(2026, 11, 30)),
    ("last-month", date(2026, 10, 1), date(2026, 10, 31)),
    ("2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
    ("2026-w01", date(2025, 12, 29), date(2026, 1, 4)),   # ISO week 1 starts in the year before
    ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-01-01..2026-03-31", date(2026, 1, 1), date(2026, 3, 31)),
])
def test_periods(text, first, last):
    period = parse_period(text, WEDNESDAY)
    assert (period.first, period.last) == (first, last)


def test_last_week_on_a_monday_is_the_week_before():
    assert parse_period("last-week", date(2026, 11, 23)).first == date(2026, 11, 16)


@pytest.mark.parametrize("bad, says", [("2026-W54", "no ISO week 54"), ("2026-13", "no month 13"),
                                       ("2026-03-01..2026-01-01", "before the start"), ("soon", "not a period"),
                                       ("2026-01-01..june", "two dates")])
def test_bad_periods_say_why(bad, says):
    with pytest.raises(ValueError, match=says):
        parse_period(bad, WEDNESDAY)


def test_a_week_in_stockholm_starts_at_its_midnight_and_survives_daylight_saving():
    week = parse_period("2026-W13", WEDNESDAY, "Europe/Stockholm")  # summer time begins Sunday 29 March
    assert week.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert week.days == 7


def test_weeks_of_a_month_are_cut_to_the_month():
    weeks = parse_period("2026-11", WEDNESDAY).weeks()
    assert [(w.name, w.first.day, w.last.day) for w in weeks][:2] == [("2026-W44", 1, 1), ("2026-W45", 2, 8)]
    assert weeks[-1].name == "2026-W49" and weeks[-1].last == date(2026, 11, 30)
