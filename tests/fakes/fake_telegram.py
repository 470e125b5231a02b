"""A small fake Telegram Bot API server, for tests over real HTTP.

It answers `/bot<token>/<method>` with the real API's envelope and object shapes (so PTB parses
them), queues updates the test pushes, and hands them out like Telegram does: by getUpdates
long polling (the offset confirms and drops earlier updates) or, while a webhook is set, by
POSTing them in order to the webhook with its secret header, retrying until it answers 200.
With `rate_limits=RateLimits()` it answers sends over Telegram's limits with 429 (see
`flood_answers`).

    async with FakeTelegram() as fake:
        bot = make_bot(fake.token, fake.base_url, fake.base_file_url)
        fake.push_text(42, "/start")
        await fake.wait_for("42", 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123456:TEST"
DEFAULT_GROUP_ID = -4001
MAX_TEXT = 4096
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like the real API
# Form fields whose values PTB sends JSON-encoded (strings are sent raw).
JSON_FIELDS = {
    "reply_markup", "allowed_updates", "entities", "caption_entities", "link_preview_options",
    "reply_parameters", "media", "commands", "scope", "offset", "limit", "timeout", "message_id",
    "max_connections", "drop_pending_updates", "show_alert", "disable_notification",
    "protect_content", "cache_time", "latitude", "longitude", "message_thread_id",
}
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
UPDATE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member",
                "channel_post", "inline_query", "poll", "poll_answer", "message_reaction")
Predicate = Callable[[dict[str, Any]], bool]
RATE_LIMITED = {"sendmessage", "sendphoto", "senddocument"}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF8", b"RIFF")  # sendPhoto takes images only


@dataclass(frozen=True)
class RateLimits:
    """Telegram's send limits, as the fake enforces them when given: a send over a limit is
    answered 429 with `retry_after` (whole seconds, at least 1) and not performed. A limit is
    N sends in a sliding window, shortened by `tolerance` for the jitter a client cannot help
    (a client spacing its calls evenly never meets it); group chats have negative ids."""

    overall_per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    tolerance: float = 0.1


class ApiError(Exception):
    """Answered as `{"ok": false, ...}` with `code` as the HTTP status, like the real API."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class _Failure:
    method: str
    error: ApiError
    times: int


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    content: bytes


@dataclass(eq=False)
class _Queued:
    """A pending update; `delivered` once getUpdates handed it out."""

    update: dict[str, Any]
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _Webhook:
    url: str
    secret: str | None
    deliveries: int = 0
    failures: list[str] = field(default_factory=list)


class FakeTelegram:
    """The fake server; start it with `async with` or `await start()`."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "hoagiai_test_bot",
                 webhook_retry_max: float = 0.5, rate_limits: RateLimits | None = None) -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "HoaGiai",
                         "username": bot_username, "can_join_groups": True,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.webhook_retry_max = webhook_retry_max
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every API call, in order
        self.rate_limits = rate_limits
        self.flood_answers: list[dict[str, Any]] = []  # every 429 answered: at, method, chat_id, retry_after
        self._send_times: dict[str, deque[float]] = defaultdict(deque)  # "" = all chats; accepted sends only
        self.answered_callbacks: list[str] = []
        self.edits: list[dict[str, Any]] = []
        self.webhook: _Webhook | None = None
        self.allowed_updates: list[str] | None = None
        self._queue: list[_Queued] = []  # pending updates, in delivery order
        self.history: list[dict[str, Any]] = []  # every update ever queued, as queued
        self.handed_out: Counter[int] = Counter()  # update id -> getUpdates returns + webhook 200s
        self._tasks: set[asyncio.Task[None]] = set()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._messages: dict[str, list[dict[str, Any]]] = defaultdict(list)  # chat -> what the bot sent
        self._chats: dict[str, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._failures: list[_Failure] = []
        self._blocked: set[str] = set()
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._poll_generation = 0
        self._closing = False
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> "FakeTelegram":
        """Listen on 127.0.0.1 (`port=0`: a free port; pass the old port to come back on it)."""
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        self._delivery_task = asyncio.create_task(self._deliver_forever(), name="fake-telegram-webhook")
        return self

    async def stop(self) -> None:
        self._closing = True  # waiting long polls answer now, or cleanup would wait for them
        if self._changed is not None:
            await self._notify()
        if self._delivery_task is not None:
            self._delivery_task.cancel()
            await asyncio.gather(self._delivery_task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeTelegram":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._port is not None, "start() the fake first"
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- test side: users send things ----------------------------------------------------------

    def add_user(self, user_id: int, first_name: str | None = None, *, last_name: str | None = None,
                 language_code: str | None = "en", username: str | None = None) -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
        for key, value in (("last_name", last_name), ("language_code", language_code), ("username", username)):
            if value is not None:
                user[key] = value
        self._users[user_id] = user
        return user

    def add_chat(self, chat_id: int | str, chat_type: str = "private", title: str = "Test group") -> dict[str, Any]:
        """Make a chat known, so the bot may send to it (unknown chats: 400 chat not found)."""
        chat_id = int(chat_id)
        if chat_type == "private":
            user = self._user(chat_id)
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": title}
        self._chats[str(chat_id)] = chat
        return chat

    def block(self, chat_id: int | str) -> None:
        """The user blocked the bot: sends to the chat answer 403."""
        self._blocked.add(str(chat_id))

    def fail_next(self, method: str, code: int = 500, description: str = "Internal Server Error",
                  *, retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` fail with this error (429 with `retry_after`)."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        self._failures.append(_Failure(method.lower(), ApiError(code, description, parameters), times))

    def push_text(self, user_id: int, text: str, chat_type: str = "private", *,
                  chat_id: int | None = None, entities: list[dict[str, Any]] | None = None) -> int:
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        return self.push_message(user_id, fields, chat_type, chat_id=chat_id)

    def push_command(self, user_id: int, command: str, chat_type: str = "private", *, chat_id: int | None = None) -> int:
        text = command if command.startswith("/") else f"/{command}"
        length = len(text.split()[0])
        return self.push_text(user_id, text, chat_type, chat_id=chat_id,
                              entities=[{"type": "bot_command", "offset": 0, "length": length}])

    def push_photo(self, user_id: int, content: bytes, caption: str | None = None,
                   chat_type: str = "private", *, chat_id: int | None = None) -> int:
        """A photo in two sizes: a small thumbnail and the full picture (`content`), last."""
        thumb = self.add_file(b"thumbnail of " + hashlib.sha256(content).digest(), "photos", "jpg")
        full = self.add_file(content, "photos", "jpg")
        sizes = [self._photo_size(thumb, 90, 67), self._photo_size(full, 1280, 960)]
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user_id, fields, chat_type, chat_id=chat_id)

    def push_document(self, user_id: int, content: bytes, file_name: str = "document.pdf",
                      mime_type: str = "application/pdf", caption: str | None = None,
                      chat_type: str = "private", *, chat_id: int | None = None) -> int:
        stored = self.add_file(content, "documents", file_name.rsplit(".", 1)[-1])
        document = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(content)}
        fields: dict[str, Any] = {"document": document}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(user_id, fields, chat_type, chat_id=chat_id)

    def push_location(self, user_id: int, lat: float, lon: float, chat_type: str = "private") -> int:
        return self.push_message(user_id, {"location": {"latitude": lat, "longitude": lon}}, chat_type)

    def push_contact(self, user_id: int, phone: str, *, contact_user_id: int | None = None,
                     first_name: str = "Contact") -> int:
        """A shared contact; by default the sender's own (as the request_contact button sends)."""
        contact = {"phone_number": phone, "first_name": first_name,
                   "user_id": user_id if contact_user_id is None else contact_user_id}
        return self.push_message(user_id, {"contact": contact})

    def push_sticker(self, user_id: int, chat_type: str = "private") -> int:
        return self.push_media(user_id, "sticker", chat_type)

    def push_voice(self, user_id: int, chat_type: str = "private") -> int:
        return self.push_media(user_id, "voice", chat_type)

    def push_media(self, user_id: int, kind: str, chat_type: str = "private") -> int:
        """A message of a kind the bot does not use: sticker, voice, audio, video, video_note,
        animation, poll or dice, with the fields the real API sends."""
        return self.push_message(user_id, self._media_fields(kind), chat_type)

    def push_message(self, user_id: int, fields: dict[str, Any], chat_type: str = "private", *,
                     chat_id: int | None = None) -> int:
        """A `message` update from `user_id` with `fields` (text, photo, ...); returns its update_id."""
        chat = self._chat_for(user_id, chat_type, chat_id)
        key = str(chat["id"])
        message = {"message_id": next(self._message_ids[key]), "date": int(time.time()),
                   "chat": chat, "from": self._user(user_id), **fields}
        return self._enqueue({"message": message})

    def push_callback(self, user_id: int, data: str, *, message: dict[str, Any] | None = None) -> int:
        """A button press; `message` is the bot's message that carried the button."""
        if message is None:
            chat = self._chat_for(user_id, "private", None)
            message = {"message_id": next(self._message_ids[str(chat["id"])]), "date": int(time.time()),
                       "chat": chat, "from": self.bot_user, "text": "…"}
        query = {"id": f"cb{next(self._callback_ids)}", "from": self._user(user_id),
                 "chat_instance": f"ci{message['chat']['id']}", "message": message, "data": data}
        return self._enqueue({"callback_query": query})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue `update` as given; with an `update_id` already used, it is a re-delivery."""
        update = json.loads(json.dumps(update))
        if "update_id" in update:
            return self._append(update)
        return self._enqueue(update)

    def press(self, user_id: int, label: str, *, chat_id: int | str | None = None) -> int:
        """Press the newest button whose label is `label` (or, failing that, contains it)."""
        chat = str(user_id if chat_id is None else chat_id)
        for record in reversed(self._messages[chat]):
            choice = _find_button(record, label)
            if choice is not None:
                return self.push_callback(user_id, choice[1], message=self._message_object(record))
        raise AssertionError(f"no button {label!r} in chat {chat}; recent messages:\n{self.describe(chat)}")

    # --- test side: what the bot did -------------------------------------------------------------

    def sent_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        """The bot's messages in the chat, oldest first, as they are now (edits applied).

        Each: method, chat_id, message_id, at (time.monotonic() of the send), text (or caption),
        reply_markup (dict or None), buttons [(label, callback_data), ...] of the inline keyboard,
        params (the raw call), upload (sendPhoto/sendDocument of a new file: its filename,
        content and content_type as uploaded, else None)."""
        return list(self._messages[str(chat_id)])

    def last_buttons(self, chat_id: int | str) -> list[tuple[str, str]]:
        """The inline buttons of the newest message that has any."""
        for record in reversed(self._messages[str(chat_id)]):
            if record["buttons"]:
                return list(record["buttons"])
        return []

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method.lower()]

    def pushed(self, update_id: int) -> dict[str, Any]:
        """A copy of the update first queued with `update_id`: `push_raw` it to re-deliver it."""
        for update in self.history:
            if update["update_id"] == update_id:
                return json.loads(json.dumps(update))
        raise KeyError(update_id)

    def pending(self) -> list[dict[str, Any]]:
        """Updates not confirmed yet."""
        return [q.update for q in self._queue]

    def describe(self, chat_id: int | str, last: int = 5) -> str:
        lines = []
        for record in self._messages[str(chat_id)][-last:]:
            lines.append(f"- #{record['message_id']}: {record['text']!r} buttons={[b[0] for b in record['buttons']]}")
        return "\n".join(lines) or "(nothing sent)"

    async def wait_for(self, chat_id: int | str, until: Predicate | int, timeout: float = 10.0, *,
                       after: int = 0) -> Any:
        """Wait until the chat has `until` messages (returns them all) or until a message at index
        `after` or later satisfies the predicate (returns that message)."""
        chat = str(chat_id)
        assert self._changed is not None

        def check() -> Any:
            records = self._messages[chat]
            if isinstance(until, int):
                return list(records) if len(records) >= until else None
            return next((r for r in records[after:] if until(r)), None)

        async with self._changed:
            try:
                return await asyncio.wait_for(self._changed.wait_for(check), timeout)
            except TimeoutError:
                pass
        raise AssertionError(f"timed out after {timeout}s waiting in chat {chat}; recent messages:\n"
                             f"{self.describe(chat)}")

    async def wait_until_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot confirmed `update_id` (offset past it, or webhook 200)."""
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(
                    lambda: all(q.update_id != update_id for q in self._queue)), timeout)
            except TimeoutError:
                raise AssertionError(f"update {update_id} not confirmed after {timeout}s") from None

    # --- the API ---------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"].lower()
        try:
            params = await _params(request)
        except ValueError as error:
            return _error(ApiError(400, f"Bad Request: {error}"))
        self.calls.append((method, params))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            self._maybe_fail(method)
            self._check_rate(method, params)
            result = await handler(params)
        except ApiError as error:
            if error.code == 429:
                self.flood_answers.append({"at": time.monotonic(), "method": method,
                                           "chat_id": str(params.get("chat_id")),
                                           "retry_after": (error.parameters or {}).get("retry_after")})
            return _error(error)
        return web.json_response({"ok": True, "result": result})

    def _check_rate(self, method: str, params: dict[str, Any]) -> None:
        """With `rate_limits`, a send over a limit is answered 429 and not counted."""
        limits = self.rate_limits
        if limits is None or method not in RATE_LIMITED:
            return
        now, chat = time.monotonic(), str(params.get("chat_id"))
        windows = [("", limits.overall_per_second, 1.0), (chat, limits.per_chat_per_second, 1.0)]
        if chat.startswith("-"):
            windows.append((chat, limits.per_group_per_minute, 60.0))
        wait = max(self._window_wait(self._send_times[key], count, span - limits.tolerance, now)
                   for key, count, span in windows)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        for key in ("", chat):
            times = self._send_times[key]
            times.append(now)
            while times and times[0] <= now - 60:
                times.popleft()

    @staticmethod
    def _window_wait(times: deque[float], count: int, span: float, now: float) -> float:
        """How long until one more send keeps `count` sends in any `span` seconds."""
        if len(times) < count:
            return 0.0
        return times[-count] + span - now

    def _maybe_fail(self, method: str) -> None:
        for failure in self._failures:
            if failure.method == method and failure.times > 0:
                failure.times -= 1
                raise failure.error

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"]) or None
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        await self._confirm(offset)
        self._poll_generation += 1  # an older waiting call ends with a conflict
        generation = self._poll_generation
        await self._notify()
        deadline = time.monotonic() + timeout
        assert self._changed is not None
        async with self._changed:
            while True:
                if generation != self._poll_generation or self.webhook is not None:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                ready = self._ready(limit)
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
        for queued in ready:
            queued.delivered = True
            self.handed_out[queued.update_id] += 1
        return [q.update for q in ready]

    async def _confirm(self, offset: int) -> None:
        """Drop the updates handed out before whose id is below `offset` (the real semantics:
        an offset confirms every earlier update). Never-delivered re-deliveries stay queued."""
        if offset == 0:
            return
        before = len(self._queue)
        if offset < 0:
            keep = self._queue[offset:]
            self._queue = keep
        else:
            self._queue = [q for q in self._queue if not (q.update_id < offset and q.delivered)]
        if len(self._queue) != before:
            await self._notify()

    def _ready(self, limit: int) -> list[_Queued]:
        """The next updates to hand out; those of kinds the bot did not ask for are dropped."""
        self._queue = [q for q in self._queue if self._allowed(q.update)]
        return self._queue[:limit]

    def _allowed(self, update: dict[str, Any]) -> bool:
        if not self.allowed_updates:
            return True
        return any(kind in update for kind in self.allowed_updates)

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"]) or None
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = _Webhook(url, secret) if url else None
        self._poll_generation += 1  # a waiting getUpdates ends with a conflict
        await self._notify()
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook = None
        await self._notify()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {"url": self.webhook.url if self.webhook else "",
                                "has_custom_certificate": False, "pending_update_count": len(self._queue)}
        if self.webhook and self.webhook.failures:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook.failures[-1]
        return info

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat = self._sendable_chat(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _check_markup(params.get("reply_markup"))
        return await self._record("sendMessage", chat, params, {"text": text}, markup)

    async def _m_sendphoto(self, params: dict[str, Any]) -> Any:
        chat = self._sendable_chat(params)
        value = params.get("photo")
        if isinstance(value, _Upload) and not value.content.startswith(IMAGE_MAGIC):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        photo = self._sent_file(value)
        sizes = [self._photo_size(photo, 1280, 960)]
        fields = {"photo": sizes, **_caption(params)}
        return await self._record("sendPhoto", chat, params, fields, _check_markup(params.get("reply_markup")),
                                  upload=_upload_of(value))

    async def _m_senddocument(self, params: dict[str, Any]) -> Any:
        chat = self._sendable_chat(params)
        value = params.get("document")
        stored = self._sent_file(value)
        document = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_size": len(stored.content)}
        if isinstance(value, _Upload):  # the real API keeps the uploaded name and type
            document.update(file_name=value.filename, mime_type=value.content_type)
        fields = {"document": document, **_caption(params)}
        return await self._record("sendDocument", chat, params, fields, _check_markup(params.get("reply_markup")),
                                  upload=_upload_of(value))

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        record = self._record_to_edit(params)
        text = str(params.get("text") or "")
        markup = _check_markup(params.get("reply_markup"))
        if text == record["text"] and markup == record["reply_markup"]:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content "
                                "and reply markup are exactly the same as a current content and reply "
                                "markup of the message")
        record.update(text=text, reply_markup=markup, buttons=_buttons(markup))
        return await self._edited(record, params)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        record = self._record_to_edit(params)
        markup = _check_markup(params.get("reply_markup"))
        record.update(reply_markup=markup, buttons=_buttons(markup))
        return await self._edited(record, params)

    async def _m_deletemessage(self, params: dict[str, Any]) -> Any:
        record = self._record_to_edit(params)
        record["deleted"] = True
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        self.answered_callbacks.append(str(params.get("callback_query_id")))
        return True

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(stored.content), "file_path": stored.path}

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        self._sendable_chat(params)
        return True

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, params: dict[str, Any]) -> Any:
        return True

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.path == path), None)
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # --- webhook delivery ------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        """While a webhook is set, POST the oldest pending update until it is answered 200."""
        delay = 0.05
        while True:
            queued, hook = await self._next_for_webhook()
            if await self._post(hook, queued.update):
                self.handed_out[queued.update_id] += 1
                delay = 0.05
                await self._drop(queued)
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.webhook_retry_max)

    async def _next_for_webhook(self) -> tuple[_Queued, _Webhook]:
        assert self._changed is not None
        async with self._changed:
            await self._changed.wait_for(lambda: self.webhook is not None and bool(self._ready(1)))
            assert self.webhook is not None
            return self._queue[0], self.webhook

    async def _post(self, hook: _Webhook, update: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        if hook.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret
        assert self._session is not None
        hook.deliveries += 1
        try:
            async with self._session.post(hook.url, data=json.dumps(update), headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=30)) as response:
                await response.read()
                if response.status == 200:
                    return True
                hook.failures.append(f"Wrong response from the webhook: {response.status}")
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            hook.failures.append(f"Connection failed: {error!r}")
        return False

    async def _drop(self, queued: _Queued) -> None:
        self._queue = [q for q in self._queue if q is not queued]
        await self._notify()

    # --- helpers ---------------------------------------------------------------------------------

    def add_file(self, content: bytes, folder: str = "documents", extension: str = "bin") -> _StoredFile:
        """Register a file the bot can getFile and download; returns its ids and path."""
        number = next(self._file_ids)
        stored = _StoredFile(f"FILE{number:04d}{hashlib.sha1(content).hexdigest()[:12]}",
                             f"U{number:04d}", f"{folder}/file_{number}.{extension}", content)
        self._files[stored.file_id] = stored
        return stored

    def _photo_size(self, stored: _StoredFile, width: int, height: int) -> dict[str, Any]:
        return {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "width": width,
                "height": height, "file_size": len(stored.content)}

    def _media_fields(self, kind: str) -> dict[str, Any]:
        stored = self.add_file(f"{kind} content".encode(), kind, "bin")
        ids = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_size": len(stored.content)}
        shapes: dict[str, dict[str, Any]] = {
            "sticker": {"sticker": {**ids, "type": "regular", "width": 512, "height": 512,
                                    "is_animated": False, "is_video": False, "emoji": "👍"}},
            "voice": {"voice": {**ids, "duration": 3, "mime_type": "audio/ogg"}},
            "audio": {"audio": {**ids, "duration": 120, "mime_type": "audio/mpeg", "title": "Song"}},
            "video": {"video": {**ids, "width": 640, "height": 480, "duration": 10}},
            "video_note": {"video_note": {**ids, "length": 240, "duration": 5}},
            "animation": {"animation": {**ids, "width": 320, "height": 240, "duration": 2},
                          "document": {**ids, "file_name": "a.gif.mp4", "mime_type": "video/mp4"}},
            "poll": {"poll": {"id": "5001", "question": "Lunch?", "options": [
                {"persistent_id": "o1", "text": "Yes", "voter_count": 0},
                {"persistent_id": "o2", "text": "No", "voter_count": 0}],
                "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}},
            "dice": {"dice": {"emoji": "🎲", "value": 4}},
        }
        if kind not in shapes:
            raise ValueError(f"unknown media kind {kind!r}; known: {sorted(shapes)}")
        return shapes[kind]

    def _user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id)

    def _chat_for(self, user_id: int, chat_type: str, chat_id: int | None) -> dict[str, Any]:
        if chat_type == "private":
            return self._chats.get(str(user_id)) or self.add_chat(user_id)
        chat_id = DEFAULT_GROUP_ID if chat_id is None else chat_id
        return self._chats.get(str(chat_id)) or self.add_chat(chat_id, chat_type)

    def _enqueue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        return self._append({"update_id": update_id, **update})

    def _append(self, update: dict[str, Any]) -> int:
        update_id = int(update["update_id"])
        # Later pushes get later ids, even after a push_raw with a chosen id.
        self._update_ids = itertools.count(max(update_id + 1, next(self._update_ids)))
        self._queue.append(_Queued(update))
        self.history.append(json.loads(json.dumps(update)))
        self._notify_soon()
        return update_id

    def _notify_soon(self) -> None:
        """Wake waiters from synchronous test code (needs a running loop: the tests are async)."""
        if self._changed is not None:
            task = asyncio.get_running_loop().create_task(self._notify())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def _sendable_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        key = str(params.get("chat_id"))
        if key in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._chats.get(key)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _sent_file(self, value: Any) -> _StoredFile:
        """A file the bot sends: an upload (multipart) or an existing file_id."""
        if isinstance(value, _Upload):
            return self.add_file(value.content, "sent", value.filename.rsplit(".", 1)[-1] or "bin")
        stored = self._files.get(str(value))
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return stored

    async def _record(self, method: str, chat: dict[str, Any], params: dict[str, Any],
                      fields: dict[str, Any], markup: dict[str, Any] | None,
                      upload: _Upload | None = None) -> dict[str, Any]:
        key = str(chat["id"])
        record = {"method": method, "chat_id": key, "message_id": next(self._message_ids[key]),
                  "date": int(time.time()), "at": time.monotonic(), "text": fields.get("text", fields.get("caption")),
                  "reply_markup": markup, "buttons": _buttons(markup), "fields": fields,
                  "params": _printable(params), "upload": upload}
        self._messages[key].append(record)
        await self._notify()
        return self._message_object(record)

    def _record_to_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        key, message_id = str(params.get("chat_id")), int(params.get("message_id") or 0)
        record = next((r for r in self._messages[key] if r["message_id"] == message_id), None)
        if record is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return record

    async def _edited(self, record: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        self.edits.append(_printable(params))
        await self._notify()
        return {**self._message_object(record), "edit_date": int(time.time())}

    def _message_object(self, record: dict[str, Any]) -> dict[str, Any]:
        """The Bot API `Message` for something the bot sent."""
        message = {"message_id": record["message_id"], "date": record["date"],
                   "chat": self._chats[record["chat_id"]], "from": self.bot_user}
        message.update(record["fields"])
        if record["method"] == "sendMessage":
            message["text"] = record["text"]
        markup = record["reply_markup"]
        if markup and "inline_keyboard" in markup:  # only inline keyboards are echoed back
            message["reply_markup"] = markup
        return message


@dataclass
class _Upload:
    """A file the bot uploaded (multipart): its name and type as the part's headers gave them."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def _upload_of(value: Any) -> _Upload | None:
    return value if isinstance(value, _Upload) else None


async def _params(request: web.Request) -> dict[str, Any]:
    """The call's parameters from the query string and a JSON, form or multipart body."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        body = await request.read()
        if body:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            params.update(data)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = _Upload(value.filename or "file", value.file.read(), value.content_type)
            else:
                params[key] = _decode(key, value)
    return params


def _decode(key: str, value: str) -> Any:
    if key not in JSON_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"can't parse {key} JSON object") from None


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", ()):
        for button in row:
            data = button.get("callback_data")
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _buttons(markup: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not markup:
        return []
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", ()) for b in row]


def _find_button(record: dict[str, Any], label: str) -> tuple[str, str] | None:
    if record.get("deleted"):
        return None
    exact = [b for b in record["buttons"] if b[0] == label]
    partial = [b for b in record["buttons"] if label in b[0]]
    return (exact or partial or [None])[0]


def _caption(params: dict[str, Any]) -> dict[str, Any]:
    return {"caption": params["caption"]} if params.get("caption") else {}


def _printable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<upload {v.filename} {len(v.content)} bytes>" if isinstance(v, _Upload) else v)
            for k, v in params.items()}


def _error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)
