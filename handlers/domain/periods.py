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
    """The latest reporting month that has ended by `moment` (local date): the one whose update
    is being collected. With months from the 15th: on 15/11–14/12 it is "2026-11" (15/10–14/11),
    due before 20/11; on 3/12 it is still "2026-11" (late). With calendar months (first_day 1)
    it is the previous calendar month."""
    local = moment.astimezone(ZoneInfo(zone)).date()
    year, month = (local.year, local.month) if first_day > 1 and local.day >= first_day else \
        _shift(local.year, local.month, -1)
    return f"{year:04d}-{month:02d}"


def last_periods(moment: datetime, zone: str, count: int = 12,
                 first_day: int = DEFAULT_FIRST_DAY) -> tuple[Period, ...]:
    """The `count` reporting months ending with the one under way at `moment` (which has not
    ended yet, so the latest figures show), oldest first: for /stats' charts."""
    year, month = _shift(*parse_period(period_code_at(moment, zone, first_day)), 1)
    return tuple(period("{:04d}-{:02d}".format(*_shift(year, month, -back)), zone, first_day)
                 for back in range(count - 1, -1, -1))


def due_at(code: str, zone: str, due_day: int = DEFAULT_DUE_DAY, first_day: int = DEFAULT_FIRST_DAY) -> datetime:
    """The end of the on-time window: the start of `due_day`, local time, in UTC ("before the
    20th" = up to 23:59:59 on the 19th), of the reporting month itself when months end on the
    14th, of the month after it for calendar months."""
    year, month = parse_period(code)
    if first_day == 1:
        year, month = _shift(year, month, 1)
    return datetime.combine(date(year, month, due_day), time.min, ZoneInfo(zone)).astimezone(timezone.utc)


def is_late(code: str, moment: datetime, zone: str, due_day: int = DEFAULT_DUE_DAY,
            first_day: int = DEFAULT_FIRST_DAY) -> bool:
    return moment >= due_at(code, zone, due_day, first_day)


# --- the ward's roll-up reports: a month, a quarter, a half-year or a year -------------------

REPORT_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-[Qq]([1-4])|-[Hh]([12]))?$")
# When the police's report to the ward Party committee is due, by period kind: (month, day) of the
# period's year, "before" that day (seed 004: 6-monthly before 10 June, yearly before 10 November).
# A ward with another plan passes its own mapping; a kind missing here has no deadline.
REPORT_DUE: dict[str, tuple[int, int]] = {"H1": (6, 10), "year": (11, 10)}


@dataclass(frozen=True)
class ReportPeriod:
    """A reporting period of one or more months, e.g. "2026-Q4": `kind` month, quarter, half or
    year; `months` the reporting months it is made of ("2026-10", ...); local dates [first, last]
    and UTC [starts, ends) run from the first month's start to the last month's end."""

    code: str
    kind: str
    months: tuple[str, ...]
    first: date
    last: date
    starts: datetime
    ends: datetime


def parse_report_period(code: str) -> tuple[str, str, tuple[str, ...]]:
    """(normalised code, kind, months) of "2026-11", "2026-Q4", "2026-H1" or "2026";
    ValueError naming the accepted forms otherwise."""
    match = REPORT_PERIOD.match(code.strip())
    if match is None:
        raise ValueError(f"a reporting period is written YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY "
                         f"(like 2026-11, 2026-Q4, 2026-H1, 2026), not {code!r}")
    year, month, quarter, half = match.groups()
    if month:
        return f"{year}-{month}", "month", (f"{year}-{month}",)
    if quarter:
        start, count, label, kind = (int(quarter) - 1) * 3 + 1, 3, f"{year}-Q{quarter}", "quarter"
    elif half:
        start, count, label, kind = (int(half) - 1) * 6 + 1, 6, f"{year}-H{half}", "half"
    else:
        start, count, label, kind = 1, 12, year, "year"
    return label, kind, tuple(f"{year}-{m:02d}" for m in range(start, start + count))


def report_period(code: str, zone: str, first_day: int = DEFAULT_FIRST_DAY) -> ReportPeriod:
    """The period `code` as consecutive reporting months: with the default first day a quarter
    "2026-Q4" runs 15/09–14/12 and the year "2026" 15/12/2025–14/12/2026 (NĐ 09/2019, Điều 12)."""
    label, kind, months = parse_report_period(code)
    first, last = period(months[0], zone, first_day), period(months[-1], zone, first_day)
    return ReportPeriod(label, kind, months, first.first, last.last, first.starts, last.ends)


def report_due_date(code: str, due: dict[str, tuple[int, int]] | None = None) -> date | None:
    """The day the report on `code` must come before ("H1" by its code, else by its kind:
    "year", "quarter", "month"), or None when the plan sets none."""
    label, kind, _ = parse_report_period(code)
    rules = REPORT_DUE if due is None else due
    key = label[5:] if kind == "half" else kind
    if key not in rules:
        return None
    month, day = rules[key]
    return date(int(label[:4]), month, day)
