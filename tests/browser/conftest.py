"""Browser fixtures: Debian's Chromium driven by Playwright, and a web chat server with a fake core.

Browser tests skip, saying why, when Chromium is missing; with HOAGIAI_REQUIRE_BROWSER=1
(CI) they fail instead, so a broken CI image cannot pass silently. Playwright never downloads
a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bot.web.app import create_web_app
from bot.web.chat import WebChatHub, chat_routes
from handlers.i18n import CatalogTranslator
from handlers.messages import Choice, Inbound, Reply, ShareRequest
from handlers.ports import RetryLater

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
HANOI = {"latitude": 21.0285, "longitude": 105.8542}
REQUIRE_ENV = "HOAGIAI_REQUIRE_BROWSER"


def require_browser() -> None:
    """Skip (or, when CI requires the browser, fail) unless Chromium and Playwright are here."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "browser tests need the playwright package (pip install -e '.[test]')"
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires the browser tests to run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module; module scope keeps Playwright's loop away from async tests."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_phone_page(browser):
    """Makes fresh phone-sized pages (each with its own localStorage), closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(**PHONE, **{"locale": "vi-VN", **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone(new_phone_page):
    """A phone-sized page in Vietnamese that may use the location of Hà Nội."""
    return new_phone_page(permissions=["geolocation"], geolocation=HANOI)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- a web chat server with a scripted core, in a thread of its own ------------------------------

@dataclass
class ScriptedCore:
    """Answers like a tiny bot and delivers like the outbox: after handling, retried on reconnect.

    Like the real core it handles an update id once: a re-sent message is recorded in `calls`
    but answered only the first time.
    """

    hub: WebChatHub
    calls: list[Inbound] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    outbox: dict[str, list[dict]] = field(default_factory=dict)
    slow_text: str = "chậm"
    fail_once: set[str] = field(default_factory=lambda: {"lỗi"})
    scripted: dict[str, Reply] = field(default_factory=dict)  # text -> the reply a test wants

    async def handle(self, inbound: Inbound) -> None:
        self.calls.append(inbound)
        if inbound.text in self.fail_once:
            self.fail_once.discard(inbound.text)
            raise RuntimeError("database briefly away")
        if inbound.text == self.slow_text:
            await asyncio.sleep(1.0)
        if inbound.update_id in self.seen:
            return
        self.seen.add(inbound.update_id)
        reply = self.scripted.get(inbound.text or "") or self.answer(inbound)
        self.outbox.setdefault(inbound.chat_id, []).append(reply.to_payload())
        asyncio.get_running_loop().call_soon(self.kick, inbound.chat_id)

    def kick(self, chat_id: str) -> None:
        asyncio.get_running_loop().create_task(self.deliver(chat_id))

    async def deliver(self, chat_id: str) -> None:
        queue = self.outbox.get(chat_id, [])
        while queue:
            try:
                await self.hub.send(chat_id, queue[0])
            except RetryLater:
                return
            queue.pop(0)

    @staticmethod
    def answer(inbound: Inbound) -> Reply:
        if inbound.text == "/start":
            return Reply("Xin chào! Đây là bản thử.\nChọn một mục:",
                         buttons=((Choice("Báo mâu thuẫn", "m:r"), Choice("Trợ giúp", "m:h")),))
        if inbound.callback == "m:r":
            return Reply("Bước 3/8: Nơi xảy ra\n\nChia sẻ vị trí hoặc nhập địa chỉ.",
                         buttons=((Choice("Hủy", "cancel"),),), share=ShareRequest("location", "Chia sẻ vị trí"))
        if inbound.location is not None:
            return Reply(f"Đã nhận vị trí {inbound.location.latitude:.4f}, {inbound.location.longitude:.4f}.\n"
                         "Bạn có muốn để lại số điện thoại?",
                         buttons=((Choice("Không chia sẻ", "no"),),), share=ShareRequest("phone", "Chia sẻ số điện thoại"))
        if inbound.phone is not None:
            return Reply(f"Đã nhận số {inbound.phone}.")
        if inbound.files:
            return Reply(f"Đã nhận tệp {inbound.files[0].file_name}.")
        if inbound.text is not None:
            return Reply(f"Bạn đã viết:\n{inbound.text}")
        return Reply(f"Bạn đã chọn {inbound.callback}.")


class ChatServer:
    """The real hub and routes on a loopback port, served from a background event loop."""

    def __init__(self, upload_dir: Path, max_upload_bytes: int) -> None:
        self.hub = WebChatHub()
        self.core = ScriptedCore(self.hub)
        self.connects: list[str] = []
        self.blobs: dict[str, tuple[bytes, str]] = {}  # the blob store, for files in replies
        self.upload_dir = upload_dir
        self.max_upload_bytes = max_upload_bytes
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chat-server", daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    def on_connect(self, chat_id: str) -> None:
        self.connects.append(chat_id)
        self.core.kick(chat_id)

    def add_blob(self, data: bytes, mime_type: str) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs[sha256] = (data, mime_type)
        return sha256

    async def read_blob(self, sha256: str) -> tuple[bytes, str] | None:
        return self.blobs.get(sha256)

    async def _start(self) -> None:
        routes = chat_routes(self.hub, self.core.handle, CatalogTranslator(), upload_dir=self.upload_dir,
                             max_upload_bytes=self.max_upload_bytes, on_connect=self.on_connect,
                             read_blob=self.read_blob)
        self.runner = web.AppRunner(create_web_app(routes))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def call(self, coroutine_function, *args):
        """Runs a coroutine on the server's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine_function(*args), self.loop).result(timeout=30)

    def start(self) -> None:
        self.thread.start()
        self.call(self._start)

    def stop(self) -> None:
        if self.runner is not None:
            self.call(self.runner.cleanup)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def chat_server(tmp_path) -> Iterator[ChatServer]:
    server = ChatServer(tmp_path / "uploads", max_upload_bytes=256 * 1024)
    server.start()
    yield server
    server.stop()
