"""The real bot process over real HTTP against the fake Bot API, in polling and webhook mode,
on SQLite and (with HOAGIAI_TEST_POSTGRES_URL) PostgreSQL.

A resident drives the report form by pressing buttons by their label and typing answers; the
bot is killed with SIGKILL in the middle and must lose nothing and do nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time

import aiohttp
import pytest

from tests.e2e.conftest import (
    ADDRESS, BOT_ID, CASE_CODE, DESCRIPTION, LABELS, PROGRESS, WEBHOOK_SECRET, Resident, has_button,
    has_text,
)

# A reply the killed process had leased in the outbox waits for the lease to end (2 minutes).
LEASE_TIMEOUT = 150.0
# The second kill comes this soon after an answer: somewhere in receiving, handling or replying.
KILL_DELAY = 0.02


async def test_resident_reports_a_dispute_and_gets_a_case_code(bot_process, resident, db):
    photo = os.urandom(3000)
    await resident.start_report()
    await resident.answer_up_to_description()
    await resident.say(DESCRIPTION, expect=has_button("people_3_5"))
    code = await resident.finish_from_people(photo=photo)

    assert CASE_CODE.fullmatch(code)
    summary = _summary(resident)
    assert ADDRESS in summary and DESCRIPTION in summary and LABELS["field_land"] in summary
    assert await db.count("cases") == 1
    assert await db.scalar("SELECT code FROM cases") == code
    assert await db.scalar("SELECT sha256 FROM attachments") == hashlib.sha256(photo).hexdigest()


async def test_a_redelivered_update_is_handled_once(bot_process, fake, resident, db):
    await resident.start_report()
    await resident.answer_up_to_description()

    # A typed answer delivered twice: the form moves one step, and answers once.
    description_id = await resident.say(DESCRIPTION, expect=has_button("people_3_5"))
    after_first = resident.mark()
    fake.push_raw(fake.pushed(description_id))
    await fake.wait_until_confirmed(description_id)
    assert fake.handed_out[description_id] >= 2  # the bot did get it twice
    code = await resident.finish_from_people()
    repeated = [m for m in fake.sent_to(resident.chat)[after_first:] if has_button("people_3_5")(m)]
    assert repeated == [], "the duplicate was answered again"

    # The final press delivered twice: one case, one confirmation.
    send_id = max(u["update_id"] for u in fake.history if "callback_query" in u)
    fake.push_raw(fake.pushed(send_id))
    await fake.wait_until_confirmed(send_id)
    assert fake.handed_out[send_id] >= 2
    # A barrier: replies go out in order, so whatever the duplicate caused comes before this.
    barrier = resident.mark()
    await resident.command("/status", expect=has_text(code))
    codes = [t for t in resident.texts()[:barrier] if CASE_CODE.search(t)]
    assert len(codes) == 1, codes
    assert await db.count("cases") == 1
    assert await db.count("inbound_updates", "update_id = :id", id=str(description_id)) == 1


async def test_killed_mid_form_the_bot_resumes_where_it_was(bot_process, fake, resident, db, mode):
    await resident.start_report()
    await resident.answer_up_to_description()

    # Killed while idle at step 4; the resident answers while nothing listens.
    bot_process.kill()
    mark = resident.mark()
    answered_while_down = fake.push_text(resident.user_id, DESCRIPTION)
    if mode == "webhook":
        await _eventually(lambda: fake.webhook is not None and len(fake.webhook.failures) >= 2)
    else:
        await asyncio.sleep(0.5)
    await bot_process.start()
    await resident.expect(has_button("people_3_5"), after=mark)

    # Killed again right after the next answer arrives: it is handled once, before or after.
    mark = resident.mark()
    await resident.press("people_3_5")
    await asyncio.sleep(KILL_DELAY)
    bot_process.kill()
    await bot_process.start()
    await resident.expect(has_button("danger_no"), after=mark, timeout=LEASE_TIMEOUT)

    await resident.finish_from_danger()
    summary = _summary(resident)
    assert ADDRESS in summary and DESCRIPTION in summary and LABELS["field_land"] in summary
    mark = resident.mark()
    await resident.press("send")
    await resident.expect(has_text(CASE_CODE), after=mark)
    assert await db.count("cases") == 1
    assert await db.count("inbound_updates", "update_id = :id", id=str(answered_while_down)) == 1


@pytest.mark.parametrize("mode", ["webhook"])
@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["missing", "wrong"])
async def test_webhook_with_a_bad_secret_is_refused_and_stores_nothing(bot_process, fake, db, secret):
    update = {"update_id": 777001, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": 6001, "type": "private", "first_name": "Mallory"},
        "from": {"id": 6001, "is_bot": False, "first_name": "Mallory", "language_code": "en"}}}
    fake.add_chat(6001)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret

    assert await _post(f"{bot_process.url}/telegram/webhook", update, headers) == 403
    assert await db.count("inbound_updates") == 0
    assert await db.count("outbox", "chat_id = '6001'") == 0
    assert await db.count("people") == 0 and await db.count("cases") == 0

    # The same call with the real secret is taken: the refusal was about the secret alone.
    headers["X-Telegram-Bot-Api-Secret-Token"] = WEBHOOK_SECRET
    assert await _post(f"{bot_process.url}/telegram/webhook", update, headers) == 200
    assert await db.count("inbound_updates", "update_id = :id AND bot_id = :bot", id="777001", bot=BOT_ID) == 1
    await fake.wait_for("6001", 1)


async def test_sigterm_stops_the_bot_promptly_and_cleanly(bot_process, fake, resident):
    await resident.command("/start", expect=has_button("english"))
    started = time.monotonic()
    assert await bot_process.stop() == 0, bot_process.output()
    assert time.monotonic() - started < 10


# --- helpers ----------------------------------------------------------------------------------

def _summary(resident: Resident) -> str:
    """The newest summary shown at the last step."""
    marker = PROGRESS.format(n=8)
    return next((t for t in reversed(resident.texts()) if marker in t), "")


async def _post(url: str, body: dict, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=json.dumps(body), headers=headers) as response:
            return response.status


async def _eventually(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
