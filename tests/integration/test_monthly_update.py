"""A leader's monthly update by chat over a real database: the records' figures offered first,
typed figures that differ pointed out and kept, risks and notes, edits until the deadline (each
version kept), the deadline at 23:59 on the 19th in Hanoi, a late update accepted and marked."""

from __future__ import annotations

from sqlalchemy import select

from storage.tables import MonthlyReportRevisionRow, MonthlyReportRow
from tests.integration.test_case_actions import (  # noqa: F401 (fixtures)
    LEADER, OFFICER, OTHER_LEADER, RESIDENT, harness, staff, ward,
)
from tests.integration.test_reminders import hanoi


async def reports(h) -> list:
    async with h.uow_factory() as uow:
        return list((await uow.session.execute(select(MonthlyReportRow.__table__)
                                               .order_by(MonthlyReportRow.id))).all())


async def revisions(h) -> list:
    async with h.uow_factory() as uow:
        return list((await uow.session.execute(select(MonthlyReportRevisionRow.__table__)
                                               .order_by(MonthlyReportRevisionRow.id))).all())


async def test_a_leader_sends_changes_and_is_told_of_differences_until_the_deadline(staff):
    h = staff  # the resident's land case in group 3 was reported on 22/11
    h.clock.current = hanoi(16, 12, 9)  # the month 15/11–14/12 is collected; due before 20/12
    await h.send(user=LEADER, text="/monthly")
    first = h.last(LEADER).text
    assert "Tổ dân phố số 3, period 15/11–14/12/2026 (due by the end of 19/12/2026)" in first
    assert "New disputes found: 1" in first and "By field: Land 1" in first and "Still open: 1" in first

    await h.press("Change the figures", LEADER)
    await h.send(user=LEADER, text="2")
    assert "You typed 2; the case records say 1" in h.last(LEADER).text
    await h.send(user=LEADER, text="many")
    assert "Please type a number from 0 to 10000" in h.last(LEADER).text
    for _ in range(5):  # mediated, successful, unsuccessful, open, referred: as the records
        await h.press("= as the records", LEADER)
    await h.press("Yes", LEADER)  # a hot spot
    await h.press("No", LEADER)  # no mass complaint
    await h.send(user=LEADER, text="15")
    await h.send(user=LEADER, text="Tranh chấp lối đi chung giữa 3 hộ")
    await h.press("Skip", LEADER)
    summary = h.last(LEADER).text
    assert "New disputes found: 2 (records: 1)" in summary and "Risks: hot spot" in summary
    assert "Some figures differ from the case records" in summary
    await h.press("Send the update", LEADER)
    assert "The monthly update of Tổ dân phố số 3 for 15/11–14/12/2026 is received" in h.last(LEADER).text

    [row] = await reports(h)
    assert (row.period, row.late, row.version, row.nothing_new) == ("2026-12", False, 1, False)
    assert row.differences == {"new": [1, 2]}
    assert row.counts["new"] == 2 and row.counts["open"] == 1 and row.counts["new_by_field"] == {"land": 1}
    assert row.risks == {"hot_spot": True, "mass_complaint": False, "people": 15,
                         "note": "Tranh chấp lối đi chung giữa 3 hộ"}

    # An edit at 23:59 on the 19th, Hanoi time, is still on time: "nothing new", pointed out first.
    h.clock.current = hanoi(19, 12, 23, 59)
    await h.send(user=LEADER, text="/monthly")
    assert any("Your group sent this update at 09:00 16/12/2026" in r.text for r in h.replies(LEADER)[-2:])
    await h.press("Nothing new this month", LEADER)
    assert "The case records show cases in your group" in h.last(LEADER).text
    await h.press("anyway", LEADER)
    assert "Nothing new this month." in h.last(LEADER).text
    await h.press("Send the update", LEADER)
    assert "is updated" in h.last(LEADER).text
    [row] = await reports(h)
    assert (row.version, row.late, row.nothing_new) == (2, False, True)
    assert row.differences == {"new": [1, 0], "open": [1, 0]}
    assert [(r.version, r.late) for r in await revisions(h)] == [(1, False), (2, False)]

    # From 00:00 on the 20th it is final.
    h.clock.current = hanoi(20, 12, 0)
    await h.send(user=LEADER, text="/monthly")
    assert "can no longer be changed" in h.last(LEADER).text


async def test_a_late_update_is_accepted_and_marked_late(staff):
    h = staff
    h.clock.current = hanoi(20, 12, 0)  # the first second of the 20th
    await h.send(user=OTHER_LEADER, text="/monthly")
    await h.press("Send these figures", OTHER_LEADER)
    await h.press("No", OTHER_LEADER)
    await h.press("No", OTHER_LEADER)
    await h.press("Skip", OTHER_LEADER)
    assert "Past the deadline" in h.last(OTHER_LEADER).text
    await h.press("Send the update", OTHER_LEADER)
    assert "(late)" in h.last(OTHER_LEADER).text
    [row] = await reports(h)
    assert row.late and row.differences == {} and row.counts["new"] == 0  # group 1 had no case


async def test_only_leaders_send_a_monthly_update(staff):
    h = staff
    await h.send(user=RESIDENT, text="/monthly")
    assert "Only a residential group's leader" in h.last(RESIDENT).text
    await h.send(user=OFFICER, text="/monthly")  # the police get the overview, not the form
    assert "Monthly updates for" in h.last(OFFICER).text
    await h.send(user=OFFICER, callback="m:u:1")
    assert "Only a residential group's leader" in h.last(OFFICER).text
    await h.send(user=LEADER, callback="m:u:999")  # a group they do not lead
    assert "Only a residential group's leader" in h.last(LEADER).text
    assert await reports(h) == []


async def test_the_police_see_which_groups_sent_their_update(staff):
    h = staff
    h.clock.current = hanoi(16, 12, 9)
    await h.send(user=LEADER, text="/monthly")
    await h.press("Change the figures", LEADER)
    await h.send(user=LEADER, text="2")
    for _ in range(5):
        await h.press("= as the records", LEADER)
    await h.press("Yes", LEADER)
    await h.press("No", LEADER)
    await h.press("Skip", LEADER)
    await h.press("Skip", LEADER)
    await h.press("Skip", LEADER)
    await h.press("Send the update", LEADER)

    await h.press("Groups' monthly updates", OFFICER)  # the police menu's button
    shown = h.last(OFFICER).text
    assert "Monthly updates for 15/11–14/12/2026: 1 of" in shown
    assert "✅ ⚠️ 🔥 Tổ dân phố số 3: 2 new, 0 mediated successfully, 1 open" in shown
    assert "❌ Tổ dân phố số 1: not sent" in shown
    assert [c.data for row in h.last(OFFICER).buttons for c in row] == ["k:r:2026-12"]  # the month's report
