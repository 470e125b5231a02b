"""The sweep for step deadlines over a real database: reminders, overdue, the escalation chain,
stale reminders cancelled, exactly-once effects with a crash or two workers. Time is moved on a
manual clock, never slept.

The case of the `timed` harness is reported on Sunday 22/11/2026 09:00 in Hanoi; classifying it
is due Monday 23/11 17:00 (no earlier reminder fits), and 24/11 is a public holiday.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

import handlers.reminders
from scheduler.jobs import sweep_reminders
from storage.demo import POLICE_CODE
from storage.tables import CaseEventRow, CaseRow, OutboxRow, ReminderRow
from tests.integration.test_case_actions import OFFICER, RESIDENT, classify, timed  # noqa: F401 (fixture)
from tests.integration.test_conversation import TRANSLATOR
from tests.integration.test_staff_conversation import become, make_invite

OTHER_OFFICER, HEAD = "201", "210"
STAFF = (OFFICER, OTHER_OFFICER, HEAD, RESIDENT)


def hanoi(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026 given in the ward's local time."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture
async def police(timed):
    """The timed harness with a second officer and a head of the ward police."""
    h = timed
    await make_invite(h, "SecondOfficer2", "officer", POLICE_CODE)
    await make_invite(h, "HeadOfPolice1", "head", POLICE_CODE)
    await become(h, OTHER_OFFICER, "SecondOfficer2")
    await become(h, HEAD, "HeadOfPolice1")
    return h


class Told:
    """What each chat receives from here on."""

    def __init__(self, h):
        self.h = h
        self.mark = {chat: len(h.replies(chat)) for chat in STAFF}

    def __call__(self, chat):
        return self.h.replies(chat)[self.mark[chat]:]


async def sweep(h, at: datetime | None = None, **options) -> int:
    """Run the sweep at `at`, then send what it queued."""
    if at is not None:
        h.clock.current = at
    count = await sweep_reminders(h.uow_factory, TRANSLATOR, h.clock, h.dispatcher.config, **options)
    while await h.sender.drain_once():
        pass
    return count


async def events(h, *kinds: str) -> list[tuple[str, dict]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(CaseEventRow.kind, CaseEventRow.data)
                                         .where(CaseEventRow.kind.in_(kinds)).order_by(CaseEventRow.id))
        return [(kind, data) for kind, data in rows]


async def reminders(h) -> list[tuple[str, str, int, datetime]]:
    async with h.uow_factory() as uow:
        rows = await uow.session.execute(select(ReminderRow.status, ReminderRow.rule_id, ReminderRow.level,
                                                ReminderRow.due_at).order_by(ReminderRow.id))
        return [tuple(row) for row in rows]


async def outbox_rows(h, *where) -> int:
    async with h.uow_factory() as uow:
        return await uow.session.scalar(select(func.count()).select_from(OutboxRow).where(*where))


async def copy_first_reminder(h, times: int) -> int:
    """More pending rows like the case's first one: as a busy ward would have (one per case), or
    a stale one a sweep had read just before the case moved on. Returns the last new id."""
    async with h.uow_factory() as uow:
        row = (await uow.session.execute(select(ReminderRow.__table__).order_by(ReminderRow.id).limit(1))).one()
        values = {**{key: value for key, value in row._mapping.items() if key != "id"}, "status": "pending"}
        await uow.session.execute(insert(ReminderRow), [values] * times)
        last = await uow.session.scalar(select(func.max(ReminderRow.id)))
        await uow.commit()
    return last


async def case_id(h) -> int:
    async with h.uow_factory() as uow:
        return await uow.session.scalar(select(CaseRow.id))


async def test_an_unassigned_overdue_step_climbs_the_whole_chain(police):
    h = police
    told = Told(h)
    assert await sweep(h, hanoi(23, 11, 16, 59)) == 0  # a minute before the deadline: nothing
    assert not any(told(chat) for chat in STAFF)

    # Classifying had no earlier reminder, so the first message says "overdue" at once, to every
    # officer and head of the ward police, since nobody has taken the case.
    assert await sweep(h, hanoi(23, 11, 17)) == 1
    for chat in (OFFICER, OTHER_OFFICER, HEAD):
        [message] = told(chat)
        assert f"Case {h.case_code} is OVERDUE" in message.text
        assert '"Receive and classify" was due 23/11/2026 17:00' in message.text
        assert message.buttons[0][0].data == f"k:o:{await case_id(h)}"
    assert not told(RESIDENT)  # never the reporter
    assert await events(h, "overdue", "escalated") == [("overdue", {"level": 1, "to": "in_charge"})]
    # One working day later: 24/11 is a public holiday, so Wednesday 25/11 17:00.
    assert await reminders(h) == [("pending", "dispute.classify", 2, hanoi(25, 11, 17))]

    told = Told(h)
    assert await sweep(h, hanoi(25, 11, 16, 59)) == 0
    assert await sweep(h, hanoi(25, 11, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [1, 1, 0, 0]  # the officers, not the head
    assert "overdue for a working day" in told(OFFICER)[0].text
    assert "In charge: nobody has taken it yet" in told(OFFICER)[0].text
    assert await reminders(h) == [("pending", "dispute.classify", 3, hanoi(26, 11, 17))]

    told = Told(h)
    assert await sweep(h, hanoi(26, 11, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [0, 0, 1, 0]
    assert f"For the head of the ward police: case {h.case_code} is still overdue" in told(HEAD)[0].text
    assert await events(h, "overdue", "escalated") == [
        ("overdue", {"level": 1, "to": "in_charge"}),
        ("escalated", {"level": 2, "to": "officers"}),
        ("escalated", {"level": 3, "to": "head"}),
    ]
    assert await reminders(h) == [("done", "dispute.classify", 3, hanoi(26, 11, 17))]
    assert await sweep(h, hanoi(10, 12, 9)) == 0  # the chain has ended

    await h.send(user=HEAD, text=f"/history {h.case_code}")
    history = h.last(HEAD).text
    assert "step overdue" in history and history.count("overdue case escalated") == 2


async def test_the_assignee_is_reminded_before_the_deadline_then_escalated_past(police):
    h = police
    await h.send(user=OTHER_OFFICER, text=f"/case {h.case_code}")
    await h.press("Take it", OTHER_OFFICER)
    await classify(h)  # step 2, verify: due Monday 30/11 17:00, reminded Friday 27/11 17:00
    told = Told(h)
    assert await sweep(h, hanoi(27, 11, 16, 59)) == 0

    assert await sweep(h, hanoi(27, 11, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [0, 1, 0, 0]  # only the officer who took it
    assert f'Case {h.case_code}: the step "Verify" is due soon, by 30/11/2026 17:00.' in told(OTHER_OFFICER)[0].text
    assert await events(h, "overdue", "escalated") == []
    assert await reminders(h) == [("cancelled", "dispute.classify", 0, hanoi(23, 11, 17)),
                                  ("pending", "dispute.verify", 1, hanoi(30, 11, 17))]

    assert await sweep(h, hanoi(30, 11, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [0, 2, 0, 0]
    assert "is OVERDUE" in told(OTHER_OFFICER)[1].text

    assert await sweep(h, hanoi(1, 12, 17)) == 1  # Tuesday 1/12: the other officers, not the assignee
    assert [len(told(chat)) for chat in STAFF] == [1, 2, 0, 0]
    assert "overdue for a working day" in told(OFFICER)[0].text and "In charge: Test" in told(OFFICER)[0].text
    assert await sweep(h, hanoi(2, 12, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [1, 2, 1, 0]


async def test_moving_the_case_on_ends_the_chain_of_the_old_step(police):
    h = police
    await classify(h)  # step 2: the reminder of step 1 is cancelled and one for step 2 written
    stale_id = await copy_first_reminder(h, 1)  # step 1's, still pending: it raced with the move
    told = Told(h)

    assert await sweep(h, hanoi(23, 11, 17)) == 1  # the stale copy, cancelled without a word
    assert not any(told(chat) for chat in STAFF)
    assert await events(h, "overdue", "escalated") == []
    statuses = {rule: status for status, rule, _, _ in await reminders(h) if rule == "dispute.verify"}
    assert statuses == {"dispute.verify": "pending"}
    async with h.uow_factory() as uow:
        assert await uow.session.scalar(select(ReminderRow.status).where(ReminderRow.id == stale_id)) == "cancelled"

    assert await sweep(h, hanoi(27, 11, 17)) == 1  # the new step's reminder is acted on
    assert "Verify" in told(OFFICER)[0].text and "due soon" in told(OFFICER)[0].text


async def test_a_sweep_run_twice_at_the_same_moment_sends_nothing_twice(police):
    h = police
    told = Told(h)
    assert await sweep(h, hanoi(23, 11, 17)) == 1
    outbox = await outbox_rows(h)
    assert await sweep(h, hanoi(23, 11, 17)) == 0
    assert await outbox_rows(h) == outbox
    assert [len(told(chat)) for chat in STAFF] == [1, 1, 1, 0]
    assert len(await events(h, "overdue")) == 1


async def test_two_sweeps_at_once_act_on_each_reminder_once(police):
    h = police
    await copy_first_reminder(h, 39)  # 40 due reminders
    h.clock.current = hanoi(23, 11, 17)
    first, second = await asyncio.gather(
        sweep_reminders(h.uow_factory, TRANSLATOR, h.clock, h.dispatcher.config, limit=7),
        sweep_reminders(h.uow_factory, TRANSLATOR, h.clock, h.dispatcher.config, limit=7),
    )
    assert first + second == 40
    assert len(await events(h, "overdue")) == 40
    assert [level for _, _, level, _ in await reminders(h)] == [2] * 40
    assert await outbox_rows(h, OutboxRow.dedupe_key.like("reminder:%")) == 40 * 3  # 3 police chats each
    sent = len(h.telegram.sent)
    while await h.sender.drain_once():
        pass
    assert len(h.telegram.sent) - sent == 120


class Killed(BaseException):
    """The process dies mid-sweep: nothing in the sweep may catch it (like a SIGKILL)."""


async def test_a_sweep_killed_midway_leaves_everything_for_the_next(police, monkeypatch):
    h = police
    await copy_first_reminder(h, 2)  # 3 due reminders
    outbox = await outbox_rows(h)
    real_act = handlers.reminders.act_batch

    async def killed_before_commit(uow, t, config, due, now):
        await real_act(uow, t, config, due, now)  # every effect written, none committed
        raise Killed()

    monkeypatch.setattr(handlers.reminders, "act_batch", killed_before_commit)
    with pytest.raises(Killed):
        await sweep(h, hanoi(23, 11, 17))
    assert [(status, level) for status, _, level, _ in await reminders(h)] == [("pending", 0)] * 3
    assert await outbox_rows(h) == outbox
    assert await events(h, "overdue", "escalated") == []

    monkeypatch.setattr(handlers.reminders, "act_batch", real_act)
    told = Told(h)
    assert await sweep(h, hanoi(23, 11, 17, 1)) == 3
    assert await outbox_rows(h) == outbox + 9  # 3 reminders × 3 police chats
    assert [len(told(chat)) for chat in STAFF] == [3, 3, 3, 0]
    assert len(await events(h, "overdue")) == 3


async def test_a_reminder_that_keeps_failing_is_set_aside_and_holds_back_nothing(police, monkeypatch, caplog):
    h = police
    poison = await copy_first_reminder(h, 2)  # 3 due reminders; the last one's action always raises
    real_act = handlers.reminders.act_batch

    async def failing(uow, t, config, due, now):
        if any(reminder.id == poison for reminder in due):
            raise ValueError("bad data in this reminder")
        await real_act(uow, t, config, due, now)

    monkeypatch.setattr(handlers.reminders, "act_batch", failing)
    told = Told(h)
    await sweep(h, hanoi(23, 11, 17))
    assert [len(told(chat)) for chat in STAFF] == [2, 2, 2, 0]  # the two others went out
    async with h.uow_factory() as uow:
        row = (await uow.session.execute(select(ReminderRow.status, ReminderRow.attempts, ReminderRow.due_at,
                                                ReminderRow.data).where(ReminderRow.id == poison))).one()
    assert (row.status, row.attempts) == ("pending", 1) and "bad data" in row.data["error"]
    assert row.due_at == hanoi(23, 11, 17, 5)  # tried again 5 minutes later, then 10, 20, 40

    moment = hanoi(23, 11, 17)
    for wait in (5, 10, 20, 40):
        moment += timedelta(minutes=wait)
        await sweep(h, moment)
    async with h.uow_factory() as uow:
        status, attempts = (await uow.session.execute(select(ReminderRow.status, ReminderRow.attempts)
                                                      .where(ReminderRow.id == poison))).one()
    assert (status, attempts) == ("failed", 5)
    assert "set_aside=True" in caplog.text


async def test_a_step_assigned_to_a_mediation_team_reminds_its_mediators_out_of_quiet_hours(police):
    from tests.integration.test_case_actions import choose_mediation_for_team, verify
    from storage.demo import WARD_CODE

    h = police
    await make_invite(h, "MediatorInvite3", "mediator", f"{WARD_CODE}-tdp-3-hg")
    await become(h, "400", "MediatorInvite3")
    await classify(h)
    await verify(h)
    await choose_mediation_for_team(h)
    [(status, rule, level, due)] = [r for r in await reminders(h) if r[0] == "pending"]
    assert rule == "dispute.resolve.mediation" and level == 0
    evening = datetime.combine(due.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date(), datetime.min.time(),
                               ZoneInfo("Asia/Ho_Chi_Minh")).replace(hour=22)
    assert evening >= due

    mediator_before, officers_before = len(h.replies("400")), [len(h.replies(chat)) for chat in STAFF]
    assert await sweep(h, evening) == 1
    assert [len(h.replies(chat)) for chat in STAFF] == officers_before  # the team has it, not the police
    assert len(h.replies("400")) == mediator_before  # 22:00: waits for the morning
    await sweep(h, evening + timedelta(hours=9))  # 07:00
    [reminded] = h.replies("400")[mediator_before:]
    assert h.case_code in reminded.text


async def test_a_wards_own_escalation_tells_the_head_two_working_days_after_overdue(police):
    from dataclasses import replace

    h = police
    h.dispatcher.config = replace(h.dispatcher.config, escalation=(("head", 2),))
    assert await sweep(h, hanoi(23, 11, 17)) == 1  # overdue, to everyone in charge
    told = Told(h)
    # Two working days after Monday 23/11 17:00, past the holiday on 24/11: Thursday 26/11 17:00.
    assert await reminders(h) == [("pending", "dispute.classify", 2, hanoi(26, 11, 17))]
    assert await sweep(h, hanoi(26, 11, 17)) == 1
    assert [len(told(chat)) for chat in STAFF] == [0, 0, 1, 0]  # the head, not the officers
    assert f"For the head of the ward police: case {h.case_code} is still overdue" in told(HEAD)[0].text
    assert await reminders(h) == [("done", "dispute.classify", 2, hanoi(26, 11, 17))]
