"""Reporting periods and the monthly update's deadline, in the ward's zone.

The state reporting rules (Nghị định 09/2019/NĐ-CP, Điều 12) count a monthly period from the
15th of the previous month to the 14th of the reporting month; a ward may count calendar months
instead (`first_day` 1). Residential groups report before the 20th of the reporting month
(seed 001): the update is on time up to 23:59:59 on the 19th, local time. Everything here is
pure: UTC in, UTC out, local dates in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DEFAULT_FIRST_DAY = 15  # NĐ 09/2019, Điều 12: from the 15th of the previous month
DEFAULT_DUE_DAY = 20  # before the 20th


@dataclass(frozen=True)
class Period:
    """A reporting month: `code` "2026-11"; local dates [first, last]; UTC [starts, ends)."""

    code: str
    first: date
    last: date
    starts: datetime
    ends: datetime


def parse_period(code: str) -> tuple[int, int]:
    """(year, month) of "2026-11"; ValueError with the expected form otherwise."""
    match = PERIOD.match(code.strip())
    if match is None:
        raise ValueError(f"a reporting month is written YYYY-MM, like 2026-11, not {code!r}")
    return int(match[1]), int(match[2])


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def period(code: str, zone: str, first_day: int = DEFAULT_FIRST_DAY) -> Period:
    """The reporting month `code`: from `first_day` of the previous month to the day before
    `first_day` of this one (first_day 1: the calendar month)."""
    year, month = parse_period(code)
    if first_day == 1:
        first = date(year, month, 1)
        next_year, next_month = _shift(year, month, 1)
        last = date(next_year, next_month, 1) - timedelta(days=1)
    else:
        before_year, before_month = _shift(year, month, -1)
        first = date(before_year, before_month, first_day)
        last = date(year, month, first_day) - timedelta(days=1)
    tz = ZoneInfo(zone)
    starts = datetime.combine(first, time.min, tz).astimezone(timezone.utc)
    ends = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(timezone.utc)
    return Period(f"{year:04d}-{month:02d}", first, last, starts, ends)


def period_code_at(moment: datetime, zone: str, first_day: int = DEFAULT_FIRST_DAY) -> str:
    """The reporting month whose update is being collected at `moment`: the month of the local
    date, e.g. on 18/11 the update for "2026-11" (15/10–14/11) is due before 20/11."""
    local = moment.astimezone(ZoneInfo(zone)).date()
    return f"{local.year:04d}-{local.month:02d}"


def due_at(code: str, zone: str, due_day: int = DEFAULT_DUE_DAY) -> datetime:
    """The end of the on-time window: the start of `due_day` of the reporting month, local time,
    in UTC ("before the 20th" = up to 23:59:59 on the 19th)."""
    year, month = parse_period(code)
    return datetime.combine(date(year, month, due_day), time.min, ZoneInfo(zone)).astimezone(timezone.utc)


def is_late(code: str, moment: datetime, zone: str, due_day: int = DEFAULT_DUE_DAY) -> bool:
    return moment >= due_at(code, zone, due_day)
