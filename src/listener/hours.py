"""Business hours, public holidays and time zones: pure arithmetic on aware datetimes.

A department's clock runs only inside its opening ranges, on days that are not public holidays,
in its own time zone. Ranges are laid out per local date and turned into instants with zoneinfo,
so a day on which the clocks change is as long as it really is, and an answer after a weekend on
which summer time began is measured in the hours that were actually open.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3700
"""How far the arithmetic walks (about ten years); hours that never open would otherwise loop forever."""

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """A business-hours setting that cannot be used; the message says how to write it."""


Ranges = tuple[tuple[time, time | None], ...]
"""Opening ranges of one weekday; an end of None is midnight at the end of the day (24:00)."""


def parse_hours(spec: str) -> tuple[Ranges, ...]:
    """ "mon-fri 08:00-12:00,13:00-17:00; sat 10:00-14:00" as seven tuples of ranges, Monday first."""
    week: list[list[tuple[time, time | None]]] = [[] for _ in DAYS]
    groups = [g.strip() for g in spec.split(";") if g.strip()]
    if not groups:
        raise HoursError(f'"{spec}" has no opening hours; write e.g. "mon-fri 08:00-17:00"')
    for group in groups:
        days_text, _, ranges_text = group.partition(" ")
        days = _days(days_text, spec)
        ranges = [_range(r.strip(), spec) for r in ranges_text.split(",") if r.strip()]
        if not ranges:
            raise HoursError(f'"{group}" names days but no hours; write e.g. "{days_text} 08:00-17:00"')
        for day in days:
            week[day].extend(ranges)
    for day, ranges in enumerate(week):
        ranges.sort(key=lambda r: r[0])
        for (_, end), (start, _) in itertools.pairwise(ranges):
            if end is None or end > start:
                raise HoursError(f'"{spec}": ranges overlap on {DAYS[day]}; list each hour once')
    return tuple(tuple(r) for r in week)


def _days(text: str, spec: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f'"{spec}": "{part}" is not a day or span of days; use mon, tue, … sun, e.g. "mon-fri"')
        a, b = DAYS.index(first), DAYS.index(last or first)
        days += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(b + 1)]
    return days


def _range(text: str, spec: str) -> tuple[time, time | None]:
    match = _RANGE.match(text)
    if not match:
        raise HoursError(f'"{spec}": "{text}" is not a range of hours; write "08:00-17:00"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise HoursError(f'"{spec}": "{text}" is not a time of day (00:00 to 24:00)')
    start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))
    if end is not None and end <= start:
        raise HoursError(f'"{spec}": "{text}" ends before it starts; split a range across midnight in two days')
    return start, end


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f'unknown time zone "{name}"; use a name such as "Europe/Stockholm"') from None


def holiday_calendar(country: str):
    """Public holidays of a country ("SE") or a subdivision ("DE-BY"), from the `holidays` package's
    own tables (no network); years are filled in as dates are asked about."""
    import holidays

    code, _, subdiv = country.strip().upper().partition("-")
    try:
        return holidays.country_holidays(code, subdiv=subdiv or None)
    except NotImplementedError:
        raise HoursError(f'unknown holiday country "{country}"; use an ISO code such as SE, DK, NO, FI or DE-BY') from None


@dataclass(frozen=True)
class BusinessHours:
    """When a department is open. ``week`` is None for a clock that always runs (no hours set)."""

    week: tuple[Ranges, ...] | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    holidays: object | None = None

    @classmethod
    def of(cls, hours: str | None = None, timezone: str = "UTC", holidays: str | None = None) -> BusinessHours:
        return cls(parse_hours(hours) if hours else None, zone(timezone),
                   holiday_calendar(holidays) if holidays else None)

    def open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, as UTC instants."""
        if self.holidays is not None and day in self.holidays:
            return []
        ranges = ((time(0), None),) if self.week is None else self.week[day.weekday()]
        out = []
        for start, end in ranges:
            a = datetime.combine(day, start, self.tz).astimezone(UTC)
            b = (datetime.combine(day + timedelta(days=1), time(0), self.tz) if end is None
                 else datetime.combine(day, end, self.tz)).astimezone(UTC)
            if b > a:
                out.append((a, b))
        return out

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from ``start`` to ``end`` (zero if ``end`` is not after ``start``)."""
        if end <= start:
            return timedelta(0)
        if self.week is None and self.holidays is None:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            for a, b in self.open_intervals(day):
                overlap = min(b, end) - max(a, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of open time has passed since ``start``: a deadline.
        A mention arriving out of hours starts counting when the department opens."""
        if self.week is None and self.holidays is None:
            return start + duration
        left = duration
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            for a, b in self.open_intervals(day):
                a = max(a, start)
                if b <= a:
                    continue
                if left <= b - a:
                    return a + left
                left -= b - a
            day += timedelta(days=1)
        raise HoursError(f"no {duration} of open time within {MAX_DAYS} days")
