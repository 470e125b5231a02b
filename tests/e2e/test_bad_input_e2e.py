"""Bad input over real HTTP against the real bot: each gets a clear answer, nothing crashes,
and the form is still where it was."""

from __future__ import annotations

import unicodedata

import pytest

from tests.e2e.conftest import LABELS, has_text, step
from tests.fakes.fake_telegram import DEFAULT_GROUP_ID

pytestmark = pytest.mark.parametrize("mode", ["polling"], indirect=True)


async def test_bad_input_gets_a_clear_message_and_loses_nothing(bot_process, fake, resident, db):
    await resident.start_report()
    await resident.answer_up_to_description()
    first_land_button = _button_data(fake, resident.chat, LABELS["field_land"])

    checks = [
        (lambda: fake.push_text(resident.user_id, " "), "empty"),
        (lambda: fake.push_text(resident.user_id, "x" * 20_000), "Too long (20000 characters"),
        (lambda: fake.push_text(resident.user_id, "😡🔥😡🔥😡🔥😡🔥😡🔥"), "not only symbols"),
        (lambda: fake.push_sticker(resident.user_id), "cannot use a sticker"),
        (lambda: fake.push_voice(resident.user_id), "cannot use a voice message"),
        (lambda: fake.push_callback(resident.user_id, first_land_button), "older message"),
        (lambda: fake.push_callback(resident.user_id, "f:forged:99:drop table"), "older message"),
        (lambda: fake.push_callback(resident.user_id, "💥 not ours"), "could not read"),
    ]
    for push, expected in checks:
        mark = resident.mark()
        push()
        reply = await resident.expect(has_text(expected), after=mark)
        assert "Step 4/8" in reply["text"], reply["text"]

    # Vietnamese typed in decomposed form (NFD) is taken and stored composed (NFC).
    decomposed = unicodedata.normalize("NFD", "Nhà bên cạnh xây tường lấn sang đất nhà tôi.")
    await resident.say(decomposed, expect=step(5))
    await resident.finish_from_people()
    stored = await db.scalar("SELECT summary FROM cases")
    assert stored == unicodedata.normalize("NFC", decomposed)


async def test_a_message_in_a_group_chat_is_answered_and_nothing_is_stored(bot_process, fake, db):
    fake.push_text(777, "/start", chat_type="group")
    await fake.wait_for(str(DEFAULT_GROUP_ID), has_text("privately"), 20.0)
    assert await db.count("people") == 0 and await db.count("cases") == 0


def _button_data(fake, chat, label):
    for message in fake.sent_to(chat):
        for button_label, data in message["buttons"]:
            if button_label == label:
                return data
    raise AssertionError(f"no button {label!r} was ever sent")

