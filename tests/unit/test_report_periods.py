"""Roll-up periods (a month, quarter, half-year, year) made of NĐ 09/2019 reporting months, and
the plan's report deadlines (seed 004)."""

from datetime import date, datetime, timezone

import pytest

from handlers.domain.periods import period, report_due_date, report_period

ZONE = "Asia/Ho_Chi_Minh"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_a_month_is_the_monthly_period():
    rolled, month = report_period("2026-11", ZONE), period("2026-11", ZONE)
    assert (rolled.code, rolled.kind, rolled.months) == ("2026-11", "month", ("2026-11",))
    assert (rolled.first, rolled.last, rolled.starts, rolled.ends) == (month.first, month.last, month.starts, month.ends)


def test_a_quarter_runs_from_the_15th_before_it_to_the_14th_of_its_last_month():
    q4 = report_period("2026-Q4", ZONE)
    assert (q4.code, q4.kind, q4.months) == ("2026-Q4", "quarter", ("2026-10", "2026-11", "2026-12"))
    assert (q4.first, q4.last) == (date(2026, 9, 15), date(2026, 12, 14))
    assert (q4.starts, q4.ends) == (utc(2026, 9, 14, 17), utc(2026, 12, 14, 17))


def test_half_years_and_the_year():
    h1, h2 = report_period("2026-H1", ZONE), report_period("2026-h2", ZONE)
    assert h1.months == tuple(f"2026-{m:02d}" for m in range(1, 7)) and h1.kind == "half"
    assert (h1.first, h1.last) == (date(2025, 12, 15), date(2026, 6, 14))
    assert (h2.code, h2.first, h2.last) == ("2026-H2", date(2026, 6, 15), date(2026, 12, 14))
    year = report_period("2026", ZONE)
    assert (year.code, year.kind, len(year.months)) == ("2026", "year", 12)
    assert (year.first, year.last) == (date(2025, 12, 15), date(2026, 12, 14))
    assert (year.starts, year.ends) == (utc(2025, 12, 14, 17), utc(2026, 12, 14, 17))


def test_calendar_months_when_the_ward_counts_them():
    q1 = report_period("2027-Q1", ZONE, first_day=1)
    assert (q1.first, q1.last, q1.starts) == (date(2027, 1, 1), date(2027, 3, 31), utc(2026, 12, 31, 17))


@pytest.mark.parametrize("code", ["2026-13", "2026-Q5", "2026-H3", "26", "2026-Q", "Q4-2026", "", "2026-11-01"])
def test_a_bad_period_names_the_accepted_forms(code):
    with pytest.raises(ValueError, match="YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY"):
        report_period(code, ZONE)


def test_the_plan_deadlines_and_a_ward_of_its_own():
    assert report_due_date("2026-H1") == date(2026, 6, 10)
    assert report_due_date("2026") == date(2026, 11, 10)
    assert report_due_date("2026-H2") is None and report_due_date("2026-Q4") is None
    assert report_due_date("2026-Q4", {"quarter": (12, 20)}) == date(2026, 12, 20)
    assert report_due_date("2026", {}) is None
