"""The monthly update's calendar job over a real database: leaders of groups that have not sent
the month's update are reminded on the 15th, 18th and 19th (the last says so), the officer gets
the missing list on the 20th and the head one working day later; run twice, nothing is sent twice.

December 2026: the 19th is a Saturday, the 20th a Sunday, the 21st a Monday (a working day), so
the head is told at the end of Monday 21/12 (17:00).
"""

from __future__ import annotations

from datetime import datetime, time

import pytest

from handlers.domain.calendar import QuietHours
from handlers.services import CoreConfig
from scheduler.monthly import monthly_job
from scheduler.rules import load_calendar
from scheduler.runner import build_scheduler
from storage.demo import GROUP_COUNT, POLICE_CODE, WARD_CODE, load_demo_ward
from storage.tables import UnitRow
from tests.integration.test_conversation import TRANSLATOR, Harness
from tests.integration.test_reminders import hanoi
from tests.integration.test_staff_conversation import become, make_invite

LEADER1, LEADER2, LEADER3, OFFICER, HEAD = "301", "302", "303", "200", "210"
PERIOD = "2026-12"  # 15/11–14/12, due before 20/12
REMINDER, LAST_DAY = "Dear leader of", "today is the last day"
OFFICERS_LIST, HEAD_LIST = "Monthly update 12/2026", "For the head"
ALL_GROUPS = {f"Tổ dân phố số {number}" for number in range(1, GROUP_COUNT + 1)}


async def setup_ward(uow_factory, config: CoreConfig) -> Harness:
    """Leaders of groups 1, 2 and 3, an officer and the head; group 2 has sent its update."""
    await load_demo_ward(uow_factory)
    h = Harness(uow_factory, config)
    for user, role, unit in ((LEADER1, "leader", f"{WARD_CODE}-tdp-1"), (LEADER2, "leader", f"{WARD_CODE}-tdp-2"),
                             (LEADER3, "leader", f"{WARD_CODE}-tdp-3"), (OFFICER, "officer", POLICE_CODE),
                             (HEAD, "head", POLICE_CODE)):
        await make_invite(h, f"Invite{user}Code", role, unit)
        await become(h, user, f"Invite{user}Code")
    await submit(h, 2, hanoi(10, 12, 9))
    return h


@pytest.fixture
async def ward(uow_factory):
    return await setup_ward(uow_factory, CoreConfig(ward_code=WARD_CODE, calendar=load_calendar()))


async def submit(h: Harness, number: int, at: datetime, *, late: bool = False) -> None:
    async with h.uow_factory() as uow:
        group = await uow.units.by_code(f"{WARD_CODE}-tdp-{number}")
        values = {"nothing_new": True, "counts": {}, "risks": {}, "notes": None, "differences": {}}
        await uow.monthly.save(group.id, PERIOD, values, by=None, now=at, late=late, version=None)
        await uow.commit()


async def run(h: Harness, at: datetime) -> int:
    """The job at `at`, then send what is due."""
    h.clock.current = at
    count = await monthly_job(h.uow_factory, TRANSLATOR, h.clock, h.dispatcher.config)
    await drain(h, at)
    return count


async def drain(h: Harness, at: datetime) -> None:
    h.clock.current = at
    while await h.sender.drain_once():
        pass


def told(h: Harness, chat: str, marker: str) -> list:
    return [reply for reply in h.replies(chat) if marker in reply.text]


def listed(text: str) -> set[str]:
    """The group names of a missing list: lines "• name (…)"."""
    return {line[2:].split(" (")[0] for line in text.splitlines() if line.startswith("• ")}


async def test_only_leaders_of_groups_without_the_update_are_reminded_from_8(ward):
    h = ward
    await run(h, hanoi(15, 12, 7, 59))
    assert not any(told(h, chat, REMINDER) for chat in (LEADER1, LEADER2, LEADER3))

    await run(h, hanoi(15, 12, 8))
    [first], [third] = told(h, LEADER1, REMINDER), told(h, LEADER3, REMINDER)
    assert not told(h, LEADER2, REMINDER)  # group 2 has sent its update
    assert "Tổ dân phố số 1" in first.text and "Tổ dân phố số 3" in third.text
    assert "before 20/12" in first.text and LAST_DAY not in first.text
    assert [c.label for row in first.buttons for c in row] == ["📝 Send the monthly update"]
    assert first.buttons[0][0].data.startswith("m:u:")  # straight to the group's form
    assert not told(h, OFFICER, OFFICERS_LIST)
    await h.press("Send the monthly update", LEADER1)
    assert "Monthly update of Tổ dân phố số 1, period 15/11–14/12/2026" in h.last(LEADER1).text

    await run(h, hanoi(15, 12, 8))  # the same run again, and a later one: nothing twice
    await run(h, hanoi(15, 12, 8, 5))
    assert len(told(h, LEADER1, REMINDER)) == len(told(h, LEADER3, REMINDER)) == 1


async def test_the_reminder_of_the_19th_says_it_is_the_last_day(ward):
    h = ward
    await run(h, hanoi(18, 12, 8))
    [on_18th] = told(h, LEADER1, REMINDER)
    assert LAST_DAY not in on_18th.text
    await run(h, hanoi(19, 12, 8))
    assert LAST_DAY in told(h, LEADER1, REMINDER)[-1].text
    assert len(told(h, LEADER1, REMINDER)) == 2


async def test_a_missed_day_is_sent_later_that_day_but_never_on_another(ward):
    h = ward
    await run(h, hanoi(16, 12, 10))  # the bot was down on the 15th: nothing for it on the 16th
    await run(h, hanoi(17, 12, 8))  # not a reminder day
    assert not told(h, LEADER1, REMINDER)
    await run(h, hanoi(18, 12, 13, 30))  # down at 08:00, back after lunch
    [reminder] = told(h, LEADER1, REMINDER)
    assert "Tổ dân phố số 1" in reminder.text


async def test_the_officer_gets_the_missing_groups_on_the_due_day_once(ward):
    h = ward
    await run(h, hanoi(19, 12, 23, 59))
    await run(h, hanoi(20, 12, 7, 59))
    assert not told(h, OFFICER, OFFICERS_LIST)
    await run(h, hanoi(20, 12, 8))
    [notice] = told(h, OFFICER, OFFICERS_LIST)
    assert listed(notice.text) == ALL_GROUPS - {"Tổ dân phố số 2"}
    assert "Tổ dân phố số 1 (leader: Test)" in notice.text
    assert "Tổ dân phố số 4 (no leader on the bot)" in notice.text
    assert f"{GROUP_COUNT - 1} residential groups" in notice.text
    assert not told(h, LEADER1, REMINDER)  # the 20th is past the deadline: no leader reminder
    assert not told(h, HEAD, HEAD_LIST)
    # One press gives the month's report (the chart and the file too; tests/integration/test_ward_reports_chat.py).
    assert [(c.label, c.data) for row in notice.buttons for c in row] == [("📊 The ward's report for 2026-12",
                                                                         "k:r:2026-12")]
    await h.press("The ward's report for 2026-12", OFFICER)
    assert "Roll-up report 2026-12 (15/11/2026 to 14/12/2026)" in h.last(OFFICER).text

    await run(h, hanoi(20, 12, 8))
    await run(h, hanoi(20, 12, 15))
    assert len(told(h, OFFICER, OFFICERS_LIST)) == 1


async def test_with_someone_on_duty_only_they_get_the_list_even_when_the_job_runs_late(ward):
    h = ward
    await make_invite(h, "InviteOtherCode", "officer", POLICE_CODE)
    await become(h, "201", "InviteOtherCode")
    async with h.uow_factory() as uow:
        police = await uow.units.by_code(POLICE_CODE)
        on_duty = (await uow.people.by_identity("telegram", OFFICER)).id
        await uow.duty.start(on_duty, police.id, hanoi(20, 12, 7, 30), hanoi(21, 12, 7, 30), hanoi(20, 12, 7, 30))
        await uow.commit()
    await run(h, hanoi(21, 12, 9))  # the bot was down on the 20th; the shift that held the list has ended
    assert len(told(h, OFFICER, OFFICERS_LIST)) == 1
    assert not told(h, "201", OFFICERS_LIST)


async def test_the_head_gets_what_is_still_missing_one_working_day_later(ward):
    h = ward
    await run(h, hanoi(20, 12, 8))
    await submit(h, 1, hanoi(21, 12, 10), late=True)  # late, but sent
    await run(h, hanoi(21, 12, 16, 59))
    assert not told(h, HEAD, HEAD_LIST)
    await run(h, hanoi(21, 12, 17))
    [notice] = told(h, HEAD, HEAD_LIST)
    assert listed(notice.text) == ALL_GROUPS - {"Tổ dân phố số 1", "Tổ dân phố số 2"}
    await run(h, hanoi(22, 12, 9))
    assert len(told(h, HEAD, HEAD_LIST)) == 1
    assert len(told(h, OFFICER, OFFICERS_LIST)) == 1  # the officer's list is not sent again


async def test_nothing_when_every_group_has_sent_it(ward):
    h = ward
    for number in range(1, GROUP_COUNT + 1):
        if number != 2:
            await submit(h, number, hanoi(14, 12, 20))
    assert await run(h, hanoi(15, 12, 8)) == 0
    assert await run(h, hanoi(21, 12, 17)) == 0
    assert not told(h, LEADER1, REMINDER) and not told(h, OFFICER, OFFICERS_LIST) and not told(h, HEAD, HEAD_LIST)


@pytest.fixture
async def quiet_until_9(uow_factory):
    config = CoreConfig(ward_code=WARD_CODE, calendar=load_calendar(), quiet_hours=QuietHours(time(21), time(9)))
    return await setup_ward(uow_factory, config)


async def test_leaders_reminders_wait_out_quiet_hours_and_never_spill_into_the_next_day(quiet_until_9):
    h = quiet_until_9
    await run(h, hanoi(15, 12, 22))  # the bot came back late on the 15th: too late for that day
    await drain(h, hanoi(16, 12, 9))
    assert not told(h, LEADER1, REMINDER)

    await run(h, hanoi(18, 12, 8))  # 08:00 is quiet here: stored, sent at 09:00
    assert not told(h, LEADER1, REMINDER)
    await drain(h, hanoi(18, 12, 9))
    [reminder] = told(h, LEADER1, REMINDER)
    assert LAST_DAY not in reminder.text


def test_the_scheduler_runs_the_job_every_5_minutes(ward):
    scheduler = build_scheduler(ward.uow_factory, ward.clock, "Asia/Ho_Chi_Minh", translator=TRANSLATOR,
                                config=ward.dispatcher.config)
    job = scheduler.get_job("monthly_reminders")
    assert job.func is monthly_job and job.trigger.interval.total_seconds() == 300


async def test_without_a_ward_code_every_wards_groups_are_reminded(uow_factory):
    """A province-wide deployment (HOAGIAI_WARD_CODE unset): the groups of every ward owe it."""
    h = await setup_ward(uow_factory, CoreConfig(calendar=load_calendar()))
    async with h.uow_factory() as uow:
        other = UnitRow(code="xa-khac", name="Xã Khác", kind="commune", sort_order=9)
        uow.session.add(other)
        await uow.session.flush()
        uow.session.add(UnitRow(code="xa-khac-thon-1", name="Thôn Một", kind="group", parent_id=other.id, sort_order=1))
        await uow.commit()
    await make_invite(h, "InviteOtherLeader", "leader", "xa-khac-thon-1")
    await become(h, "401", "InviteOtherLeader")

    await run(h, hanoi(15, 12, 8))
    [reminder] = told(h, "401", REMINDER)
    assert "Thôn Một" in reminder.text
    assert len(told(h, LEADER1, REMINDER)) == 1 and not told(h, LEADER2, REMINDER)
