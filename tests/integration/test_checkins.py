"""Check-ins after a successful mediation, over a real database: scheduled at 7, 30 and 90 days,
asked of the group's leader and of the reporter who agreed, answered once; "no" from the leader
reopens the closed case, "partly" flags it, and the officer is alerted. Time moves on a clock.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from storage.tables import CaseEventRow, CaseRow, CheckinRow, ReminderRow
from tests.integration.test_case_actions import (  # noqa: F401 (fixtures)
    LEADER, MEDIATOR, OFFICER, OTHER_LEADER, RESIDENT, choose_mediation_for_team, classify, harness, open_card, staff,
    verify, ward,
)
from tests.integration.test_reminders import hanoi, sweep


async def mediated(h) -> None:
    """The case of group 3 mediated successfully on Sunday 22/11/2026 (09:00 in Hanoi)."""
    await classify(h)
    await verify(h)
    await choose_mediation_for_team(h)
    await h.press("My unit's cases", MEDIATOR)
    await h.press(h.case_code, MEDIATOR)
    await h.press("Record a session", MEDIATOR)
    await h.press("Today", MEDIATOR)
    await h.send(user=MEDIATOR, text="Nhà văn hóa TDP 3")
    await h.send(user=MEDIATOR, text="Trần Thị B, Lê Văn C")
    await h.press("Skip", MEDIATOR)
    await open_card(h, LEADER)
    await h.press("Record the outcome", LEADER)
    await h.press("Successful", LEADER)
    for part in ("Ông A và ông D, tổ 3", "Tường xây lấn 40 cm", "Ông D dỡ tường", "Trong 30 ngày, tổ giám sát"):
        await h.send(user=LEADER, text=part)
    await h.press("Add a commitment", LEADER)
    await h.send(user=LEADER, text="Ông D dỡ phần tường lấn")
    await h.press("In 30 days", LEADER)


async def close(h) -> None:
    await open_card(h, OFFICER)
    await h.press("Close", OFFICER)


async def checkin_reminders(h) -> list[tuple[str, datetime, int]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(ReminderRow.status, ReminderRow.due_at, ReminderRow.data)
                                         .where(ReminderRow.kind == "checkin").order_by(ReminderRow.id))
        return [(status, due_at, data["day"]) for status, due_at, data in rows]


async def event_data(h, *kinds: str) -> list[tuple[str, dict]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(CaseEventRow.kind, CaseEventRow.data)
                                         .where(CaseEventRow.kind.in_(kinds)).order_by(CaseEventRow.id))
        return [(kind, data) for kind, data in rows]


async def case_state(h) -> tuple:
    async with h.uow_factory() as uow:
        return (await uow.session.execute(select(CaseRow.step, CaseRow.status, CaseRow.reopen_count))).one()


def question(h, user: str):
    return next(reply for reply in reversed(h.replies(user)) if "days after the successful mediation" in reply.text)


async def test_a_no_from_the_leader_reopens_the_closed_case_and_alerts_the_officer(staff):
    h = staff
    await mediated(h)
    assert "After 7, 30, 90 days the bot may ask you" in h.last(RESIDENT).text
    await h.press("I agree", RESIDENT)
    assert "The bot will ask you on those days" in h.last(RESIDENT).text
    # At 09:00 in Hanoi (02:00 UTC) 7, 30 and 90 days after the mediation.
    assert await checkin_reminders(h) == [
        ("pending", datetime(2026, 11, 29, 2, tzinfo=timezone.utc), 7),
        ("pending", datetime(2026, 12, 22, 2, tzinfo=timezone.utc), 30),
        ("pending", datetime(2027, 2, 20, 2, tzinfo=timezone.utc), 90)]
    await close(h)

    marks = {user: len(h.replies(user)) for user in (LEADER, OTHER_LEADER, RESIDENT, MEDIATOR)}
    assert await sweep(h, hanoi(29, 11, 8, 59)) == 0
    assert await sweep(h, hanoi(29, 11, 9)) == 1
    new = {user: h.replies(user)[count:] for user, count in marks.items()}
    assert [len(new[user]) for user in (LEADER, OTHER_LEADER, RESIDENT, MEDIATOR)] == [1, 0, 1, 0]
    asked = new[LEADER][0]
    assert f"Case {h.case_code}, 7 days after the successful mediation" in asked.text
    assert [choice.label for row in asked.buttons for choice in row] == ["✅ Yes", "🟡 Partly", "❌ No"]

    await h.press("Yes", RESIDENT)
    assert "Thank you for letting us know" in h.last(RESIDENT).text
    before = len(h.replies(OFFICER))
    await h.press("No", LEADER)
    assert "The case has been reopened" in h.last(LEADER).text
    assert await case_state(h) == (2, "verifying", 1)
    [alert] = h.replies(OFFICER)[before:]
    assert f"Case {h.case_code} REOPENED" in alert.text and "7 days" in alert.text and '"❌ No"' in alert.text
    recorded = await event_data(h, "checkin", "reopened", "flagged")
    assert recorded[:2] == [("checkin", {"day": 7, "answer": "yes"}), ("checkin", {"day": 7, "answer": "no"})]
    kind, reopened = recorded[2]
    assert kind == "reopened" and reopened["step"] == [5, 2] and reopened["outcome"] == ["successful", None]
    assert reopened["reason"] == "Check-in after 7 days: the mediated agreement is not kept"
    assert len(recorded) == 3

    # A second press changes nothing; the reopened case's later check-ins are cancelled unsent.
    await h.press("Partly", LEADER)
    assert "answered already" in h.last(LEADER).text
    marks = {user: len(h.replies(user)) for user in (LEADER, RESIDENT)}
    await sweep(h, hanoi(22, 12, 9))
    assert all(len(h.replies(user)) == count for user, count in marks.items())
    assert [status for status, _, _ in await checkin_reminders(h)] == ["done", "cancelled", "pending"]


async def test_partly_flags_an_open_case_and_nobody_else_can_answer(staff):
    h = staff
    await mediated(h)
    await h.press("No, thank you", RESIDENT)
    await sweep(h, hanoi(29, 11, 9))
    assert not any("days after the successful mediation" in reply.text for reply in h.replies(RESIDENT))  # did not agree

    forged = next(choice.data for row in question(h, LEADER).buttons for choice in row if "No" in choice.label)
    await h.send(user=OTHER_LEADER, callback=forged)  # another group's leader
    await h.send(user=RESIDENT, callback=forged)
    async with h.uow_factory() as uow:
        assert await uow.session.scalar(select(CheckinRow.answer)) is None

    await h.press("Partly", LEADER)
    assert "The officer in charge has been told" in h.last(LEADER).text
    assert await case_state(h) == (5, "monitoring", 0)  # open: flagged, not reopened
    assert await event_data(h, "flagged") == [("flagged", {"day": 7, "answer": "partly"})]
    assert "answered \"🟡 Partly\"" in h.last(OFFICER).text


async def test_checkins_are_asked_once_even_if_the_sweep_runs_twice(staff):
    h = staff
    await mediated(h)
    await sweep(h, hanoi(29, 11, 9))
    await sweep(h, hanoi(29, 11, 9))
    async with h.uow_factory() as uow:
        assert len((await uow.session.execute(select(CheckinRow.id))).all()) == 1
    assert sum("days after the successful mediation" in reply.text for reply in h.replies(LEADER)) == 1
