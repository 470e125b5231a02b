"""Working days, day-counted limits and quiet hours in Asia/Ho_Chi_Minh (UTC+7, no DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from handlers.domain.calendar import QuietHours, WorkCalendar, public_holidays

VN = timezone(timedelta(hours=7))
CAL = WorkCalendar()


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A local Vietnamese wall-clock moment, as the UTC datetime the code takes."""
    return datetime(y, m, d, hh, mm, tzinfo=VN).astimezone(UTC)


def end_of(y: int, m: int, d: int) -> datetime:
    return local(y, m, d, 17, 0)


# --- which days are working days ------------------------------------------------------------

def test_weekends_are_not_working_days():
    assert CAL.is_working_day(date(2026, 6, 5))  # Friday
    assert not CAL.is_working_day(date(2026, 6, 6))  # Saturday
    assert not CAL.is_working_day(date(2026, 6, 7))  # Sunday
    assert CAL.is_working_day(date(2026, 6, 8))


@pytest.mark.parametrize("day", [4, 5, 8, 9, 10])
def test_tet_2027_weekdays_are_off(day):
    assert not CAL.is_working_day(date(2027, 2, day))


def test_tet_2027_comes_from_the_holidays_library():
    tet = {date(2027, 2, d) for d in range(5, 11)}
    assert tet <= public_holidays(2027)
    assert CAL.is_working_day(date(2027, 2, 3)) and CAL.is_working_day(date(2027, 2, 11))


def test_national_holidays_are_off():
    for day in (date(2026, 1, 1), date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 2), date(2027, 1, 1)):
        assert not CAL.is_working_day(day), day


def test_a_ward_day_off_is_off():
    ward = WorkCalendar(days_off=frozenset({date(2026, 6, 8)}))
    assert not ward.is_working_day(date(2026, 6, 8))
    assert CAL.is_working_day(date(2026, 6, 8))


# --- working days ---------------------------------------------------------------------------

def test_working_days_end_at_the_end_of_the_nth_working_day_after_the_start_day():
    monday = local(2026, 6, 8, 10)
    assert CAL.add_working_days(monday, 1) == end_of(2026, 6, 9)
    assert CAL.add_working_days(monday, 4) == end_of(2026, 6, 12)


def test_working_days_across_a_weekend():
    friday = local(2026, 6, 5, 10)
    assert CAL.add_working_days(friday, 1) == end_of(2026, 6, 8)
    assert CAL.add_working_days(friday, 3) == end_of(2026, 6, 10)


def test_a_start_on_a_day_off_counts_from_the_next_working_day():
    assert CAL.add_working_days(local(2026, 6, 6, 9), 1) == end_of(2026, 6, 8)  # Saturday
    assert CAL.add_working_days(local(2026, 6, 7, 23), 1) == end_of(2026, 6, 8)  # Sunday night
    assert CAL.add_working_days(local(2026, 6, 5, 18), 1) == end_of(2026, 6, 8)  # Friday after hours


def test_working_days_across_tet_2027():
    wednesday_before = local(2027, 2, 3, 10)
    assert CAL.add_working_days(wednesday_before, 1) == end_of(2027, 2, 11)
    assert CAL.add_working_days(wednesday_before, 2) == end_of(2027, 2, 12)


def test_working_days_across_a_ward_day_off():
    ward = WorkCalendar(days_off=frozenset({date(2026, 6, 8)}))
    assert ward.add_working_days(local(2026, 6, 5, 10), 1) == end_of(2026, 6, 9)


def test_working_days_across_a_year_end():
    assert CAL.add_working_days(local(2026, 12, 30, 10), 2) == end_of(2027, 1, 4)
    assert CAL.add_working_days(local(2026, 12, 31, 10), 1) == end_of(2027, 1, 4)


def test_the_local_date_decides_not_the_utc_date():
    late_monday = local(2026, 6, 8, 23, 30)  # 16:30 UTC, still Monday in UTC
    assert late_monday == datetime(2026, 6, 8, 16, 30, tzinfo=UTC)
    assert CAL.add_working_days(late_monday, 1) == datetime(2026, 6, 9, 10, 0, tzinfo=UTC)
    early_tuesday = local(2026, 6, 9, 0, 30)  # 17:30 UTC Monday
    assert early_tuesday.date() == date(2026, 6, 8)
    assert CAL.add_working_days(early_tuesday, 1) == datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


def test_results_are_utc():
    due = CAL.add(local(2026, 6, 8), 2, "working_days")
    assert due.utcoffset() == timedelta(0)


def test_a_ward_may_end_days_at_midnight():
    late = WorkCalendar(day_end=time(23, 59))
    assert late.add_working_days(local(2026, 6, 8), 1) == local(2026, 6, 9, 23, 59)


def test_subtract_working_days_keeps_the_time_of_day():
    assert CAL.subtract_working_days(end_of(2026, 6, 8), 1) == end_of(2026, 6, 5)
    assert CAL.subtract_working_days(end_of(2027, 2, 11), 1) == end_of(2027, 2, 3)
    assert CAL.subtract_working_days(end_of(2026, 6, 7), 1) == end_of(2026, 6, 5)  # from a Sunday


# --- hours, calendar days, day of month -----------------------------------------------------

def test_hours_are_elapsed_hours_whatever_the_day():
    friday_evening = local(2026, 6, 5, 16)
    assert CAL.add(friday_evening, 2, "hours") == local(2026, 6, 5, 18)
    assert CAL.add(friday_evening, 24, "hours") == local(2026, 6, 6, 16)
    assert CAL.add(local(2027, 2, 5, 9), 48, "hours") == local(2027, 2, 7, 9)


def test_calendar_days_end_on_the_nth_day_and_do_not_move_off_days_off():
    assert CAL.add(local(2026, 6, 3, 10), 3, "days") == end_of(2026, 6, 6)  # a Saturday
    assert CAL.add(local(2027, 2, 3, 10), 3, "days") == end_of(2027, 2, 6)  # Tết
    assert CAL.add(local(2026, 12, 20, 10), 30, "days") == end_of(2027, 1, 19)


def test_before_the_20th_is_the_end_of_the_19th():
    assert CAL.add(local(2026, 6, 5), 20, "day_of_month") == end_of(2026, 6, 19)
    assert CAL.add(local(2026, 6, 19, 16), 20, "day_of_month") == end_of(2026, 6, 19)
    assert CAL.add(local(2026, 6, 19, 18), 20, "day_of_month") == end_of(2026, 7, 19)
    assert CAL.add(local(2026, 12, 25), 20, "day_of_month") == end_of(2027, 1, 19)
    assert CAL.add(local(2026, 2, 5), 1, "day_of_month") == end_of(2026, 2, 28)


@pytest.mark.parametrize("call", [
    lambda: CAL.add(datetime(2026, 6, 8, 10), 1, "working_days"),
    lambda: CAL.add(local(2026, 6, 8), 0, "working_days"),
    lambda: CAL.add(local(2026, 6, 8), 0, "days"),
    lambda: CAL.add(local(2026, 6, 8), 1, "weeks"),
    lambda: CAL.add(local(2026, 6, 8), 31, "day_of_month"),
])
def test_bad_input_is_refused(call):
    with pytest.raises(ValueError):
        call()


def test_cheap_enough_for_every_case_move():
    start = local(2026, 6, 8)
    began = datetime.now()
    for n in range(2000):
        CAL.add(start + timedelta(hours=n), 10, "working_days")
    assert datetime.now() - began < timedelta(seconds=1)


# --- quiet hours ----------------------------------------------------------------------------

QUIET = QuietHours()
ZONE = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(("at", "expected"), [
    (local(2026, 6, 8, 20, 59), local(2026, 6, 8, 20, 59)),
    (local(2026, 6, 8, 21, 0), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 8, 23, 59), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 9, 0, 0), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 9, 3, 0), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 9, 6, 59), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 9, 7, 0), local(2026, 6, 9, 7, 0)),
    (local(2026, 6, 9, 12, 0), local(2026, 6, 9, 12, 0)),
    (local(2026, 12, 31, 22, 0), local(2027, 1, 1, 7, 0)),
])
def test_quiet_hours_cross_midnight(at, expected):
    assert QUIET.next_allowed(at, ZONE) == expected


def test_three_in_the_morning_local_is_the_previous_utc_day():
    at = local(2026, 6, 9, 3, 0)
    assert at == datetime(2026, 6, 8, 20, 0, tzinfo=UTC)
    assert QUIET.next_allowed(at, ZONE) == datetime(2026, 6, 9, 0, 0, tzinfo=UTC)


def test_a_window_within_one_day():
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    assert lunch.next_allowed(local(2026, 6, 9, 12, 15), ZONE) == local(2026, 6, 9, 13, 30)
    assert lunch.next_allowed(local(2026, 6, 9, 13, 30), ZONE) == local(2026, 6, 9, 13, 30)
    assert lunch.next_allowed(local(2026, 6, 9, 22, 0), ZONE) == local(2026, 6, 9, 22, 0)


def test_no_quiet_hours_when_start_equals_end():
    never = QuietHours(start=time(0, 0), end=time(0, 0))
    assert never.next_allowed(local(2026, 6, 9, 3, 0), ZONE) == local(2026, 6, 9, 3, 0)


def test_quiet_hours_follow_the_zone():
    at = datetime(2026, 6, 8, 15, 0, tzinfo=UTC)  # 22:00 in Vietnam, 15:00 in UTC
    assert QUIET.next_allowed(at, ZONE) == datetime(2026, 6, 9, 0, 0, tzinfo=UTC)
    assert QUIET.next_allowed(at, "UTC") == at
