"""Reporting months (NĐ 09/2019, Điều 12) and the "before the 20th" deadline, in Hanoi time."""

from datetime import date, datetime, timezone

import pytest

from handlers.domain.periods import due_at, is_late, period, period_code_at

HANOI = "Asia/Ho_Chi_Minh"


def test_a_month_runs_from_the_15th_of_the_previous_month_to_the_14th():
    november = period("2026-11", HANOI)
    assert (november.first, november.last) == (date(2026, 10, 15), date(2026, 11, 14))
    assert november.starts == datetime(2026, 10, 14, 17, tzinfo=timezone.utc)  # 00:00 on 15/10 in Hanoi
    assert november.ends == datetime(2026, 11, 14, 17, tzinfo=timezone.utc)
    january = period("2027-01", HANOI)
    assert (january.first, january.last) == (date(2026, 12, 15), date(2027, 1, 14))  # across the year
    march = period("2028-03", HANOI)
    assert (march.first, march.last) == (date(2028, 2, 15), date(2028, 3, 14))  # a leap February inside


def test_a_ward_may_count_calendar_months():
    february = period("2028-02", HANOI, first_day=1)
    assert (february.first, february.last) == (date(2028, 2, 1), date(2028, 2, 29))


def test_the_update_due_before_the_20th_is_on_time_until_23_59_on_the_19th_local_time():
    assert due_at("2026-12", HANOI) == datetime(2026, 12, 19, 17, tzinfo=timezone.utc)
    assert not is_late("2026-12", datetime(2026, 12, 19, 16, 59, 59, tzinfo=timezone.utc), HANOI)  # 23:59:59
    assert is_late("2026-12", datetime(2026, 12, 19, 17, tzinfo=timezone.utc), HANOI)  # 00:00 on the 20th
    assert due_at("2026-12", "UTC", due_day=25) == datetime(2026, 12, 25, tzinfo=timezone.utc)


def test_the_month_being_collected_is_the_latest_that_has_ended():
    assert period_code_at(datetime(2026, 12, 14, 16, 59, tzinfo=timezone.utc), HANOI) == "2026-11"  # 23:59 on 14/12
    assert period_code_at(datetime(2026, 12, 14, 17, tzinfo=timezone.utc), HANOI) == "2026-12"  # 00:00 on 15/12
    assert period_code_at(datetime(2026, 12, 3, 2, tzinfo=timezone.utc), HANOI) == "2026-11"
    assert period_code_at(datetime(2027, 1, 5, 2, tzinfo=timezone.utc), HANOI) == "2026-12"  # across the year
    assert period_code_at(datetime(2027, 1, 5, 2, tzinfo=timezone.utc), HANOI, first_day=1) == "2026-12"
    assert due_at("2026-12", HANOI, first_day=1) == datetime(2027, 1, 19, 17, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-11", "2026/11", "", "november"])
def test_a_bad_month_says_how_to_write_it(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        period(bad, HANOI)
