"""Files in the bot's replies, end to end: a reply naming a PNG chart and an XLSX spreadsheet
(stored in the blob store, in the transaction of its outbox row, as a core service does) reaches
the fake Bot API as sendPhoto and sendDocument with the exact bytes, and the web chat as a frame
whose links serve the bytes to that chat only.

The first tests run the real bot process; the rest drive the real Telegram channel (and the
outbox sender) in this process over real HTTP, for what is hard to provoke in a child process:
flood control on a file, a blocked chat, a blob that is gone, the pace of each call.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from openpyxl import Workbook, load_workbook

from bot.bootstrap import blob_reader
from bot.telegram.client import make_bot
from bot.telegram.outbound import BUTTONS_TEXT, TelegramChannel
from bot.web.chat_files import CHAT_COOKIE, FileLinks
from handlers.messages import Choice, OutFile, Outgoing, Reply
from handlers.ports import PermanentFailure, RetryLater
from scheduler.outbox import OutboxSender
from storage.engine import create_engine
from storage.uow import make_uow_factory
from tests.e2e.conftest import BotProcess, Database, bot_env, free_port
from tests.fakes import FakeTelegram

# PTB's RetryAfter warns about its own int/timedelta migration when it is built.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

USER = 5001
WEB_CLIENT = "3f1c2a9e-7b7d-4c1e-9d7a-0c2b6f6e5a10"
OTHER_CLIENT = "0b5e8a3c-1111-4d2e-8f00-aaaaaaaaaaaa"
FILE_SECRET = "e2e-web-file-secret-0123456789"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME = "Báo cáo tháng 11 - Phường Đông Hà.xlsx"
# A real 1x1 PNG, made unique per test run so no earlier blob can stand in for it.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2d1a1"
    "8e0000000049454e44ae426082"
) + b"\x00" + os.urandom(16)


def make_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tổng hợp"
    sheet.append(["Lĩnh vực", "Số vụ"])
    sheet.append(["Đất đai", 12])
    sheet.append(["Hôn nhân và gia đình", 5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = make_xlsx()


def now() -> datetime:
    return datetime.now(timezone.utc)


async def store_report(uow_factory, channel: str, chat_id: str, *, text: str = "Báo cáo tháng 11",
                       buttons: tuple = ()) -> tuple[str, str]:
    """What a core service does: the files in the blob store and the reply in the outbox, one
    transaction. Returns the two hashes."""
    async with uow_factory() as uow:
        png_sha = await uow.blobs.put(PNG, "image/png", now())
        xlsx_sha = await uow.blobs.put(XLSX, XLSX_MIME, now())
        reply = Reply(text, buttons=buttons, files=(
            OutFile("photo", png_sha, "biểu đồ.png", "image/png", caption="Số vụ theo lĩnh vực"),
            OutFile("document", xlsx_sha, SHEET_NAME, XLSX_MIME)))
        await uow.outbox.add(Outgoing(channel, chat_id, reply), now())
        await uow.commit()
    return png_sha, xlsx_sha


class Storage:
    """The bot's database, opened by the test too (as another worker would)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.uow_factory = make_uow_factory(self.engine)


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = Storage(database_url)
    yield opened
    await opened.engine.dispose()


@pytest.fixture
async def bot_with_files(request: pytest.FixtureRequest, database_url: str, fake: FakeTelegram,
                         tmp_path: Path) -> AsyncIterator[BotProcess]:
    """The bot (polling: how updates arrive does not matter here) with a web file key set."""
    workdir = tmp_path / "bot"
    workdir.mkdir()
    env = bot_env(database_url, fake, "polling", free_port(), workdir)
    env["HOAGIAI_WEB_FILE_SECRET"] = FILE_SECRET
    process = BotProcess(env, workdir)
    request.node.bot_processes = [process]
    await process.cli("db", "upgrade")
    await process.start()
    yield process
    await process.stop()


# --- the real bot process -----------------------------------------------------------------------

async def test_a_report_reaches_telegram_as_text_photo_and_document(bot_with_files, fake, storage, database_url):
    fake.add_user(USER, "Officer", language_code="vi")
    fake.add_chat(USER)
    await store_report(storage.uow_factory, "telegram", str(USER))

    text, photo, document = await fake.wait_for(USER, 3, timeout=20)
    assert [m["method"] for m in (text, photo, document)] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert text["text"] == "Báo cáo tháng 11"
    assert photo["upload"].content == PNG and photo["upload"].content_type == "image/png"
    assert photo["upload"].filename == "biểu đồ.png" and photo["text"] == "Số vụ theo lĩnh vực"
    assert document["upload"].content == XLSX and document["upload"].content_type == XLSX_MIME
    assert document["upload"].filename == SHEET_NAME  # UTF-8, not percent-encoded
    assert document["fields"]["document"]["file_name"] == SHEET_NAME
    assert load_workbook(io.BytesIO(document["upload"].content)).active["A3"].value == "Hôn nhân và gia đình"
    await _eventually_sent(Database(database_url))


async def test_a_report_reaches_the_web_chat_and_its_links_serve_only_that_chat(bot_with_files, storage):
    base = bot_with_files.url
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/chat/ws?client={WEB_CLIENT}&lang=vi")
        png_sha, xlsx_sha = await store_report(storage.uow_factory, "web", WEB_CLIENT, text="")
        frame = await ws.receive_json(timeout=20)
        await ws.close()
        reply = frame["reply"]
        assert reply["text"] == ""
        photo, sheet = reply["files"]
        assert (photo["kind"], photo["name"], photo["mime"], photo["caption"]) == \
            ("photo", "biểu đồ.png", "image/png", "Số vụ theo lĩnh vực")
        assert (sheet["kind"], sheet["name"], sheet["mime"]) == ("document", SHEET_NAME, XLSX_MIME)
        assert WEB_CLIENT not in photo["url"] and png_sha in photo["url"]

        mine = {"Cookie": f"{CHAT_COOKIE}={WEB_CLIENT}"}
        async with session.get(base + photo["url"], headers=mine) as response:
            assert response.status == 200 and await response.read() == PNG
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["Content-Disposition"].startswith("inline; ")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with session.get(base + sheet["url"], headers=mine) as response:
            assert response.status == 200 and await response.read() == XLSX
            assert response.headers["Content-Type"] == XLSX_MIME
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith('attachment; filename="Bao cao thang 11 - Phuong Dong Ha.xlsx"')
            assert disposition.endswith("filename*=UTF-8''" + quote(SHEET_NAME, safe="!#$&+-.^_`|~"))

        refused = {
            "another chat": (sheet["url"], {"Cookie": f"{CHAT_COOKIE}={OTHER_CLIENT}"}),
            "no cookie": (sheet["url"], {}),
            "forged signature": (_with_sig(sheet["url"], "0" * 64), mine),
            "another file's signature": (sheet["url"].replace(xlsx_sha, png_sha), mine),
        }
        for case, (url, headers) in refused.items():
            async with session.get(base + url, headers=headers) as response:
                assert response.status == 403, case
                assert await response.read() != XLSX

        # A link the server did sign for this chat, of a file no longer stored; and no hash at all.
        gone = hashlib.sha256(b"pruned long ago").hexdigest()
        links = FileLinks(FILE_SECRET.encode())
        async with session.get(base + links.url(WEB_CLIENT, gone, "old.xlsx"), headers=mine) as response:
            assert response.status == 404
        async with session.get(f"{base}/chat/files/not-a-hash?sig=x", headers=mine) as response:
            assert response.status == 404


def _with_sig(url: str, signature: str) -> str:
    head, _, _ = url.partition("&sig=")
    return f"{head}&sig={signature}"


async def _eventually_sent(db: Database, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await db.count("outbox", "status = 'sent'") < 1:
        assert asyncio.get_running_loop().time() < deadline, "the outbox row was not marked sent"
        await asyncio.sleep(0.1)


# --- the Telegram channel in this process --------------------------------------------------------

@pytest.fixture
async def bot(fake: FakeTelegram):
    client = make_bot(fake.token, fake.base_url, fake.base_file_url)
    await client.initialize()
    yield client
    await client.shutdown()


@pytest.fixture
def channel(fake, bot, uow_factory) -> TelegramChannel:
    fake.add_user(USER, "Officer")
    fake.add_chat(USER)
    return TelegramChannel(bot, limits=None, read_blob=blob_reader(uow_factory))


async def report_payload(uow_factory, *, text: str = "Báo cáo", buttons: tuple = ()) -> dict:
    async with uow_factory() as uow:
        png_sha = await uow.blobs.put(PNG, "image/png", now())
        xlsx_sha = await uow.blobs.put(XLSX, XLSX_MIME, now())
        await uow.commit()
    return Reply(text, buttons=buttons, files=(OutFile("photo", png_sha, "chart.png", "image/png"),
                                               OutFile("document", xlsx_sha, SHEET_NAME, XLSX_MIME))).to_payload()


async def test_every_call_awaits_the_pace_and_buttons_stay_on_the_text(fake, channel, uow_factory):
    paces: list[int] = []

    async def pace() -> None:
        paces.append(len(fake.sent_to(USER)))  # how many calls had gone out before this one

    payload = await report_payload(uow_factory, buttons=((Choice("Tải lại", "r:again"),),))
    await channel.send(str(USER), payload, pace=pace)
    sent = fake.sent_to(USER)
    assert [m["method"] for m in sent] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert paces == [0, 1, 2]
    assert sent[0]["buttons"] == [("Tải lại", "r:again")]
    assert sent[1]["reply_markup"] is None and sent[2]["reply_markup"] is None
    assert [sent[1]["upload"].content, sent[2]["upload"].content] == [PNG, XLSX]


async def test_a_reply_of_files_only_sends_only_the_files(fake, channel, uow_factory):
    await channel.send(str(USER), await report_payload(uow_factory, text=""))
    assert [m["method"] for m in fake.sent_to(USER)] == ["sendPhoto", "sendDocument"]


async def test_files_only_with_buttons_keeps_a_message_for_the_buttons(fake, channel, uow_factory):
    await channel.send(str(USER), await report_payload(uow_factory, text="", buttons=((Choice("OK", "ok"),),)))
    first, *rest = fake.sent_to(USER)
    assert (first["method"], first["text"], first["buttons"]) == ("sendMessage", BUTTONS_TEXT, [("OK", "ok")])
    assert [m["method"] for m in rest] == ["sendPhoto", "sendDocument"]


async def test_flood_control_on_a_file_is_retry_later(fake, channel, uow_factory):
    fake.fail_next("sendDocument", 429, "Too Many Requests: retry after 6", retry_after=6)
    with pytest.raises(RetryLater) as caught:
        await channel.send(str(USER), await report_payload(uow_factory))
    assert caught.value.seconds == 6


async def test_a_blocked_chat_is_a_permanent_failure_on_a_file_too(fake, channel, uow_factory):
    payload = await report_payload(uow_factory, text="")
    fake.block(USER)
    with pytest.raises(PermanentFailure):
        await channel.send(str(USER), payload)


async def test_a_missing_blob_is_a_permanent_failure_and_sends_nothing(fake, channel, caplog):
    gone = OutFile("document", hashlib.sha256(b"pruned").hexdigest(), "old.xlsx", XLSX_MIME)
    with caplog.at_level(logging.ERROR, logger="hoagiai.telegram.outbound"), pytest.raises(PermanentFailure):
        await channel.send(str(USER), Reply("Báo cáo cũ", files=(gone,)).to_payload())
    assert fake.sent_to(USER) == []
    assert any("telegram file missing" in r.getMessage() and gone.sha256 in r.getMessage() for r in caplog.records)


async def test_the_outbox_sender_delivers_files_and_gives_up_on_a_missing_one(fake, channel, uow_factory):
    class Clock:
        def now(self) -> datetime:
            return now()

    await store_report(uow_factory, "telegram", str(USER))
    missing = OutFile("photo", hashlib.sha256(b"never stored").hexdigest(), "x.png", "image/png")
    async with uow_factory() as uow:
        await uow.outbox.add(Outgoing("telegram", str(USER), Reply("", files=(missing,))), now())
        await uow.commit()
    sender = OutboxSender(uow_factory, {"telegram": channel}, Clock())
    assert await sender.drain_once() == 2
    await sender.idle()
    assert [m["method"] for m in fake.sent_to(USER)] == ["sendMessage", "sendPhoto", "sendDocument"]
    from sqlalchemy import text

    async with uow_factory() as uow:
        statuses = (await uow.session.execute(text("select status from outbox order by id"))).scalars().all()
    assert statuses == ["sent", "failed"]
