"""The core over a real database: consent, the report form, commands, exactly-once handling.

The dispatcher, services, storage and outbox sender are real; only the channel at the edge
records what would be sent.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest

from handlers.dispatch import Dispatcher
from handlers.i18n import CatalogTranslator
from handlers.messages import FileRef, Inbound, Reply, UserRef
from handlers.services import CoreConfig
from scheduler.outbox import OutboxSender
from storage.demo import load_demo_ward

CODE = re.compile(r"HG-\d{4}-\d{6}")
TRANSLATOR = CatalogTranslator()


class ManualClock:
    def __init__(self):
        self.current = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)

    def now(self):
        return self.current


class RecordingChannel:
    def __init__(self, name):
        self.name = name
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, chat_id, payload):
        self.sent.append((chat_id, Reply.from_payload(payload)))


class Harness:
    def __init__(self, uow_factory, config=CoreConfig()):
        self.clock = ManualClock()
        self.uow_factory = uow_factory
        self.telegram = RecordingChannel("telegram")
        self.sender = OutboxSender(uow_factory, {"telegram": self.telegram}, self.clock)
        self.dispatcher = Dispatcher(uow_factory, TRANSLATOR, self.clock, config,
                                     deliver=self.sender.deliver_claimed, lease_seconds=self.sender.lease_seconds)
        self.ids = itertools.count(1)

    async def send(self, user="100", chat_type="private", **fields) -> Inbound:
        inbound = Inbound(platform="telegram", bot_id="1", update_id=str(next(self.ids)),
                          user=UserRef("telegram", user, "Test", "en"), chat_id=user if chat_type == "private" else "-5",
                          chat_type=chat_type, **fields)
        await self.deliver(inbound)
        return inbound

    async def deliver(self, inbound):
        await self.dispatcher.handle(inbound)
        await self.sender.idle()  # replies of the update, sent directly
        while await self.sender.drain_once():  # the rest (alerts), through the sweep
            pass

    def replies(self, chat="100"):
        return [reply for chat_id, reply in self.telegram.sent if chat_id == chat]

    def last(self, chat="100") -> Reply:
        return self.replies(chat)[-1]

    async def press(self, label, user="100"):
        for reply in reversed(self.replies(user)):
            for row in reply.buttons:
                for choice in row:
                    if label in choice.label:
                        return await self.send(user=user, callback=choice.data)
        raise AssertionError(f"no button {label!r}; last: {self.last(user).text!r}")

    async def count(self, table):
        from sqlalchemy import text

        async with self.uow_factory() as uow:
            result = await uow.session.execute(text(f"select count(*) from {table}"))
            return result.scalar_one()


@pytest.fixture
async def harness(uow_factory):
    await load_demo_ward(uow_factory)
    return Harness(uow_factory)


async def consent(h, user="100"):
    await h.send(user=user, text="/start")
    await h.press("English", user)
    await h.press("I agree", user)


async def report(h, user="100", description="The neighbours built a wall on our land last week.", *,
                 field="Land", group="Tổ dân phố số 3", phone=None):
    """A whole resident report, from the menu to the case code."""
    await h.press("Report a dispute", user)
    await h.press(field, user)
    await h.press(group, user)
    await h.send(user=user, text="12 Tran Phu")
    await h.press("Next", user)
    await h.send(user=user, text=description)
    await h.press("3–5", user)
    await h.press("No", user)
    await h.press("Skip", user)
    if phone:
        await h.send(user=user, phone=phone)
    else:
        await h.press("Don't share", user)
    await h.press("Send report", user)


async def test_nothing_is_stored_before_consent(harness):
    await harness.send(text="/start")
    assert "choose your language" in harness.last().text.lower()
    await harness.press("English")
    assert "Personal Data Protection Law" in harness.last().text
    await harness.press("I do not agree")
    assert "nothing was stored" in harness.last().text
    assert await harness.count("people") == 0
    assert await harness.count("identities") == 0
    # pre-consent replies are not kept once sent
    assert await harness.count("outbox where payload is not null") == 0


async def test_consent_then_full_report(harness):
    await consent(harness)
    assert await harness.count("people") == 1
    await report(harness)
    text = harness.last().text
    assert CODE.search(text), text
    assert await harness.count("cases") == 1
    assert await harness.count("form_sessions") == 0
    assert await harness.count("outbox where status <> 'sent'") == 0
    await harness.send(text="/status")
    assert CODE.search(harness.last().text).group() == CODE.search(text).group()
    assert "Land" in harness.last().text and "Received" in harness.last().text


async def test_same_update_twice_changes_nothing(harness):
    await consent(harness)
    await harness.press("Report a dispute")
    inbound = await harness.press("Land")
    sent_before = len(harness.telegram.sent)
    await harness.deliver(inbound)
    assert len(harness.telegram.sent) == sent_before
    assert "Step 2/8" in harness.last().text


async def test_commands_work_in_the_middle_of_a_form(harness):
    await consent(harness)
    await harness.press("Report a dispute")
    await harness.press("Land")
    await harness.send(text="/help")
    replies = harness.replies()
    assert "/report" in replies[-2].text and "Step 2/8" in replies[-1].text
    await harness.send(text="/language")
    await harness.press("Tiếng Việt")
    assert "Bước 2/8" in harness.last().text
    await harness.send(text="/start")
    assert "Bước 2/8" in harness.last().text
    await harness.send(text="/cancel")
    assert "Đã hủy" in harness.last().text
    assert await harness.count("form_sessions") == 0


async def test_form_resumes_from_the_database(harness, uow_factory):
    await consent(harness)
    await harness.press("Report a dispute")
    await harness.press("Land")
    # a new dispatcher and sender, as after a restart, continue at the same step
    restarted = Harness(uow_factory)
    restarted.ids = itertools.count(1000)
    await restarted.send(text="to 4")
    assert "Step 3/8" in restarted.last().text


async def test_abandoned_form_expires(harness):
    await consent(harness)
    await harness.press("Report a dispute")
    harness.clock.current += timedelta(hours=25)
    await harness.send(text="hello")
    assert "expired" in harness.last().text
    assert await harness.count("form_sessions") == 0


async def test_group_chat_gets_a_notice_and_nothing_is_stored(harness):
    await harness.send(chat_type="group", text="/start")
    assert "privately" in harness.last("-5").text
    assert await harness.count("people") == 0


async def test_forged_and_stale_buttons_outside_a_form(harness):
    await consent(harness)
    await harness.send(callback="not-a-real-button")
    assert "could not read" in harness.last().text
    await harness.send(callback="f:abcdef:0:land")
    assert "older message" in harness.last().text


async def test_unknown_command_and_plain_text(harness):
    await consent(harness)
    await harness.send(text="/frobnicate")
    assert "no such command" in harness.replies()[-2].text
    await harness.send(text="hi")
    assert "did not understand" in harness.last().text


async def test_urgent_report_alerts_the_officers_chat(uow_factory):
    await load_demo_ward(uow_factory)
    h = Harness(uow_factory, CoreConfig(alert_chat_id="-999"))
    await consent(h)
    await h.press("Report a dispute")
    await h.press("Neighbours")
    await h.press("Tổ dân phố số 2")
    await h.send(text="Ngõ 7")
    await h.press("Next")
    await h.send(text="Hai nhóm thanh niên cầm dao đánh nhau trước ngõ")
    await h.press("6–10")
    await h.press("No")
    await h.press("Skip")
    await h.send(phone="0912345678")
    await h.press("Send report")
    assert "URGENT" in h.last().text
    alert = h.last("-999").text
    assert CODE.search(alert) and "cầm dao" in alert
    assert "0912345678" not in alert and "+84912345678" not in alert


async def test_attachments_are_stored_with_their_hash(harness):
    await consent(harness)
    await harness.press("Report a dispute")
    await harness.press("Land")
    await harness.press("Tổ dân phố số 1")
    await harness.send(text="Ngõ 1")
    await harness.press("Next")
    await harness.send(text="Tranh chấp ranh giới đất với nhà bên cạnh")
    await harness.press("1–2")
    await harness.press("No")
    await harness.send(files=(FileRef("photo", "file-1", "a" * 64, 1234, "image/jpeg"),))
    await harness.press("Done")
    await harness.press("Don't share")
    await harness.press("Send report")
    assert await harness.count("attachments where sha256 = '" + "a" * 64 + "'") == 1


async def test_a_bug_gets_an_apology_and_the_update_is_not_retried_forever(harness, monkeypatch):
    from handlers import services

    async def broken(conv):
        raise RuntimeError("boom")

    await consent(harness)
    monkeypatch.setattr(services, "after_consent", broken)
    inbound = await harness.send(text="hello")
    assert "Sorry" in harness.last().text
    sent = len(harness.telegram.sent)
    await harness.deliver(inbound)
    assert len(harness.telegram.sent) == sent
