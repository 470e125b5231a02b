"""An abandoned form gets one reminder before it expires, in the chat it was filled in, with
Continue and Cancel; at night the reminder waits for the morning and the form is kept for it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.tables import FormSessionRow
from tests.integration.test_conversation import consent, harness  # noqa: F401 (fixture)
from tests.integration.test_reminders import hanoi, sweep

REMINDER = "You have a form you did not finish"


async def form_row(h):
    async with h.uow_factory() as uow:
        return (await uow.session.execute(select(FormSessionRow.expires_at, FormSessionRow.reminded_at))).first()


def reminders_to(h, user="100"):
    return [reply for reply in h.replies(user) if REMINDER in reply.text]


async def test_one_reminder_before_expiry_then_continue_where_it_stopped(harness):
    h = harness
    await consent(h)
    await h.press("Report a dispute")
    await h.press("Land")  # Sunday 22/11 09:00 in Hanoi; the form expires 24 hours later
    started = h.clock.now()
    assert await sweep(h, started + timedelta(hours=20, minutes=59)) == 0
    assert not reminders_to(h)

    await sweep(h, started + timedelta(hours=21))  # 3 hours before expiry: 06:00 in Hanoi, quiet
    assert not reminders_to(h)  # stored, waiting for 07:00
    expires_at, reminded_at = await form_row(h)
    assert reminded_at == started + timedelta(hours=21)
    assert expires_at == hanoi(23, 11, 10)  # kept 3 hours after the reminder goes out at 07:00
    await sweep(h, hanoi(23, 11, 6, 59))
    assert not reminders_to(h)
    await sweep(h, hanoi(23, 11, 7))
    [reminder] = reminders_to(h)
    assert "until 10:00 23/11" in reminder.text
    await sweep(h, hanoi(23, 11, 8))
    assert len(reminders_to(h)) == 1  # once

    await h.press("Continue")
    assert "Step 2/8" in h.last().text  # where it stopped: the residential group
    await h.press("Tổ dân phố số 1")
    assert (await form_row(h))[1] is None  # answering again resets the reminder


async def test_a_form_left_in_the_evening_is_kept_until_after_the_morning_reminder(harness):
    h = harness
    await consent(h)
    h.clock.current = hanoi(22, 11, 23)  # 23:00: the form would expire 23:00 the next day
    await h.press("Report a dispute")
    await h.press("Land")
    await sweep(h, hanoi(23, 11, 20))  # 3 hours before: 20:00, not quiet
    [reminder] = reminders_to(h)
    assert "until 23:00 23/11" in reminder.text


async def test_cancel_from_the_reminder(harness):
    h = harness
    await consent(h)
    h.clock.current = hanoi(22, 11, 20)
    await h.press("Report a dispute")
    await sweep(h, hanoi(23, 11, 17, 30))
    await h.press("Cancel")
    assert "cancelled" in h.last().text.lower()
    assert await form_row(h) is None
