"""Working days and quiet hours in the ward's zone: pure, cheap, called on every case move.

Conventions (the same for every day-counted limit, as Vietnamese law counts them, BLDS 2015
Điều 147–148): the day of the start is not counted, and a limit ends at the end of its last day.
"End of the day" is `WorkCalendar.day_end` local time, the close of office hours (17:00) by
default, so reminders and escalations reach staff at work rather than at midnight; a ward that
wants the law's 24:00 sets `day_end=time(23, 59)`.

- `hours`: exactly n elapsed hours; the calendar plays no part (urgent things do not wait).
- `days`: calendar days. The last day is the n-th day after the start's local date, and it does
  NOT move when it falls on a weekend or holiday (the product's choice, stricter than BLDS
  Điều 148.2, which moves it to the next working day; use `working_days` where that matters).
- `working_days`: the last day is the n-th working day after the start's local date. A start on
  a day off therefore counts from the next working day: Saturday + 1 working day ends on Monday.
- `day_of_month`: "before the n-th of the month": the end of the day before the next n-th.

All datetimes in and out are aware and in UTC; the local date comes from `zone`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
UNITS: tuple[str, ...] = ("hours", "days", "working_days", "day_of_month")
SATURDAY = 5


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """Vietnam's public holidays of one year, lunar New Year and substitute days off included."""
    return frozenset(holidays.country_holidays("VN", years=year))


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got naive {moment.isoformat()}")


@dataclass(frozen=True)
class WorkCalendar:
    """Mon–Fri minus Vietnam's public holidays minus the ward's own days off."""

    zone: str = DEFAULT_ZONE
    days_off: frozenset[date] = frozenset()
    day_end: time = time(17, 0)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.zone)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= SATURDAY or day in self.days_off:
            return False
        return day not in public_holidays(day.year)

    def local_date(self, moment: datetime) -> date:
        _require_aware(moment)
        return moment.astimezone(self.tz).date()

    def end_of(self, day: date) -> datetime:
        """The moment a limit whose last day is `day` ends, in UTC."""
        return datetime.combine(day, self.day_end, self.tz).astimezone(UTC)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The end of the n-th working day after the start's local date (n >= 1)."""
        _require_positive(n)
        day = self.local_date(start)
        for _ in range(n):
            day = self.next_working_day(day)
        return self.end_of(day)

    def add_days(self, start: datetime, n: int) -> datetime:
        """The end of the n-th calendar day after the start's local date; never moved."""
        _require_positive(n)
        return self.end_of(self.local_date(start) + timedelta(days=n))

    def before_day_of_month(self, start: datetime, day_of_month: int) -> datetime:
        """"Before the n-th": the end of the day before the first n-th whose deadline is after start."""
        if not 1 <= day_of_month <= 28:
            raise ValueError(f"day of month must be 1..28, got {day_of_month}")
        _require_aware(start)
        local = self.local_date(start)
        year, month = local.year, local.month
        while True:
            due = self.end_of(date(year, month, day_of_month) - timedelta(days=1))
            if due > start:
                return due
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def subtract_working_days(self, moment: datetime, n: int) -> datetime:
        """n working days before `moment`'s local date, at the same local time of day."""
        _require_aware(moment)
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(n):
            day = self.previous_working_day(day)
        return datetime.combine(day, local.time(), self.tz).astimezone(UTC)

    def add(self, start: datetime, limit: int, unit: str) -> datetime:
        """The due moment of a limit counted from `start` (see the module's conventions)."""
        _require_aware(start)
        if unit == "hours":
            if limit < 0:
                raise ValueError(f"hours must be >= 0, got {limit}")
            return start.astimezone(UTC) + timedelta(hours=limit)
        if unit == "days":
            return self.add_days(start, limit)
        if unit == "working_days":
            return self.add_working_days(start, limit)
        if unit == "day_of_month":
            return self.before_day_of_month(start, limit)
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def _require_positive(n: int) -> None:
    if n < 1:
        raise ValueError(f"a day-counted limit must be >= 1, got {n}")


@dataclass(frozen=True)
class QuietHours:
    """Local hours when nothing non-urgent is sent to residents and leaders; [start, end).

    The window may cross midnight (21:00–07:00, the default). start == end means no quiet hours.
    """

    start: time = time(21, 0)
    end: time = time(7, 0)

    def is_quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment_utc: datetime, zone: str = DEFAULT_ZONE) -> datetime:
        """`moment_utc` itself outside quiet hours, else the end of the quiet period, in UTC."""
        _require_aware(moment_utc)
        local = moment_utc.astimezone(_zone(zone))
        clock = local.time().replace(tzinfo=None)
        if not self.is_quiet(clock):
            return moment_utc.astimezone(UTC)
        day = local.date()
        if self.start > self.end and clock >= self.start:
            day += timedelta(days=1)  # evening part of a window that ends tomorrow morning
        return datetime.combine(day, self.end, _zone(zone)).astimezone(UTC)
