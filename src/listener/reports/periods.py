"""Report periods: what "last-week" or "2026-W47" means, as a span of whole days in one time zone.

A period is a first and a last day (both included, as people write them) in the report's time zone;
the store is queried on the half-open UTC interval between their midnights, which stays right
across daylight-saving changes. Pure functions of the text, today's date and the zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIOD_HELP = "last-week, this-week, last-month, this-month, 2026-W47, 2026-11, 2026 or START..END (dates)"

_WEEK = re.compile(r"(\d{4})-W(\d{1,2})", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``first``..``last`` (both included) in ``zone``; ``name`` is how it was asked for."""

    name: str
    first: date
    last: date
    zone: str = "UTC"

    @property
    def start(self) -> datetime:
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive), in UTC."""
        return _midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def weeks(self) -> list[Period]:
        """The ISO weeks the period touches, each cut to the period."""
        out = []
        monday = self.first - timedelta(days=self.first.weekday())
        while monday <= self.last:
            year, week, _ = monday.isocalendar()
            out.append(Period(f"{year}-W{week:02d}", max(monday, self.first),
                              min(monday + timedelta(days=6), self.last), self.zone))
            monday += timedelta(days=7)
        return out


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)


def parse_period(text: str, today: date, zone: str = "UTC") -> Period:
    """Read a period; raises ValueError with the accepted forms."""
    value = text.strip()
    lowered = value.lower()
    monday = today - timedelta(days=today.weekday())
    if lowered == "this-week":
        return Period(value, monday, monday + timedelta(days=6), zone)
    if lowered == "last-week":
        return Period(value, monday - timedelta(days=7), monday - timedelta(days=1), zone)
    if lowered == "this-month":
        return Period(value, *_month(today.year, today.month), zone)
    if lowered == "last-month":
        previous = today.replace(day=1) - timedelta(days=1)
        return Period(value, *_month(previous.year, previous.month), zone)
    if match := _WEEK.fullmatch(value):
        year, week = int(match[1]), int(match[2])
        try:
            first = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f'"{text}": {year} has no ISO week {week}') from None
        return Period(value.upper(), first, first + timedelta(days=6), zone)
    if match := _MONTH.fullmatch(value):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ValueError(f'"{text}": there is no month {month}')
        return Period(value, *_month(year, month), zone)
    if _YEAR.fullmatch(value):
        return Period(value, date(int(value), 1, 1), date(int(value), 12, 31), zone)
    if ".." in value:
        first_text, _, last_text = value.partition("..")
        try:
            first, last = date.fromisoformat(first_text.strip()), date.fromisoformat(last_text.strip())
        except ValueError:
            raise ValueError(f'"{text}": write START..END as two dates, e.g. 2026-01-01..2026-03-31') from None
        if last < first:
            raise ValueError(f'"{text}": the end comes before the start')
        return Period(value, first, last, zone)
    raise ValueError(f'"{text}" is not a period; use {PERIOD_HELP}')


def _month(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def resolve(text: str, now: datetime, zone: str = "UTC", baselines: Mapping[str, tuple[date, date]] | None = None) -> Period:
    """A named baseline (from [[baselines]]) or else a period expression, read in ``zone`` at ``now``."""
    if baselines and text in baselines:
        first, last = baselines[text]
        return Period(text, first, last, zone)
    try:
        return parse_period(text, now.astimezone(ZoneInfo(zone)).date(), zone)
    except ValueError as exc:
        if baselines:
            raise ValueError(f"{exc}; or name a baseline: {', '.join(sorted(baselines))}") from None
        raise
