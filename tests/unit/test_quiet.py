"""When an unasked, non-urgent message may go out: quiet hours in the ward's zone (UTC+7)."""

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from handlers.domain.calendar import QuietHours
from handlers.quiet import not_before
from handlers.services import CoreConfig

HANOI = timezone(timedelta(hours=7))
CONFIG = CoreConfig()


def local(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=HANOI).astimezone(UTC)


@pytest.mark.parametrize(("at", "expected"), [
    (local(22, 22, 30), local(23, 7)),
    (local(22, 21, 0), local(23, 7)),
    (local(23, 0, 30), local(23, 7)),
    (local(23, 6, 59), local(23, 7)),  # 23:59 UTC the day before
])
def test_in_quiet_hours_a_message_waits_for_seven_in_the_morning(at, expected):
    assert not_before(CONFIG, at) == expected


@pytest.mark.parametrize("at", [local(22, 14), local(22, 20, 59), local(23, 7), local(22, 9)])
def test_outside_quiet_hours_nothing_waits(at):
    assert not_before(CONFIG, at) is None


def test_across_the_utc_date_boundary():
    at = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # 06:59 on the 23rd in Hanoi
    assert not_before(CONFIG, at) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    evening = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 21:00 on the 22nd in Hanoi
    assert not_before(CONFIG, evening) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_urgent_messages_never_wait():
    assert not_before(CONFIG, local(22, 23), urgent=True) is None


def test_no_quiet_hours_when_switched_off():
    off = CoreConfig(quiet_hours=QuietHours(start=time(0, 0), end=time(0, 0)))
    assert not_before(off, local(22, 23)) is None


def test_the_wards_own_hours_and_zone():
    late = CoreConfig(quiet_hours=QuietHours(start=time(22, 0), end=time(6, 30)))
    assert not_before(late, local(22, 21, 30)) is None
    assert not_before(late, local(22, 23)) == local(23, 6, 30)
    in_utc = CoreConfig(timezone="UTC")
    assert not_before(in_utc, datetime(2026, 11, 22, 22, 30, tzinfo=UTC)) == datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert not_before(in_utc, local(22, 22, 30)) is None  # 15:30 UTC
