"""Issue 4 over the real process and real HTTP (the fake Bot API): an urgent report alerts the
police's alert group at once; the scheduler's sweep (APScheduler, in the running bot) re-alerts
the officers and the group until someone acknowledges, then the head too; an officer presses
Acknowledge in the group, the group learns who did, and the re-alerts stop. Re-alerts are set to
every 3 seconds and the sweep to every second, so the test takes seconds, not half an hour.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.e2e.conftest import CASE_CODE, DESCRIPTION, BotProcess, Database, Resident, has_button, has_text
from tests.e2e.test_workflow_e2e import POLICE, User, invite
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.parametrize("mode", ["polling"], indirect=True)

ALERT_GROUP = -100500
FAST = {"HOAGIAI_ALERT_CHAT_ID": str(ALERT_GROUP), "HOAGIAI_URGENT_REALERT_MINUTES": "0.05",
        "HOAGIAI_URGENT_ESCALATE_AFTER": "2", "HOAGIAI_SWEEP_SECONDS": "1"}
AGAIN = re.compile(r"has not been acknowledged after \d+ minutes")


async def test_an_urgent_case_is_realerted_until_acknowledged_in_the_alert_group(
        bot_process: BotProcess, fake: FakeTelegram, resident: Resident, db: Database):
    await bot_process.stop()
    bot_process.env.update(FAST)
    await bot_process.start()
    fake.add_chat(ALERT_GROUP, "group", title="Công an phường – trực ban")
    officer, head = User(fake, 5101, "Minh"), User(fake, 5110, "Quang")
    for user in (officer, head):
        fake.add_user(user.user_id, user.name, last_name="Staff", language_code="en")
    officer_code, head_code = await asyncio.gather(invite(bot_process, "officer", POLICE),
                                                   invite(bot_process, "head", POLICE))
    await officer.join_after_consent(officer_code, "ward police officer in Công an phường")
    await head.join_after_consent(head_code, "head of the ward police in Công an phường")

    # The resident says someone is in danger now: an urgent case.
    await resident.start_report()
    await resident.answer_up_to_description()
    await resident.say(DESCRIPTION, expect=has_button("people_3_5"))
    await resident.press("people_3_5", expect=has_button("danger_no"))
    mark = resident.mark()
    fake.press(resident.user_id, "Yes")
    await resident.expect(has_button("skip"), after=mark)
    await resident.press("skip", expect=has_button("dont_share"))
    await resident.press("dont_share", expect=has_button("send"))
    mark = resident.mark()
    await resident.press("send")
    code = CASE_CODE.search((await resident.expect(has_text(CASE_CODE), after=mark))["text"]).group(0)

    group = User(fake, ALERT_GROUP, "group")
    alert = await group.expect(f"Vụ việc KHẨN {code}", after=0)
    assert any("Đã nắm" in label for label, _ in alert["buttons"])

    # Nobody acknowledges: the officer and the group are alerted again, then the head too.
    again = await officer.expect(AGAIN, code, after=0)
    assert any("Acknowledge" in label for label, _ in again["buttons"])
    await group.expect("CHƯA AI TIẾP NHẬN", code, after=1)
    await head.expect(AGAIN, code, after=0, timeout=30)

    # The officer acknowledges from the alert group.
    mark = group.mark()
    fake.press(officer.user_id, "Đã nắm", chat_id=ALERT_GROUP)
    done = await group.expect(f"Vụ việc {code} đã được Minh", after=mark)
    assert "tiếp nhận lúc" in done["text"]
    assert await db.count("cases c join identities i on i.person_id = c.acknowledged_by",
                          "i.external_id = :officer and c.acknowledged_at is not null", officer=officer.chat) == 1
    assert await db.count("reminders", "kind = 'urgent_alert' and status = 'cancelled'") == 1
    assert await db.count("case_events", "kind = 'escalated'") == 1

    # No more re-alerts: several sweeps later the officer has nothing new.
    seen = len([t for t in officer.texts() if AGAIN.search(t)])
    await asyncio.sleep(5)
    assert len([t for t in officer.texts() if AGAIN.search(t)]) == seen
    group_texts = " ".join(m["text"] or "" for m in fake.sent_to(str(ALERT_GROUP)))
    assert "Lan" not in group_texts and "Nguyen" not in group_texts  # never the reporter
