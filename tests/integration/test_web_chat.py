"""The web chat over real HTTP and WebSockets: the real hub and routes, a fake core.

The fake `handle` records each Inbound and answers through `hub.send`, the way the outbox
sender would after the core committed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import close_open_sockets, create_web_app
from bot.web.chat import RETRY_SECONDS, WebChatHub, chat_routes
from bot.web.chat_page import SCRIPT_KEYS, language_from_header
from handlers.i18n import LANGUAGES, CatalogTranslator, load_catalog
from handlers.messages import Choice, Inbound, Reply, ShareRequest
from handlers.ports import RetryLater

TRANSLATOR = CatalogTranslator()
MAX_UPLOAD = 64 * 1024
CLIENT = "3f1c2a9e-7b7d-4c1e-9d7a-0c2b6f6e5a10"


@dataclass
class FakeCore:
    """Records inbounds and echoes each one back as a bot reply with a button."""

    hub: WebChatHub
    inbounds: list[Inbound] = field(default_factory=list)

    async def handle(self, inbound: Inbound) -> None:
        if inbound.text == "boom":
            raise RuntimeError("storage is down")
        self.inbounds.append(inbound)
        reply = Reply(text=f"got {self.describe(inbound)}\nline two",
                      buttons=((Choice("Đồng ý", "c:y"), Choice("Không", "c:n")),),
                      share=ShareRequest("location", "Chia sẻ vị trí"))
        await self.hub.send(inbound.chat_id, reply.to_payload())

    @staticmethod
    def describe(inbound: Inbound) -> str:
        if inbound.files:
            return f"file {inbound.files[0].sha256}"
        for name in ("text", "callback", "location", "phone"):
            value = getattr(inbound, name)
            if value is not None:
                return f"{name} {value}"
        return "nothing"


@dataclass
class Chat:
    client: TestClient
    hub: WebChatHub
    core: FakeCore
    connected: list[str]
    upload_dir: Path

    async def socket(self, client_id: str = CLIENT, lang: str = "vi") -> aiohttp.ClientWebSocketResponse:
        return await self.client.ws_connect(f"/chat/ws?client={client_id}&lang={lang}")


@pytest.fixture
async def chat(tmp_path):
    hub = WebChatHub()
    core = FakeCore(hub)
    connected: list[str] = []
    upload_dir = tmp_path / "uploads"
    routes = chat_routes(hub, core.handle, TRANSLATOR, upload_dir=upload_dir,
                         max_upload_bytes=MAX_UPLOAD, on_connect=connected.append)
    app = create_web_app(routes)
    async with TestClient(TestServer(app)) as client:
        yield Chat(client, hub, core, connected, upload_dir)


async def exchange(ws, message: dict | str) -> tuple[list[dict], dict]:
    """Sends one frame; returns the replies pushed before its answer, and the answer."""
    if isinstance(message, str):
        await ws.send_str(message)
    else:
        await ws.send_json(message)
    replies = []
    while True:
        frame = await ws.receive_json(timeout=5)
        if "reply" in frame:
            replies.append(frame["reply"])
        else:
            return replies, frame


def config_of(page: str) -> dict:
    match = re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', page, re.S)
    assert match, "page has no config"
    return json.loads(match.group(1))


# --- the page ---------------------------------------------------------------------------------

async def test_page_is_vietnamese_by_default(chat):
    response = await chat.client.get("/chat")
    page = await response.text()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<html lang="vi">' in page
    assert 'placeholder="Nhập tin nhắn…"' in page
    assert ">Gửi</button>" in page
    config = config_of(page)
    assert config["lang"] == "vi"
    assert config["maxUploadBytes"] == MAX_UPLOAD
    assert config["strings"]["web.share_location"] == "Chia sẻ vị trí"
    assert config["strings"]["web.connection_lost"].startswith("Mất kết nối")


async def test_page_in_english_from_query_or_browser(chat):
    by_query = await (await chat.client.get("/chat?lang=en")).text()
    by_header = await (await chat.client.get("/chat", headers={"Accept-Language": "en-US,en;q=0.9,vi;q=0.5"})).text()
    for page in (by_query, by_header):
        assert '<html lang="en">' in page
        assert 'placeholder="Type a message…"' in page
        assert config_of(page)["strings"]["web.share_phone"] == "Share phone number"
    assert '<html lang="vi">' in await (await chat.client.get("/chat?lang=fr")).text()


@pytest.mark.parametrize(("header", "lang"), [
    ("", "vi"), ("fr-FR,fr;q=0.9", "vi"), ("en", "en"), ("vi-VN,en;q=0.8", "vi"),
    ("fr;q=1, en;q=0.3, vi;q=0.7", "vi"), ("en;q=0, vi;q=0.1", "vi"), ("en;q=bad, en-GB", "en"),
])
def test_language_from_accept_language(header, lang):
    assert language_from_header(header) == lang


def test_every_page_string_is_in_both_catalogs():
    keys = set(SCRIPT_KEYS) | {"web.title", "web.subtitle", "web.placeholder", "web.send", "web.attach",
                               "web.log_label", "web.connecting", "web.noscript", "web.language.vi", "web.language.en",
                               "web.error.bad_json", "web.error.bad_message", "web.error.bad_location",
                               "web.error.bad_file", "web.error.file_too_large", "web.error.server"}
    for lang in LANGUAGES:
        missing = keys - set(load_catalog(lang))
        assert not missing, f"{lang}: {sorted(missing)}"


async def test_health_and_front_page(chat):
    health = await chat.client.get("/health")
    assert health.status == 200 and await health.json() == {"status": "ok"}
    root = await chat.client.get("/", allow_redirects=False)
    assert root.status == 302 and root.headers["Location"] == "/chat"


async def test_static_assets_and_nothing_else(chat):
    script = await chat.client.get("/chat/static/chat.js")
    assert script.status == 200 and "javascript" in script.content_type
    assert "textContent" in await script.text()
    assert (await chat.client.get("/chat/static/chat.css")).content_type == "text/css"
    for path in ("/chat/static/app.py", "/chat/static/..%2Fapp.py", "/chat/static/chat.html"):
        assert (await chat.client.get(path)).status == 404


# --- the WebSocket ----------------------------------------------------------------------------

async def test_text_round_trip(chat):
    ws = await chat.socket(lang="en")
    replies, answer = await exchange(ws, {"id": "m1", "type": "text", "text": "Xin chào"})
    assert answer == {"ack": "m1"}
    assert chat.connected == [CLIENT]
    inbound = chat.core.inbounds[-1]
    assert (inbound.platform, inbound.bot_id, inbound.chat_id) == ("web", "web", CLIENT)
    assert inbound.update_id == f"{CLIENT}:m1"
    assert (inbound.user.platform, inbound.user.external_id, inbound.user.language_code) == ("web", CLIENT, "en")
    assert inbound.text == "Xin chào" and inbound.chat_type == "private"
    assert inbound.received_at is not None
    assert replies == [{"text": "got text Xin chào\nline two",
                        "buttons": [[{"label": "Đồng ý", "data": "c:y"}, {"label": "Không", "data": "c:n"}]],
                        "share": {"kind": "location", "label": "Chia sẻ vị trí"}}]
    await ws.close()


async def test_text_is_normalised_to_nfc(chat):
    ws = await chat.socket()
    decomposed = "Đa\u0301t đai"  # "á" as a + combining acute, as some keyboards send it
    await exchange(ws, {"id": "m1", "type": "text", "text": decomposed})
    assert chat.core.inbounds[-1].text == "Đát đai"


async def test_callback_location_and_phone(chat):
    ws = await chat.socket()
    _, answer = await exchange(ws, {"id": "b1", "type": "callback", "callback": "c:y"})
    assert answer == {"ack": "b1"} and chat.core.inbounds[-1].callback == "c:y"
    _, answer = await exchange(ws, {"id": "l1", "type": "location", "location": {"latitude": 21.0285, "longitude": 105.8542}})
    location = chat.core.inbounds[-1].location
    assert answer == {"ack": "l1"} and (location.latitude, location.longitude) == (21.0285, 105.8542)
    _, answer = await exchange(ws, {"id": "p1", "type": "phone", "phone": " 0912 345 678 "})
    assert answer == {"ack": "p1"} and chat.core.inbounds[-1].phone == "0912 345 678"


async def test_file_is_stored_by_its_hash(chat):
    ws = await chat.socket()
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    digest = hashlib.sha256(data).hexdigest()
    message = {"id": "f1", "type": "file",
               "file": {"kind": "photo", "name": "C:\\fakepath\\ảnh 1.png", "mime": "image/png",
                        "data": base64.b64encode(data).decode()}}
    replies, answer = await exchange(ws, message)
    assert answer == {"ack": "f1"}
    assert replies[0]["text"].startswith(f"got file {digest}")
    (file,) = chat.core.inbounds[-1].files
    assert (file.kind, file.file_id, file.sha256, file.size) == ("photo", f"web:{digest}", digest, len(data))
    assert (file.mime_type, file.file_name) == ("image/png", "ảnh 1.png")
    assert file.data == data  # the bytes reach the core, e.g. to clean evidence of metadata
    assert (chat.upload_dir / digest).read_bytes() == data
    assert [p.name for p in chat.upload_dir.iterdir()] == [digest]


async def test_document_that_claims_to_be_a_photo_is_a_document(chat):
    ws = await chat.socket()
    message = {"id": "f2", "type": "file",
               "file": {"kind": "photo", "name": "đơn.pdf", "mime": "application/pdf", "data": base64.b64encode(b"%PDF-1.7").decode()}}
    _, answer = await exchange(ws, message)
    assert answer == {"ack": "f2"} and chat.core.inbounds[-1].files[0].kind == "document"


async def test_resent_message_keeps_its_update_id(chat):
    """After a reconnect the browser re-sends unacknowledged messages; the core dedupes by id."""
    first = await chat.socket()
    message = {"id": "same-id", "type": "text", "text": "một lần"}
    await exchange(first, message)
    await first.close()
    second = await chat.socket()
    _, answer = await exchange(second, message)
    assert answer == {"ack": "same-id"}
    assert [i.update_id for i in chat.core.inbounds] == [f"{CLIENT}:same-id"] * 2
    assert chat.connected == [CLIENT, CLIENT]


async def test_update_ids_are_scoped_by_client(chat):
    one, two = await chat.socket("client-one"), await chat.socket("client-two")
    await exchange(one, {"id": "x", "type": "text", "text": "a"})
    await exchange(two, {"id": "x", "type": "text", "text": "b"})
    assert [i.update_id for i in chat.core.inbounds] == ["client-one:x", "client-two:x"]


async def test_oversized_file_is_refused_with_a_message(chat):
    ws = await chat.socket()
    data = base64.b64encode(b"x" * (MAX_UPLOAD + 1)).decode()
    replies, answer = await exchange(ws, {"id": "big", "type": "file", "file": {"kind": "document", "name": "big.pdf", "data": data}})
    assert replies == []
    assert answer["id"] == "big" and answer["retry"] is False
    assert answer["error"] == TRANSLATOR("web.error.file_too_large", "vi", size="0.1", max="0.1")
    assert "quá lớn" in answer["error"]
    assert chat.core.inbounds == [] and not chat.upload_dir.exists()
    _, answer = await exchange(ws, {"id": "after", "type": "text", "text": "vẫn dùng được"})
    assert answer == {"ack": "after"}


async def test_bad_frames_are_answered_and_the_socket_stays_usable(chat):
    ws = await chat.socket(lang="en")
    cases = [
        ("{not json", None, "web.error.bad_json"),
        ('["a list"]', None, "web.error.bad_json"),
        (json.dumps({"type": "text", "text": "no id"}), None, "web.error.bad_message"),
        (json.dumps({"id": "bad id!", "type": "text", "text": "x"}), None, "web.error.bad_message"),
        (json.dumps({"id": "u1", "type": "sticker", "sticker": "x"}), "u1", "web.error.bad_message"),
        (json.dumps({"id": "u2", "type": "text", "text": 42}), "u2", "web.error.bad_message"),
        (json.dumps({"id": "u3", "type": "callback", "callback": "x" * 65}), "u3", "web.error.bad_message"),
        (json.dumps({"id": "u4", "type": "location", "location": {"latitude": 91, "longitude": 0}}), "u4", "web.error.bad_location"),
        (json.dumps({"id": "u5", "type": "location", "location": {"latitude": True, "longitude": 0}}), "u5", "web.error.bad_location"),
        (json.dumps({"id": "u6", "type": "phone", "phone": ""}), "u6", "web.error.bad_message"),
        (json.dumps({"id": "u7", "type": "file", "file": {"data": "not base64!"}}), "u7", "web.error.bad_file"),
        (json.dumps({"id": "u8", "type": "file", "file": {"data": ""}}), "u8", "web.error.bad_file"),
    ]
    for raw, message_id, key in cases:
        replies, answer = await exchange(ws, raw)
        assert replies == []
        assert answer == {"error": TRANSLATOR(key, "en"), "id": message_id, "retry": False}, raw
    await ws.send_bytes(b"\x00binary")
    assert (await ws.receive_json(timeout=5))["error"] == TRANSLATOR("web.error.bad_json", "en")
    assert chat.core.inbounds == []
    _, answer = await exchange(ws, {"id": "ok", "type": "text", "text": "still here"})
    assert answer == {"ack": "ok"}


async def test_very_long_text_goes_to_the_core(chat):
    """The core explains the length limit in the user's language; the edge does not cut."""
    ws = await chat.socket()
    _, answer = await exchange(ws, {"id": "long", "type": "text", "text": "a" * 25_000})
    assert answer == {"ack": "long"} and len(chat.core.inbounds[-1].text) == 25_000


async def test_frame_over_the_limit_closes_the_socket(chat):
    ws = await chat.socket()
    await ws.send_str(json.dumps({"id": "huge", "type": "text", "text": "a" * (2 * 1024 * 1024)}))
    frame = await ws.receive(timeout=5)
    assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert chat.core.inbounds == []


async def test_core_failure_asks_the_client_to_retry(chat):
    ws = await chat.socket()
    _, answer = await exchange(ws, {"id": "b", "type": "text", "text": "boom"})
    assert answer == {"error": TRANSLATOR("web.error.server", "vi"), "id": "b", "retry": True}
    _, answer = await exchange(ws, {"id": "c", "type": "text", "text": "fine"})
    assert answer == {"ack": "c"}


async def test_socket_needs_a_client_id(chat):
    for query in ("", "?client=", "?client=" + "x" * 41, "?client=a/b"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as error:
            await chat.client.ws_connect("/chat/ws" + query)
        assert error.value.status == 400


# --- the Channel ------------------------------------------------------------------------------

async def test_send_without_a_socket_asks_to_retry(chat):
    with pytest.raises(RetryLater) as wait:
        await chat.hub.send("nobody", Reply("xin chào").to_payload())
    assert wait.value.seconds == RETRY_SECONDS
    assert "not connected" in str(wait.value)


async def test_send_reaches_every_open_tab_then_waits_when_all_closed(chat):
    tabs = [await chat.socket(), await chat.socket()]
    assert chat.hub.is_connected(CLIENT)
    payload = Reply("Bước 2/8", buttons=((Choice("Tiếp tục", "next"),),)).to_payload()
    await chat.hub.send(CLIENT, payload)
    for tab in tabs:
        assert await tab.receive_json(timeout=5) == {"reply": json.loads(json.dumps(payload))}
    for tab in tabs:
        await tab.close()
    with pytest.raises(RetryLater):
        await chat.hub.send(CLIENT, payload)
    assert not chat.hub.is_connected(CLIENT)


async def test_close_all_closes_sockets_for_shutdown(chat):
    ws = await chat.socket()
    await chat.hub.close_all()
    frame = await ws.receive(timeout=5)
    assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY


async def test_app_shutdown_closes_open_sockets(chat):
    """Without this, aiohttp waits up to 60 s for open sockets before the process can exit."""
    ws = await chat.socket()
    await close_open_sockets(chat.client.app)
    frame = await ws.receive(timeout=5)
    assert frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
