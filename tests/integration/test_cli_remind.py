"""`hoagiai remind --at ... --dry-run`: what the reminder sweep would send at a given moment,
listed from the real sweep code, with nothing written. Time is given, never waited for.

The `police` harness (tests/integration/test_reminders.py): a case reported on Sunday 22/11/2026
09:00 in Hanoi, classifying due Monday 23/11 17:00 with no earlier reminder; two officers (chats
200, 201) and a head (210) of the ward police; 24/11 is a public holiday.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import func, select

from bot.cli import main
from handlers.messages import Outgoing, Reply
from scheduler.jobs import preview_sweep
from storage.tables import CaseEventRow, OutboxRow, ReminderRow
from tests.integration.test_case_actions import classify, timed  # noqa: F401 (fixture)
from tests.integration.test_conversation import TRANSLATOR
from tests.integration.test_reminders import (  # noqa: F401 (fixture)
    HEAD, OFFICER, OTHER_OFFICER, RESIDENT, copy_first_reminder, hanoi, police, sweep,
)


@pytest.fixture
def remind(database_url, monkeypatch, tmp_path, capsys):
    """`hoagiai remind ARGS` in this process, on the test's database, with no other settings;
    returns the exit code, stdout and stderr."""
    for key in [key for key in os.environ if key.startswith("HOAGIAI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOAGIAI_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no .env file

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, ["remind", *args])  # main runs its own event loop
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def snapshot(h) -> tuple:
    """What a sweep writes: outbox rows, case events, and each reminder's state."""
    async with h.uow_factory() as uow:
        session = uow.session
        return (await session.scalar(select(func.count()).select_from(OutboxRow)),
                await session.scalar(select(func.count()).select_from(CaseEventRow)),
                (await session.execute(select(ReminderRow.id, ReminderRow.status, ReminderRow.level,
                                              ReminderRow.due_at, ReminderRow.updated_at)
                                       .order_by(ReminderRow.id))).all())


def blocks(out: str) -> list[str]:
    """The message blocks of the output, each as one string."""
    return [block for block in out.split("\n\n") if block.startswith("[")]


async def test_nothing_is_listed_before_the_deadline(police, remind):
    before = await snapshot(police)
    code, out, err = await remind("--at", "2026-11-23 16:59", "--dry-run")
    assert code == 0, err
    assert out.startswith("Reminder sweep at 2026-11-23 16:59 Asia/Ho_Chi_Minh (2026-11-23 09:59 UTC), dry run: "
                          "0 reminders due, 0 messages would be sent")
    assert "Nothing would be sent at 2026-11-23 16:59 Asia/Ho_Chi_Minh (2026-11-23 09:59 UTC)." in out
    assert await snapshot(police) == before


async def test_the_listed_messages_are_the_ones_the_sweep_then_sends(police, remind):
    h = police
    before = await snapshot(h)
    code, out, err = await remind("--at", "2026-11-23T17:00", "--dry-run")
    assert code == 0, err
    assert "1 reminder due, 3 messages would be sent" in out
    listed = blocks(out)
    assert [block.split("\n")[0] for block in listed] == [
        f"[1] 2026-11-23 17:00  telegram  to Test (chat {OFFICER})",
        f"[2] 2026-11-23 17:00  telegram  to Test (chat {OTHER_OFFICER})",
        f"[3] 2026-11-23 17:00  telegram  to Test (chat {HEAD})",
    ]
    assert all(f"case {h.case_code}, step_due reminder" in block for block in listed)
    assert await snapshot(h) == before  # nothing written, nothing sent
    assert not any(h.replies(chat)[-1].text.startswith(f"Case {h.case_code} is OVERDUE") for chat in (OFFICER, HEAD))

    sent = len(h.telegram.sent)
    assert await sweep(h, hanoi(23, 11, 17)) == 1  # the real sweep at that moment
    for block, (chat, reply) in zip(listed, h.telegram.sent[sent:], strict=True):
        assert f"(chat {chat})" in block
        assert reply.text.split("\n")[0] in block


async def test_the_assignee_is_listed_at_the_reminder_time_then_the_escalation(police, remind):
    h = police
    await h.send(user=OTHER_OFFICER, text=f"/case {h.case_code}")
    await h.press("Take it", OTHER_OFFICER)
    await classify(h)  # step 2, verify: due Monday 30/11 17:00, reminded Friday 27/11 17:00
    before = await snapshot(h)

    code, out, _ = await remind("--at", "2026-11-27 16:59", "--dry-run")
    assert code == 0 and "Nothing would be sent" in out
    code, out, _ = await remind("--at", "2026-11-27 17:00", "--dry-run")
    [block] = blocks(out)
    assert f"to Test (chat {OTHER_OFFICER})" in block
    assert f'Case {h.case_code}: the step "Verify" is due soon, by 30/11/2026 17:00.' in block
    code, out, _ = await remind("--at", "2026-11-30 17:00", "--dry-run")
    [block] = blocks(out)
    assert f"(chat {OTHER_OFFICER})" in block and "is OVERDUE" in block
    assert await snapshot(h) == before

    assert await sweep(h, hanoi(27, 11, 17)) == 1
    assert await sweep(h, hanoi(30, 11, 17)) == 1
    before = await snapshot(h)
    code, out, _ = await remind("--at", "2026-12-01 17:00", "--dry-run")  # the other officers, not the assignee
    [block] = blocks(out)
    assert f"(chat {OFFICER})" in block and "overdue for a working day" in block
    code, out, _ = await remind("--at", "2026-12-03 09:00", "--dry-run")  # two days late: level 2 still
    assert [f"(chat {OFFICER})" in block for block in blocks(out)] == [True]
    assert await snapshot(h) == before


async def test_batches_are_repeated_until_nothing_is_due(police):
    h = police
    await copy_first_reminder(h, 4)  # 5 due reminders, 3 police chats each
    before = await snapshot(h)
    preview = await preview_sweep(h.uow_factory, TRANSLATOR, h.dispatcher.config, hanoi(23, 11, 17), limit=2)
    assert (preview.acted, len(preview.messages), preview.complete) == (5, 15, True)
    assert {message.chat_id for message in preview.messages} == {OFFICER, OTHER_OFFICER, HEAD}
    assert RESIDENT not in {message.chat_id for message in preview.messages}
    assert await snapshot(h) == before


async def test_a_bad_moment_or_a_real_run_is_refused(police, remind):
    before = await snapshot(police)
    for value in ("23/11/2026 17:00", "2026-11-23", "tomorrow"):
        code, out, err = await remind("--at", value, "--dry-run")
        assert code == 2 and not out
        assert f"--at must be a local time like \"2026-12-21 08:00\" (YYYY-MM-DD HH:MM, Asia/Ho_Chi_Minh), " \
               f"not {value!r}" in err
    code, _, err = await remind("--at", "2026-11-23 17:00")
    assert code == 2 and "only a dry run is supported: add --dry-run" in err
    assert await snapshot(police) == before


async def test_messages_already_waiting_in_the_outbox_are_listed_apart(police, remind):
    async with police.uow_factory() as uow:
        await uow.outbox.add(Outgoing("telegram", HEAD, Reply("Họp giao ban lúc 8:00\nPhòng 2")), hanoi(23, 11, 7))
        await uow.commit()
    code, out, err = await remind("--at", "2026-11-23 16:00", "--dry-run")
    assert code == 0, err
    assert "0 messages would be sent, 1 message already queued" in out
    assert f"Already queued in the outbox, due by then:\n  2026-11-23 07:00  telegram  chat {HEAD}  " \
           "Họp giao ban lúc 8:00 / Phòng 2" in out
