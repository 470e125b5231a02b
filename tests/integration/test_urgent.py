"""Urgent cases over a real database: the alert group's alert with its Acknowledge button,
re-alerts every 10 minutes to the officers on duty until someone acknowledges, the head from the
third on, who acknowledged and when, and the duty roster by chat. Time moves on a manual clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.messages import Inbound, UserRef
from handlers.services import CoreConfig
from scheduler.rules import load_calendar, load_rules
from storage.demo import POLICE_CODE, load_demo_ward
from storage.tables import CaseEventRow, CaseRow, ReminderRow
from tests.integration.test_case_actions import OFFICER, RESIDENT, classify, open_card
from tests.integration.test_conversation import CODE, Harness, consent, report
from tests.integration.test_reminders import sweep
from tests.integration.test_staff_conversation import CODE_OFFICER, become, make_invite

OTHER_OFFICER, HEAD, ALERT_GROUP = "201", "210", "-999"
STAFF = (OFFICER, OTHER_OFFICER, HEAD, ALERT_GROUP)
KNIFE_FIGHT = "Hai nhóm thanh niên cầm dao đánh nhau trước ngõ"


@pytest.fixture
async def ward(uow_factory):
    """The demo ward with an alert group, two officers, a head and a resident who has consented."""
    await load_demo_ward(uow_factory)
    h = Harness(uow_factory, CoreConfig(rules=load_rules(), calendar=load_calendar(), alert_chat_id=ALERT_GROUP))
    await make_invite(h, CODE_OFFICER, "officer", POLICE_CODE)
    await make_invite(h, "SecondOfficer2", "officer", POLICE_CODE)
    await make_invite(h, "HeadOfPolice1", "head", POLICE_CODE)
    await become(h, OFFICER, CODE_OFFICER)
    await become(h, OTHER_OFFICER, "SecondOfficer2")
    await become(h, HEAD, "HeadOfPolice1")
    await consent(h, RESIDENT)
    return h


async def report_urgent(h) -> None:
    await report(h, RESIDENT, KNIFE_FIGHT, field="Neighbours", group="Tổ dân phố số 2")
    h.case_code = CODE.search(h.last(RESIDENT).text).group(0)
    h.reported_at = h.clock.now()


class Told:
    """What each chat receives from here on."""

    def __init__(self, h):
        self.h = h
        self.mark = {chat: len(h.replies(chat)) for chat in STAFF}

    def __call__(self, chat):
        return self.h.replies(chat)[self.mark[chat]:]


async def press_in_group(h, user: str, label: str):
    """A member of the alert group presses a button of the group's latest message that has it."""
    for reply in reversed(h.replies(ALERT_GROUP)):
        for choice in (choice for row in reply.buttons for choice in row):
            if label in choice.label:
                return await h.deliver(Inbound(platform="telegram", bot_id="1", update_id=f"g{len(h.telegram.sent)}",
                                               user=UserRef("telegram", user, "Test", "en"), chat_id=ALERT_GROUP,
                                               chat_type="group", callback=choice.data))
    raise AssertionError(f"no button {label!r} in the alert group")


async def alert_reminders(h) -> list[tuple[str, int]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(ReminderRow.status, ReminderRow.level)
                                         .where(ReminderRow.kind == "urgent_alert").order_by(ReminderRow.id))
        return [tuple(row) for row in rows]


async def events(h, *kinds: str) -> list[tuple[str, dict]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(CaseEventRow.kind, CaseEventRow.data)
                                         .where(CaseEventRow.kind.in_(kinds)).order_by(CaseEventRow.id))
        return [(kind, data) for kind, data in rows]


async def acknowledged(h) -> tuple:
    async with h.uow_factory() as uow:
        return (await uow.session.execute(select(CaseRow.acknowledged_at, CaseRow.acknowledged_by))).one()


async def person_id(h, chat: str) -> int:
    from storage.tables import IdentityRow

    async with h.uow_factory() as uow:
        return await uow.session.scalar(select(IdentityRow.person_id).where(IdentityRow.external_id == chat))


async def test_an_unacknowledged_urgent_case_is_realerted_then_escalated_until_the_group_acknowledges(ward):
    h = ward
    told = Told(h)
    await report_urgent(h)
    [alert] = told(ALERT_GROUP)
    assert alert.text.startswith(f"🚨 Vụ việc KHẨN {h.case_code}") and "cầm dao" in alert.text
    assert alert.buttons[0][0].label == "✅ Đã nắm"  # the group is shared: Vietnamese
    assert await alert_reminders(h) == [("pending", 1)]

    told = Told(h)
    assert await sweep(h, h.reported_at + timedelta(minutes=9, seconds=59)) == 0
    assert await sweep(h, h.reported_at + timedelta(minutes=10)) == 1
    # Nobody is on duty: every officer is re-alerted, not yet the head; the group too.
    for chat in (OFFICER, OTHER_OFFICER):
        [again] = told(chat)
        assert f"Urgent case {h.case_code}" in again.text and "after 10 minutes" in again.text
        assert [choice.label for choice in again.buttons[0]] == ["✅ Acknowledge", "🙋 Take it"]
    assert not told(HEAD)
    assert "sau 10 phút" in told(ALERT_GROUP)[0].text

    await sweep(h, h.reported_at + timedelta(minutes=20))
    told = Told(h)
    await sweep(h, h.reported_at + timedelta(minutes=30))  # the third re-alert reaches the head
    assert [len(told(chat)) for chat in STAFF] == [1, 1, 1, 1]
    assert await events(h, "realerted", "escalated") == [
        ("realerted", {"level": 1, "to": "on_duty"}), ("realerted", {"level": 2, "to": "on_duty"}),
        ("escalated", {"level": 3, "to": "head"})]

    # An officer acknowledges from the group: recorded with who and when, the group told.
    h.clock.current = h.reported_at + timedelta(minutes=33)
    told = Told(h)
    await press_in_group(h, OTHER_OFFICER, "Đã nắm")
    [done] = told(ALERT_GROUP)
    assert f"Vụ việc {h.case_code} đã được" in done.text and "tiếp nhận lúc" in done.text
    at, by = await acknowledged(h)
    assert at == h.reported_at + timedelta(minutes=33) and by == await person_id(h, OTHER_OFFICER)
    assert await alert_reminders(h) == [("cancelled", 4)]

    told = Told(h)
    await sweep(h, h.reported_at + timedelta(minutes=40))
    assert [len(told(chat)) for chat in STAFF] == [0, 0, 0, 0]
    # A second press says who was first, and changes nothing.
    await press_in_group(h, OFFICER, "Đã nắm")
    assert "đã được" in h.last(ALERT_GROUP).text
    assert (await acknowledged(h))[1] == await person_id(h, OTHER_OFFICER)


async def test_acknowledging_from_the_pushed_message_stops_the_realerts(ward):
    h = ward
    await report_urgent(h)
    await sweep(h, h.reported_at + timedelta(minutes=10))
    told = Told(h)
    await h.press("Acknowledge", OFFICER)
    assert "acknowledged" in h.last(OFFICER).text.lower()
    assert f"Vụ việc {h.case_code} đã được" in told(ALERT_GROUP)[0].text
    assert await alert_reminders(h) == [("cancelled", 2)]
    told = Told(h)
    await sweep(h, h.reported_at + timedelta(minutes=50))
    assert not any(told(chat) for chat in STAFF)


async def test_realerts_go_to_the_officers_on_duty(ward):
    h = ward
    await h.send(user=OTHER_OFFICER, text="/duty")
    assert "You are not on duty" in h.last(OTHER_OFFICER).text
    await h.press("Start duty", OTHER_OFFICER)
    assert "You are on duty until 07:30" in h.last(OTHER_OFFICER).text  # the morning handover
    await h.send(user=OFFICER, text="/duty")
    assert "Also on duty: Test" in h.last(OFFICER).text

    await report_urgent(h)
    told = Told(h)
    await sweep(h, h.reported_at + timedelta(minutes=10))
    assert [len(told(chat)) for chat in STAFF] == [0, 1, 0, 1]

    await h.press("End my shift", OTHER_OFFICER)
    assert "You are not on duty" in h.last(OTHER_OFFICER).text
    told = Told(h)
    await sweep(h, h.reported_at + timedelta(minutes=20))  # nobody on duty: every officer
    assert [len(told(chat)) for chat in STAFF] == [1, 1, 0, 1]


async def test_only_police_may_acknowledge_in_the_group_or_keep_duty(ward):
    h = ward
    await report_urgent(h)
    await press_in_group(h, RESIDENT, "Đã nắm")
    assert "Chỉ cán bộ Công an phường" in h.last(ALERT_GROUP).text
    await press_in_group(h, "999", "Đã nắm")  # a stranger in the group
    assert "Chỉ cán bộ Công an phường" in h.last(ALERT_GROUP).text
    assert await acknowledged(h) == (None, None)
    assert await alert_reminders(h) == [("pending", 1)]

    await h.send(user=RESIDENT, text="/duty")
    assert "Only ward police officers" in h.last(RESIDENT).text
    await h.send(user=RESIDENT, callback="k:d:on")
    async with h.uow_factory() as uow:
        assert await uow.duty.on_duty(list(range(1, 100)), h.clock.now()) == []


async def test_a_case_marked_urgent_later_starts_the_alerts(ward):
    h = ward
    await report(h, RESIDENT)  # a wall on the land: not urgent
    h.case_code = CODE.search(h.last(RESIDENT).text).group(0)
    told = Told(h)
    assert await alert_reminders(h) == []
    await open_card(h, OFFICER)
    await h.press("Classify", OFFICER)
    for answer in ("Land", "civil", "simple", "Yes"):
        await h.press(answer, OFFICER)
    await h.send(user=OFFICER, text="4")
    assert f"🚨 Vụ việc KHẨN {h.case_code}" in told(ALERT_GROUP)[0].text
    assert await alert_reminders(h) == [("pending", 1)]


async def test_a_case_acknowledged_before_it_is_marked_urgent_is_not_alerted(ward):
    h = ward
    await report(h, RESIDENT)
    h.case_code = CODE.search(h.last(RESIDENT).text).group(0)
    await h.press("Acknowledge", OFFICER)
    told = Told(h)
    await classify(h, OFFICER)  # urgent: No
    await open_card(h, OFFICER)
    await h.press("Classify", OFFICER)
    for answer in ("Land", "civil", "simple", "Yes"):
        await h.press(answer, OFFICER)
    await h.send(user=OFFICER, text="4")
    assert not told(ALERT_GROUP)
    assert await alert_reminders(h) == []
