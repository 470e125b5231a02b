"""The web chat channel: a page, a WebSocket per open tab, and the `Channel` that pushes replies.

Inbound: each client message is validated, handed to the core (`handle` returns after the
update committed) and only then acknowledged, so the browser re-sends anything unacknowledged
after a reconnect and the core's update-id check makes that harmless.

Outbound: the outbox sender calls `WebChatHub.send`; with no tab open it raises `RetryLater`,
the row stays in the outbox and goes out once the browser is back (`on_connect` kicks the
sender).

Server → client frames:

    {"reply": {"text": "…", "buttons": [[{"label": "…", "data": "…"}]], "share": null,
               "files": [{"kind": "photo"|"document", "name": "…", "mime": "…", "caption": null,
                          "url": "/chat/files/<sha256>?name=…&sig=…"}]}}     files: only if any
    {"ack": "<id>"}                                   handled and committed
    {"error": "<translated text>", "id": "<id>"|null, "retry": true|false}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.web.app import track_socket
from bot.web.chat_files import FileLinks, file_route, reply_frame
from bot.web.chat_page import STATIC_DIR, page_response, pick_language, render_page
from bot.web.chat_protocol import (
    ClientMessage,
    Rejected,
    file_ref,
    frame_limit,
    parse_message,
    store_upload,
    to_inbound,
    valid_id,
)
from handlers.i18n import normalise_language
from handlers.messages import FileRef, Inbound
from handlers.ports import BlobReader, RetryLater, Translator

log = logging.getLogger("hoagiai.web.chat")

Handle = Callable[[Inbound], Awaitable[None]]
WS_PATH = "/chat/ws"
HEARTBEAT_SECONDS = 25.0  # finds phones that vanished without closing, so replies wait in the outbox
RETRY_SECONDS = 60  # a reconnecting tab wakes its rows at once
STATIC_FILES = {"chat.js": "text/javascript", "chat.css": "text/css"}


class WebChatHub:
    """The open WebSockets of each chat (a client may have several tabs), and the Channel.
    `links` signs the download links of the files in replies (see bot/web/chat_files.py)."""

    name = "web"

    def __init__(self, links: FileLinks | None = None) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.links = links or FileLinks()

    def attach(self, chat_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets.setdefault(chat_id, set()).add(ws)

    def detach(self, chat_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(chat_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[chat_id]

    def is_connected(self, chat_id: str) -> bool:
        return any(not ws.closed for ws in self._sockets.get(chat_id, ()))

    async def send(self, chat_id: str, payload: dict[str, Any]) -> None:
        """Pushes the reply to every open tab; RetryLater when none took it."""
        frame = {"reply": reply_frame(payload, chat_id, self.links)}
        delivered = 0
        for ws in list(self._sockets.get(chat_id, ())):
            if ws.closed:
                self.detach(chat_id, ws)
                continue
            try:
                await ws.send_json(frame)
                delivered += 1
            except (ConnectionError, RuntimeError) as error:
                log.info("web send failed chat=%s: %r", chat_id, error)
                self.detach(chat_id, ws)
        if not delivered:
            raise RetryLater(RETRY_SECONDS, "web client not connected")

    async def close_all(self, app: web.Application | None = None) -> None:
        """Closes every socket of this hub; browsers reconnect. (The app closes them on shutdown.)"""
        sockets = [ws for group in self._sockets.values() for ws in group]
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )


def chat_routes(
    hub: WebChatHub,
    handle: Handle,
    translate: Translator,
    *,
    upload_dir: Path,
    max_upload_bytes: int,
    on_connect: Callable[[str], None] | None = None,
    read_blob: BlobReader | None = None,
) -> list[web.RouteDef]:
    """GET /chat (the page), GET /chat/ws (the socket), GET /chat/static/<file> (script, style),
    GET /chat/files/<sha256> (a file of a reply, read with `read_blob`, for its chat only)."""
    session = _ChatSocket(hub, handle, translate, upload_dir, max_upload_bytes, on_connect)

    async def page(request: web.Request) -> web.Response:
        lang = pick_language(request)
        return page_response(render_page(translate, lang, max_upload_bytes=max_upload_bytes, ws_path=WS_PATH))

    return [
        web.get("/chat", page),
        web.get(WS_PATH, session.serve),
        web.get("/chat/static/{name}", static_file),
        file_route(hub.links, read_blob),
    ]


async def static_file(request: web.Request) -> web.StreamResponse:
    """Only the known assets: no directory listing, no path to wander out of the folder."""
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    response = web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})
    response.content_type = STATIC_FILES[name]
    return response


class _ChatSocket:
    """Serves one WebSocket at a time per call: reads, validates, hands to the core, answers."""

    def __init__(self, hub: WebChatHub, handle: Handle, translate: Translator, upload_dir: Path,
                 max_upload_bytes: int, on_connect: Callable[[str], None] | None) -> None:
        self.hub = hub
        self.handle = handle
        self.translate = translate
        self.upload_dir = upload_dir
        self.max_upload_bytes = max_upload_bytes
        self.on_connect = on_connect

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        chat_id = request.query.get("client", "")
        if not valid_id(chat_id):
            raise web.HTTPBadRequest(text="missing or malformed client id")
        lang = normalise_language(request.query.get("lang"))
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=frame_limit(self.max_upload_bytes))
        await ws.prepare(request)
        track_socket(request, ws)
        self.hub.attach(chat_id, ws)
        self._connected(chat_id)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._answer(ws, await self._receive(frame.data, chat_id, lang))
                elif frame.type == WSMsgType.BINARY:
                    await self._answer(ws, self._error("web.error.bad_json", lang, None, retry=False))
                elif frame.type == WSMsgType.ERROR:
                    log.info("web socket error chat=%s: %r", chat_id, ws.exception())
        finally:
            self.hub.detach(chat_id, ws)
        return ws

    def _connected(self, chat_id: str) -> None:
        if self.on_connect is None:
            return
        try:
            self.on_connect(chat_id)
        except Exception:  # noqa: BLE001 - a failed kick must not refuse the connection
            log.exception("on_connect failed chat=%s", chat_id)

    async def _receive(self, raw: str, chat_id: str, lang: str) -> dict[str, Any]:
        """The answer frame for one client frame: ack, or an error saying whether to retry."""
        try:
            message = parse_message(raw, self.max_upload_bytes)
        except Rejected as rejected:
            return self._error(rejected.key, lang, rejected.message_id, retry=False, **rejected.params)
        try:
            files = await self._store(message)
        except OSError:
            log.exception("web upload could not be stored chat=%s", chat_id)
            return self._error("web.error.server", lang, message.id, retry=True)
        inbound = to_inbound(message, chat_id, lang, files, received_at=datetime.now(timezone.utc))
        try:
            await self.handle(inbound)
        except Exception:  # noqa: BLE001 - the client retries; the socket must stay usable
            log.exception("web message failed chat=%s update=%s", chat_id, inbound.update_id)
            return self._error("web.error.server", lang, message.id, retry=True)
        return {"ack": message.id}

    async def _store(self, message: ClientMessage) -> tuple[FileRef, ...]:
        if message.upload is None:
            return ()
        digest = await asyncio.to_thread(store_upload, self.upload_dir, message.upload.data)
        return (file_ref(message.upload, digest),)

    def _error(self, key: str, lang: str, message_id: str | None, *, retry: bool, **params: Any) -> dict[str, Any]:
        return {"error": self.translate(key, lang, **params), "id": message_id, "retry": retry}

    @staticmethod
    async def _answer(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        """Best effort: if the tab is gone, it re-sends the unacknowledged message on return."""
        try:
            await ws.send_json(frame)
        except (ConnectionError, RuntimeError) as error:
            log.info("web answer not delivered: %r", error)
