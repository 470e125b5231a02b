"""The Telegram adapter over real HTTP: PTB's real `Bot` against the fake Bot API server.

The core is replaced by a recording `handle`, which can be told to fail or to wait, so these
tests pin the adapter's promises: every kind of message maps to the right `Inbound`, and an
update is confirmed (polling offset, webhook 200) only after `handle` returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, TelegramError

from bot.telegram.client import bot_id_from_token, make_bot
from bot.telegram.inbound import to_inbound
from bot.telegram.limits import TELEGRAM_LIMITS, is_group_chat
from bot.telegram.outbound import BUTTONS_TEXT, MAX_TEXT, TelegramChannel, split_text
from bot.telegram.polling import poll_updates
from bot.telegram.webhook import SECRET_HEADER, register_webhook, webhook_route
from handlers.messages import Choice, Inbound, Location, Outgoing, Reply, ShareRequest
from handlers.ports import PermanentFailure, RetryLater
from scheduler.outbox import OutboxSender
from tests.fakes import FakeTelegram
from tests.fakes.fake_telegram import RateLimits

# PTB's RetryAfter warns about its own int/timedelta migration when it is built.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

MAX_FILE = 1_000_000
SECRET = "s3cret-Token_1"
USER = 42


class Recorder:
    """A stand-in for the core's `handle`: records what it committed, fails or waits on demand."""

    def __init__(self) -> None:
        self.handled: list[Inbound] = []  # calls that returned (the "committed" ones)
        self.attempts: list[str] = []  # every call's update id, failed ones included
        self.fail_when: Callable[[Inbound], bool] = lambda inbound: False
        self.fail_times = 0
        self.gate: asyncio.Event | None = None
        self.changed = asyncio.Event()

    async def __call__(self, inbound: Inbound) -> None:
        self.attempts.append(inbound.update_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_times > 0 and self.fail_when(inbound):
            self.fail_times -= 1
            raise RuntimeError("database is down")
        self.handled.append(inbound)
        self.changed.set()

    async def wait_count(self, count: int, timeout: float = 10) -> list[Inbound]:
        deadline = time.monotonic() + timeout
        while len(self.handled) < count:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"handled {len(self.handled)} of {count}: {self.handled}")
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.handled


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake):
    client = make_bot(fake.token, fake.base_url, fake.base_file_url)
    await client.initialize()
    yield client
    await client.shutdown()


@pytest.fixture
def bot_id(fake):
    return bot_id_from_token(fake.token)


async def next_inbound(fake, bot, bot_id, max_file_bytes: int = MAX_FILE) -> Inbound | None:
    """The next queued update through getUpdates and `to_inbound`, confirmed afterwards."""
    updates = await bot.get_updates(timeout=2)
    assert len(updates) == 1, updates
    inbound = await to_inbound(updates[0], bot=bot, bot_id=bot_id, max_file_bytes=max_file_bytes)
    await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    return inbound


# --- client -------------------------------------------------------------------------------------

def test_bot_id_from_token():
    assert bot_id_from_token("123456:ABC-def") == "123456"
    for bad in ("", "abc:def", "123456", "123456:"):
        with pytest.raises(ValueError):
            bot_id_from_token(bad)


def test_make_bot_puts_the_token_after_the_base_url():
    bot = make_bot("1:A", "http://127.0.0.1:9/bot/", "http://127.0.0.1:9/file/bot")
    assert bot.base_url == "http://127.0.0.1:9/bot1:A"
    assert bot.base_file_url == "http://127.0.0.1:9/file/bot1:A"


# --- inbound mapping ------------------------------------------------------------------------------

async def test_text_message(fake, bot, bot_id):
    fake.add_user(USER, "Lan", last_name="Nguyen", language_code="vi")
    update_id = fake.push_text(USER, "xin chào")
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.platform == "telegram" and inbound.bot_id == "123456"
    assert inbound.update_id == str(update_id)
    assert inbound.user.platform == "telegram" and inbound.user.external_id == str(USER)
    assert inbound.user.display_name == "Lan Nguyen" and inbound.user.language_code == "vi"
    assert (inbound.chat_id, inbound.chat_type) == (str(USER), "private")
    assert inbound.text == "xin chào" and inbound.callback is None and inbound.unsupported is None
    assert inbound.received_at is not None and inbound.received_at.tzinfo is not None


async def test_command(fake, bot, bot_id):
    fake.push_command(USER, "/start")
    assert (await next_inbound(fake, bot, bot_id)).text == "/start"


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
async def test_group_chat(fake, bot, bot_id, chat_type):
    fake.push_text(USER, "hello all", chat_type=chat_type, chat_id=-100200)
    inbound = await next_inbound(fake, bot, bot_id)
    assert (inbound.chat_id, inbound.chat_type, inbound.user.external_id) == ("-100200", "group", str(USER))


async def test_callback(fake, bot, bot_id):
    fake.push_callback(USER, "m:r")
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.callback == "m:r" and inbound.text is None and inbound.chat_id == str(USER)


async def test_photo_is_downloaded_in_its_largest_size(fake, bot, bot_id):
    content = os.urandom(5000)
    fake.push_photo(USER, content, caption="the wall")
    inbound = await next_inbound(fake, bot, bot_id)
    (file,) = inbound.files
    assert file.kind == "photo" and file.sha256 == hashlib.sha256(content).hexdigest()
    assert file.size == 5000 and file.mime_type == "image/jpeg"
    assert file.data == content  # the bytes reach the core, e.g. to clean evidence of metadata
    assert inbound.text == "the wall" and inbound.unsupported is None


async def test_document(fake, bot, bot_id):
    content = b"%PDF-1.4 land certificate"
    fake.push_document(USER, content, file_name="so-do.pdf", mime_type="application/pdf")
    (file,) = (await next_inbound(fake, bot, bot_id)).files
    assert (file.kind, file.file_name, file.mime_type, file.size) == ("document", "so-do.pdf", "application/pdf", len(content))
    assert file.sha256 == hashlib.sha256(content).hexdigest() and file.data == content


async def test_file_too_large_is_not_downloaded(fake, bot, bot_id):
    fake.push_document(USER, b"x" * 2000)
    inbound = await next_inbound(fake, bot, bot_id, max_file_bytes=1000)
    assert inbound.unsupported == "file_too_large" and inbound.files == ()
    assert fake.calls_of("getFile") == []


async def test_location(fake, bot, bot_id):
    fake.push_location(USER, 21.0285, 105.8542)
    assert (await next_inbound(fake, bot, bot_id)).location == Location(21.0285, 105.8542)


async def test_own_contact_gives_the_phone(fake, bot, bot_id):
    fake.push_contact(USER, "84912345678")
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.phone == "84912345678" and inbound.unsupported is None


async def test_someone_elses_contact_is_refused(fake, bot, bot_id):
    fake.push_contact(USER, "84900000000", contact_user_id=777)
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.phone is None and inbound.unsupported == "foreign_contact"


@pytest.mark.parametrize("kind", ["sticker", "voice", "audio", "video", "video_note", "animation", "poll", "dice"])
async def test_unusable_content_is_named(fake, bot, bot_id, kind):
    fake.push_media(USER, kind)
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.unsupported == kind and inbound.files == () and inbound.text is None
    assert fake.calls_of("getFile") == []


@pytest.mark.parametrize("update", [
    {"update_id": 900, "my_chat_member": {
        "chat": {"id": 42, "type": "private", "first_name": "Lan"}, "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        "date": 1700000000,
        "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
        "new_chat_member": {"status": "kicked", "until_date": 0, "user": {"id": 1, "is_bot": True, "first_name": "B"}}}},
    {"update_id": 901, "edited_message": {
        "message_id": 5, "date": 1700000000, "edit_date": 1700000100, "text": "edited",
        "chat": {"id": 42, "type": "private", "first_name": "Lan"}, "from": {"id": 42, "is_bot": False, "first_name": "Lan"}}},
    {"update_id": 902, "message": {
        "message_id": 6, "date": 1700000000, "chat": {"id": -5, "type": "group", "title": "T"},
        "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        "new_chat_members": [{"id": 43, "is_bot": False, "first_name": "Minh"}]}},
], ids=["my_chat_member", "edited_message", "service_message"])
async def test_updates_without_a_user_message_map_to_none(bot, bot_id, update):
    parsed = Update.de_json(update, bot)
    assert await to_inbound(parsed, bot=bot, bot_id=bot_id, max_file_bytes=MAX_FILE) is None


async def test_file_gone_is_unavailable(fake, bot, bot_id):
    fake.push_message(USER, {"document": {"file_id": "gone", "file_unique_id": "g", "file_size": 10}})
    inbound = await next_inbound(fake, bot, bot_id)
    assert inbound.unsupported == "file_unavailable" and inbound.files == ()


async def test_file_download_failure_raises_so_the_update_is_retried(fake, bot, bot_id):
    fake.push_photo(USER, b"jpeg bytes")
    fake.fail_next("getFile", 502, "Bad Gateway")
    (update,) = await bot.get_updates(timeout=2)
    with pytest.raises(TelegramError):
        await to_inbound(update, bot=bot, bot_id=bot_id, max_file_bytes=MAX_FILE)
    assert (await to_inbound(update, bot=bot, bot_id=bot_id, max_file_bytes=MAX_FILE)).files


# --- polling ------------------------------------------------------------------------------------

@pytest.fixture
async def polling(fake, bot, bot_id):
    """Starts `poll_updates` with a Recorder; yields (recorder, stop event, task)."""
    started: list[tuple[asyncio.Event, asyncio.Task]] = []

    def start(recorder: Recorder, timeout: int = 1):
        stop = asyncio.Event()
        task = asyncio.create_task(poll_updates(
            bot, recorder, bot_id=bot_id, stop=stop, timeout=timeout, max_file_bytes=MAX_FILE,
            min_backoff=0.05, max_backoff=0.2))
        started.append((stop, task))
        return stop, task

    yield start
    for stop, task in started:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_polling_hands_over_updates_in_order(fake, polling):
    recorder = Recorder()
    polling(recorder)
    ids = [fake.push_text(USER, f"message {n}") for n in range(5)]
    handled = await recorder.wait_count(5)
    assert [i.update_id for i in handled] == [str(i) for i in ids]
    await fake.wait_until_confirmed(ids[-1])


async def test_polling_retries_a_failed_update_and_skips_nothing(fake, polling):
    recorder = Recorder()
    recorder.fail_when = lambda inbound: inbound.text == "two"
    recorder.fail_times = 2
    polling(recorder)
    ids = [fake.push_text(USER, text) for text in ("one", "two", "three")]
    handled = await recorder.wait_count(3)
    assert [i.text for i in handled] == ["one", "two", "three"]
    assert recorder.attempts == [str(ids[0])] + [str(ids[1])] * 3 + [str(ids[2])]
    await fake.wait_until_confirmed(ids[2])
    assert fake.pending() == []


async def test_polling_confirms_only_after_handle_returned(fake, polling):
    recorder = Recorder()
    recorder.gate = asyncio.Event()
    polling(recorder)
    first = fake.push_text(USER, "one")
    await _eventually(lambda: recorder.attempts == [str(first)])
    await asyncio.sleep(0.3)
    assert [u["update_id"] for u in fake.pending()] == [first]  # handed out, not confirmed
    assert all((call.get("offset") or 0) <= first for call in fake.calls_of("getUpdates"))
    recorder.gate.set()
    await fake.wait_until_confirmed(first)


async def test_polling_after_restart_gets_the_unconfirmed_update_again(fake, bot, bot_id, polling):
    failing = Recorder()
    failing.fail_when = lambda inbound: True
    failing.fail_times = 1000
    stop, task = polling(failing)
    update_id = fake.push_text(USER, "are you there?")
    await _eventually(lambda: len(failing.attempts) >= 2)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [u["update_id"] for u in fake.pending()] == [update_id]
    recorder = Recorder()
    polling(recorder)
    (inbound,) = await recorder.wait_count(1)
    assert inbound.update_id == str(update_id)


async def test_polling_deletes_the_webhook_and_gets_what_queued_meanwhile(fake, bot, polling):
    await register_webhook(bot, "http://127.0.0.1:9/nowhere", SECRET)
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    queued = fake.push_text(USER, "sent while the webhook was set")
    recorder = Recorder()
    polling(recorder)
    (inbound,) = await recorder.wait_count(1)
    assert inbound.update_id == str(queued) and fake.webhook is None
    assert fake.calls_of("deleteWebhook")[0].get("drop_pending_updates") in (None, False)


async def test_polling_survives_get_updates_errors(fake, polling):
    fake.fail_next("getUpdates", 502, "Bad Gateway", times=2)
    recorder = Recorder()
    polling(recorder)
    fake.push_text(USER, "hello")
    assert (await recorder.wait_count(1))[0].text == "hello"


async def test_polling_answers_callbacks_after_handling(fake, polling):
    recorder = Recorder()
    polling(recorder)
    fake.push_callback(USER, "m:r")
    await recorder.wait_count(1)
    await _eventually(lambda: fake.answered_callbacks == ["cb1"])


async def test_polling_confirms_updates_that_carry_no_message(fake, polling):
    recorder = Recorder()
    polling(recorder)
    service = fake.push_message(USER, {"new_chat_members": [{"id": 43, "is_bot": False, "first_name": "M"}]},
                                chat_type="group")
    text = fake.push_text(USER, "after")
    (inbound,) = await recorder.wait_count(1)
    assert inbound.update_id == str(text)
    await fake.wait_until_confirmed(service)


async def test_polling_hands_over_a_redelivered_update_again(fake, polling):
    """Telegram repeats an update whose confirmation was lost; deduplicating is the core's job."""
    recorder = Recorder()
    polling(recorder)
    first = fake.push_text(USER, "once")
    await recorder.wait_count(1)
    await fake.wait_until_confirmed(first)
    fake.push_raw({"update_id": first, "message": _update(first, "once")["message"]})
    later = fake.push_text(USER, "later")
    handled = await recorder.wait_count(3)
    assert [i.update_id for i in handled] == [str(first), str(first), str(later)]
    await fake.wait_until_confirmed(later)
    assert fake.pending() == []


async def test_polling_skips_an_update_ptb_cannot_parse(fake, polling):
    """One unparseable update must not block every chat behind it."""
    recorder = Recorder()
    polling(recorder)
    broken = _update(text="x")["message"] | {"poll": {"id": "1", "question": "?", "options": [],
                                                      "total_voter_count": 0, "is_closed": False}}
    bad = fake.push_raw({"message": broken})
    good = fake.push_text(USER, "still here")
    (inbound,) = await recorder.wait_count(1)
    assert inbound.update_id == str(good)
    await fake.wait_until_confirmed(bad)


async def test_polling_stops_promptly_during_a_long_poll(fake, polling):
    stop, task = polling(Recorder(), timeout=25)
    await _eventually(lambda: len(fake.calls_of("getUpdates")) >= 1)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 2)
    assert time.monotonic() - started < 1.5


# --- webhook ------------------------------------------------------------------------------------

@pytest.fixture
async def webhook_server(bot, bot_id):
    """Serves `webhook_route` with a Recorder on a free port; yields (url, recorder)."""
    recorder = Recorder()
    app = web.Application()
    app.router.add_routes([webhook_route(bot, recorder, bot_id=bot_id, secret=SECRET, max_file_bytes=MAX_FILE)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/telegram/webhook", recorder
    await runner.cleanup()


def _update(update_id: int = 1, text: str = "hi") -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "text": text,
        "chat": {"id": USER, "type": "private", "first_name": "Lan"},
        "from": {"id": USER, "is_bot": False, "first_name": "Lan"}}}


async def _post(url: str, body: Any, secret: str | None = SECRET, raw: bytes | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=raw if raw is not None else json.dumps(body), headers=headers) as response:
            return response.status


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_webhook_refuses_a_wrong_or_missing_secret(webhook_server, secret):
    url, recorder = webhook_server
    assert await _post(url, _update(), secret=secret) == 403
    assert recorder.attempts == []


async def test_webhook_refuses_a_body_that_is_not_an_update(webhook_server):
    url, recorder = webhook_server
    assert await _post(url, None, raw=b"{not json") == 400
    assert await _post(url, [1, 2]) == 400
    assert await _post(url, {"message": {}}) == 400
    assert recorder.attempts == []


async def test_webhook_answers_200_after_handle_returned(webhook_server):
    url, recorder = webhook_server
    recorder.gate = asyncio.Event()
    call = asyncio.create_task(_post(url, _update(7, "hello")))
    await _eventually(lambda: recorder.attempts == ["7"])
    await asyncio.sleep(0.2)
    assert not call.done()
    recorder.gate.set()
    assert await call == 200
    (inbound,) = recorder.handled
    assert (inbound.update_id, inbound.text, inbound.chat_id) == ("7", "hello", str(USER))


async def test_webhook_answers_500_when_handle_fails(webhook_server):
    url, recorder = webhook_server
    recorder.fail_when = lambda inbound: True
    recorder.fail_times = 1
    assert await _post(url, _update(8)) == 500
    assert await _post(url, _update(8)) == 200
    assert [i.update_id for i in recorder.handled] == ["8"]


async def test_webhook_answers_200_to_updates_without_a_message(webhook_server):
    url, recorder = webhook_server
    edited = {"update_id": 9, "edited_message": _update()["message"] | {"edit_date": int(time.time())}}
    assert await _post(url, edited) == 200
    assert recorder.attempts == []


async def test_webhook_through_the_fake_redelivers_until_200_in_order(fake, bot, webhook_server):
    url, recorder = webhook_server
    recorder.fail_when = lambda inbound: inbound.text == "one"
    recorder.fail_times = 2
    ids = [fake.push_text(USER, text) for text in ("one", "two")]
    await register_webhook(bot, url, SECRET)
    setting = fake.calls_of("setWebhook")[-1]
    assert setting["secret_token"] == SECRET and setting["allowed_updates"] == ["message", "callback_query"]
    handled = await recorder.wait_count(2)
    assert [i.update_id for i in handled] == [str(i) for i in ids]
    assert recorder.attempts == [str(ids[0])] * 3 + [str(ids[1])]
    fake.push_callback(USER, "m:s")
    await recorder.wait_count(3)
    await _eventually(lambda: fake.answered_callbacks != [])
    await _eventually(lambda: fake.pending() == [])


async def test_fake_keeps_webhook_updates_while_the_bot_is_down(fake, bot, bot_id):
    """What the e2e tests rely on: updates queued while nothing listens arrive after a restart."""
    recorder = Recorder()
    app = web.Application()
    app.router.add_routes([webhook_route(bot, recorder, bot_id=bot_id, secret=SECRET, max_file_bytes=MAX_FILE)])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    await register_webhook(bot, f"http://127.0.0.1:{port}/telegram/webhook", SECRET)
    first = fake.push_text(USER, "before")
    await recorder.wait_count(1)
    await runner.cleanup()
    second = fake.push_text(USER, "while down")
    await _eventually(lambda: len(fake.webhook.failures) >= 2)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        handled = await recorder.wait_count(2)
    finally:
        await runner.cleanup()
    assert [i.update_id for i in handled] == [str(first), str(second)]


# --- outbound -----------------------------------------------------------------------------------

@pytest.fixture
def channel(fake, bot):
    fake.add_chat(USER)
    return TelegramChannel(bot)


def _choices(*rows: tuple[str, ...]) -> tuple[tuple[Choice, ...], ...]:
    return tuple(tuple(Choice(label, f"d:{label}") for label in row) for row in rows)


async def test_reply_with_inline_buttons(fake, channel):
    reply = Reply("Step 1/8: Field", _choices(("Land", "Labour"), ("◀ Back",)))
    await channel.send(str(USER), reply.to_payload())
    (message,) = fake.sent_to(USER)
    assert message["text"] == "Step 1/8: Field"
    rows = message["reply_markup"]["inline_keyboard"]
    assert [[(b["text"], b["callback_data"]) for b in row] for row in rows] == [
        [("Land", "d:Land"), ("Labour", "d:Labour")], [("◀ Back", "d:◀ Back")]]
    assert fake.last_buttons(USER)[0] == ("Land", "d:Land")


async def test_plain_reply_has_no_keyboard(fake, channel):
    await channel.send(str(USER), Reply("Thanks").to_payload())
    (message,) = fake.sent_to(USER)
    assert message["reply_markup"] is None


@pytest.mark.parametrize("kind, flag", [("location", "request_location"), ("phone", "request_contact")])
async def test_share_request_gets_a_reply_keyboard_and_the_buttons_follow(fake, channel, kind, flag):
    reply = Reply("Where did it happen?", _choices(("Next",), ("◀ Back", "✖ Cancel")), ShareRequest(kind, "📍 Share"))
    await channel.send(str(USER), reply.to_payload())
    first, second = fake.sent_to(USER)
    assert first["text"] == "Where did it happen?"
    keyboard = first["reply_markup"]
    assert keyboard["keyboard"] == [[{"text": "📍 Share", flag: True}]]
    assert keyboard["one_time_keyboard"] is True and keyboard["resize_keyboard"] is True
    assert second["text"] == BUTTONS_TEXT
    assert [label for label, _ in second["buttons"]] == ["Next", "◀ Back", "✖ Cancel"]


async def test_share_request_without_buttons_is_one_message(fake, channel):
    await channel.send(str(USER), Reply("Share?", (), ShareRequest("phone", "📞 Share")).to_payload())
    (message,) = fake.sent_to(USER)
    assert message["reply_markup"]["keyboard"][0][0]["request_contact"] is True


async def test_long_text_is_split_on_paragraphs_with_buttons_on_the_last_part(fake, channel):
    paragraphs = [f"Paragraph {n}: " + "lời kể " * 200 for n in range(5)]  # ~1400 characters each
    text = "\n\n".join(paragraphs)
    await channel.send(str(USER), Reply(text, _choices(("OK",))).to_payload())
    messages = fake.sent_to(USER)
    assert len(messages) >= 2
    assert all(len(m["text"]) <= MAX_TEXT for m in messages)
    assert all(m["text"].startswith("Paragraph") for m in messages)
    assert [m["buttons"] for m in messages] == [[]] * (len(messages) - 1) + [[("OK", "d:OK")]]
    assert " ".join(m["text"] for m in messages).split() == text.split()  # nothing lost


def test_split_text_prefers_paragraphs_then_lines_then_spaces():
    assert split_text("short") == ["short"]
    assert split_text("aaaa\n\nbbbb", limit=8) == ["aaaa", "bbbb"]
    assert split_text("aaaaa\nbb ccc", limit=8) == ["aaaaa", "bb ccc"]
    assert split_text("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_text_counts_utf16_units():
    parts = split_text("😀" * 10, limit=10)  # each emoji is two UTF-16 units
    assert parts == ["😀" * 5, "😀" * 5]


async def test_flood_control_becomes_retry_later(fake, channel):
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await channel.send(str(USER), Reply("hello").to_payload())
    assert caught.value.seconds == 7
    await channel.send(str(USER), Reply("hello").to_payload())
    assert [m["text"] for m in fake.sent_to(USER)] == ["hello"]


async def test_blocked_user_is_a_permanent_failure(fake, channel):
    fake.block(USER)
    with pytest.raises(PermanentFailure):
        await channel.send(str(USER), Reply("hello").to_payload())


async def test_unknown_chat_is_a_permanent_failure(channel):
    with pytest.raises(PermanentFailure):
        await channel.send("987654", Reply("hello").to_payload())


async def test_other_errors_propagate_for_a_retry(fake, channel):
    fake.fail_next("sendMessage", 500, "Internal Server Error")
    with pytest.raises(TelegramError) as caught:
        await channel.send(str(USER), Reply("hello").to_payload())
    assert not isinstance(caught.value, (RetryLater, PermanentFailure))


# --- the fake itself ----------------------------------------------------------------------------

async def test_fake_press_finds_the_newest_button_by_label(fake, channel):
    await channel.send(str(USER), Reply("old", _choices(("Next",))).to_payload())
    await channel.send(str(USER), Reply("new", (( Choice("Next ▶", "new-next"),),)).to_payload())
    update_id = fake.press(USER, "Next")
    callback = fake.pending()[-1]["callback_query"]
    assert fake.pending()[-1]["update_id"] == update_id
    assert callback["data"] == "new-next" and callback["message"]["text"] == "new"
    with pytest.raises(AssertionError, match="no button"):
        fake.press(USER, "Nonexistent")


async def test_fake_long_poll_waits_for_new_updates(fake, bot):
    async def push_later():
        await asyncio.sleep(0.3)
        fake.push_text(USER, "late")

    pusher = asyncio.create_task(push_later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await pusher
    assert [u.message.text for u in updates] == ["late"]
    assert 0.2 < time.monotonic() - started < 3


async def _eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_fake_takes_uploads_edits_and_callback_answers(fake, bot):
    fake.add_chat(USER)
    photo = await bot.send_photo(USER, photo=b"\xff\xd8 jpeg", caption="map", filename="map.jpg")
    document = await bot.send_document(USER, document=b"%PDF", filename="minutes.pdf")
    assert photo.photo and photo.caption == "map" and document.document is not None
    message = await bot.send_message(USER, "Step 1/8", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("Land", callback_data="f:land")]]))
    await bot.edit_message_text("Step 1/8 (answered)", chat_id=USER, message_id=message.message_id)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Step 1/8 (answered)", chat_id=USER, message_id=message.message_id)
    await bot.answer_callback_query("cb9")
    sent = fake.sent_to(USER)
    assert [m["method"] for m in sent] == ["sendPhoto", "sendDocument", "sendMessage"]
    assert sent[-1]["text"] == "Step 1/8 (answered)" and sent[-1]["buttons"] == []
    assert fake.answered_callbacks == ["cb9"]
    assert [m.message_id for m in (photo, document, message)] == [1, 2, 3]


# --- the outbox sender and the real channel, against the fake with Telegram's limits on ----------

class UtcClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


# The fake answers 429 to sends over Telegram's limits. Its windows are shortened by 0.2 s (the
# assertions below allow the same) for the jitter of a loaded machine between a client's call
# and the fake's clock; a sender that does not pace at all comes far closer than that.
JITTER = 0.2


@pytest.fixture
async def paced_fake():
    async with FakeTelegram(rate_limits=RateLimits(tolerance=JITTER)) as server:
        yield server


@pytest.fixture
async def paced_bot(paced_fake):
    client = make_bot(paced_fake.token, paced_fake.base_url, paced_fake.base_file_url)
    await client.initialize()
    yield client
    await client.shutdown()


@contextlib.asynccontextmanager
async def running_sender(uow_factory, bot):
    """The sender's loop with Telegram's default limits, polling often so retries come soon."""
    channel = TelegramChannel(bot, limits=TELEGRAM_LIMITS)
    sender = OutboxSender(uow_factory, {"telegram": channel}, UtcClock(), idle_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await task
        await sender.idle()


async def enqueue(uow_factory, sender, *messages: tuple[int, str]) -> list[int]:
    async with uow_factory() as uow:
        ids = [await uow.outbox.add(Outgoing("telegram", str(chat), Reply(text)), UtcClock().now())
               for chat, text in messages]
        await uow.commit()
    sender.kick()
    return ids


def test_telegram_limits():
    assert TELEGRAM_LIMITS.chat_interval(group=False) == 1 and TELEGRAM_LIMITS.chat_interval(group=True) == 3
    assert TELEGRAM_LIMITS.overall_per_second == 30 and TELEGRAM_LIMITS.hold_channel_on_retry
    assert is_group_chat("-1001234") and not is_group_chat("42")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # about the pace, not the database
async def test_a_burst_to_50_chats_keeps_within_telegram_limits(paced_fake, paced_bot, uow_factory):
    chats = [1000 + n for n in range(50)]
    for chat in chats:
        paced_fake.add_chat(chat)
    long_text = "\n\n".join(f"Paragraph {n}: " + "lời kể " * 500 for n in range(3))  # three messages
    async with running_sender(uow_factory, paced_bot) as sender:
        await enqueue(uow_factory, sender, *[(chat, f"{chat} first") for chat in chats],
                      (chats[0], long_text), *[(chat, f"{chat} second") for chat in chats[1:]])
        for chat in chats:
            await paced_fake.wait_for(chat, 4 if chat == chats[0] else 2, timeout=30)
    assert paced_fake.flood_answers == []  # the fake answers 429 to any send over a limit
    for chat in chats:
        sent = paced_fake.sent_to(chat)
        assert sent[0]["text"] == f"{chat} first"
        assert min(later["at"] - earlier["at"] for earlier, later in zip(sent, sent[1:])) >= 1 - JITTER
    texts = [m["text"] for m in paced_fake.sent_to(chats[0])]
    assert texts[0] == "1000 first" and [t[:11] for t in texts[1:]] == ["Paragraph 0", "Paragraph 1", "Paragraph 2"]
    times = sorted(m["at"] for chat in chats for m in paced_fake.sent_to(chat))
    assert len(times) == 102
    assert min(later - earlier for earlier, later in zip(times, times[30:])) >= 1 - JITTER  # 31 sends: over 1 s


async def test_a_429_is_honoured_and_the_message_still_arrives_in_order(paced_fake, paced_bot, uow_factory):
    for chat in (USER, USER + 1):
        paced_fake.add_chat(chat)
    paced_fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    async with running_sender(uow_factory, paced_bot) as sender:
        await enqueue(uow_factory, sender, (USER, "first"), (USER, "second"))
        await _eventually(lambda: bool(paced_fake.flood_answers))
        await enqueue(uow_factory, sender, (USER + 1, "other chat"))  # flood control holds every chat
        first, second = await paced_fake.wait_for(USER, 2, timeout=20)
        (other,) = await paced_fake.wait_for(USER + 1, 1, timeout=20)
    (flood,) = paced_fake.flood_answers  # the scripted one; the fake's own limits never answered 429
    assert (first["text"], second["text"]) == ("first", "second")
    assert first["at"] - flood["at"] >= 2 and other["at"] - flood["at"] >= 2
    assert second["at"] - first["at"] >= 1 - JITTER
    calls = [params["text"] for params in paced_fake.calls_of("sendMessage") if params["chat_id"] == str(USER)]
    assert calls == ["first", "first", "second"]  # the 429, its retry, then the next message


async def test_a_429_from_the_fakes_own_limits_is_honoured(paced_fake, paced_bot, uow_factory):
    """Another process of the bot has just written to the chat: our send is over the chat's
    limit, the fake says so with a 429, and the message goes out after it."""
    paced_fake.add_chat(USER)
    async with running_sender(uow_factory, paced_bot) as sender:
        await paced_bot.do_api_request("sendMessage", api_kwargs={"chat_id": USER, "text": "from elsewhere"})
        await enqueue(uow_factory, sender, (USER, "hello"))
        elsewhere, hello = await paced_fake.wait_for(USER, 2, timeout=20)
    (flood,) = paced_fake.flood_answers
    assert flood["retry_after"] == 1 and hello["text"] == "hello"
    assert hello["at"] - flood["at"] >= 1


async def test_a_blocked_user_is_failed_for_good_and_logged(paced_fake, paced_bot, uow_factory, caplog):
    for chat in (USER, USER + 1):
        paced_fake.add_chat(chat)
    paced_fake.block(USER)
    with caplog.at_level(logging.WARNING, logger="hoagiai.outbox"):
        async with running_sender(uow_factory, paced_bot) as sender:
            blocked_ids = await enqueue(uow_factory, sender, (USER, "private words"), (USER, "more words"))
            await enqueue(uow_factory, sender, (USER + 1, "after"))
            await paced_fake.wait_for(USER + 1, 1)
    assert len([params for params in paced_fake.calls_of("sendMessage") if params["chat_id"] == str(USER)]) == 2
    lines = [r.getMessage() for r in caplog.records if "failed for good" in r.getMessage()]
    assert [f"id={row_id} channel=telegram" in line for row_id, line in zip(blocked_ids, lines)] == [True, True]
    assert not any("words" in r.getMessage() for r in caplog.records)
    async with uow_factory() as uow:
        (recipient,) = await uow.outbox.failed_recipients(datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert (recipient.channel, recipient.chat_id, recipient.failures) == ("telegram", str(USER), 2)
    assert "blocked" in recipient.last_error  # both rows failed for good: none is pending a retry
