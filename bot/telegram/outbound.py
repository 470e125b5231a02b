"""Neutral `Reply` -> Bot API calls, with Telegram's errors mapped to the outbox's terms.

A reply is its text messages (buttons on the last one), then each of its files as sendPhoto or
sendDocument, uploading the bytes read from the blob store.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
import warnings

from telegram import Bot, InputFile
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.telegram.limits import TELEGRAM_LIMITS, is_group_chat
from handlers.messages import Choice, OutFile, Reply, ShareRequest
from handlers.ports import BlobReader, ChannelLimits, Pace, PermanentFailure, RetryLater

log = logging.getLogger("hoagiai.telegram.outbound")

MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CAPTION = 1024
# Text of the short second message that carries the inline buttons when the first one carries
# the share keyboard; Telegram requires some text and shows a lone emoji oversized.
BUTTONS_TEXT = "…"
PERMANENT_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "have no rights to send")

Markup = dict[str, Any] | None  # reply_markup as the Bot API takes it

# Sends go through `do_api_request` with plain dicts: the Message that `send_message` would
# parse from every answer is never used, and parsing it was a tenth of the process's CPU under
# load. PTB warns that `send_message` exists; that advice does not apply here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)
# Files are rare (reports): they go through PTB's own send_photo / send_document.


class TelegramChannel:
    """The `PacedChannel` for Telegram: one Reply becomes one or more Bot API calls, each paced
    by the outbox sender within `limits` (None: unpaced, e.g. a test without a sender).
    `read_blob` gives the bytes of the files replies name (bootstrap reads the blob store)."""

    name = "telegram"

    def __init__(self, bot: Bot, limits: ChannelLimits | None = TELEGRAM_LIMITS,
                 read_blob: BlobReader | None = None) -> None:
        self._bot = bot
        self.limits = limits
        self._read_blob = read_blob

    def is_group(self, chat_id: str) -> bool:
        return is_group_chat(chat_id)

    async def send(self, chat_id: str, payload: dict[str, Any], *, pace: Pace | None = None) -> None:
        """Sends the reply's messages in order, awaiting `pace()` before each API call. An error
        after the first part means the whole reply is sent again later (at least once). Files
        are read before anything is sent, so a missing one sends nothing."""
        reply = Reply.from_payload(payload)
        uploads = [await self._upload(chat_id, file) for file in reply.files]
        try:
            for text, markup in render(reply):
                params: dict[str, Any] = {"chat_id": chat_id, "text": text}
                if markup is not None:
                    params["reply_markup"] = markup
                if pace is not None:
                    await pace()
                await self._bot.do_api_request("sendMessage", api_kwargs=params)
            for file, upload in zip(reply.files, uploads):
                if pace is not None:
                    await pace()
                await self._send_file(chat_id, file, upload)
        except RetryAfter as error:
            raise RetryLater(_seconds(error), "telegram flood control") from error
        except (Forbidden, ChatMigrated) as error:
            raise PermanentFailure(str(error)) from error
        except BadRequest as error:
            if any(part in error.message.lower() for part in PERMANENT_BAD_REQUESTS):
                raise PermanentFailure(error.message) from error
            raise

    async def _send_file(self, chat_id: str, file: OutFile, upload: InputFile) -> None:
        """One multipart upload: sendPhoto (shown in the chat) or sendDocument (name kept)."""
        caption = shorten(file.caption, MAX_CAPTION) if file.caption and file.caption.strip() else None
        if file.kind == "photo":
            await self._bot.send_photo(chat_id, photo=upload, caption=caption)
        else:
            await self._bot.send_document(chat_id, document=upload, caption=caption)

    async def _upload(self, chat_id: str, file: OutFile) -> InputFile:
        """The file's bytes as PTB uploads them (multipart); a blob that is gone (pruned, or
        never stored) can never be sent."""
        if self._read_blob is None:
            raise PermanentFailure("this Telegram channel was built without a blob reader")
        blob = await self._read_blob(file.sha256)
        if blob is None:
            log.error("telegram file missing chat=%s sha256=%s name=%r: the blob is not stored",
                      chat_id, file.sha256, file.file_name)
            raise PermanentFailure(f"blob {file.sha256} ({file.file_name}) is not stored")
        upload = InputFile(blob[0], filename=safe_file_name(file.file_name))
        upload.mimetype = file.mime_type or blob[1]  # PTB would guess it from the name
        return upload


def safe_file_name(name: str) -> str:
    """The name as a multipart header carries it: NFC, no control characters, no quotes or
    backslashes (which the header would have to escape), never empty."""
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", name)
                      if unicodedata.category(ch)[0] != "C" and ch not in '"\\/')
    return cleaned.strip() or "file"


def shorten(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units, with an ellipsis when cut."""
    if _units(text) <= limit:
        return text
    return text[:_fitting_prefix(text, limit - 1)].rstrip() + "…"


def render(reply: Reply) -> list[tuple[str, Markup]]:
    """The text messages to send, in order; keyboards always ride on the last text part. A
    reply of files only (no text, no keyboard) has none."""
    if not reply.text.strip() and reply.files and not reply.buttons and reply.share is None:
        return []
    parts = split_text(reply.text) if reply.text.strip() else [BUTTONS_TEXT]
    messages: list[tuple[str, Markup]] = [(part, None) for part in parts]
    inline = inline_keyboard(reply.buttons)
    if reply.share is None:
        messages[-1] = (messages[-1][0], inline)
        return messages
    # A message carries one keyboard: the share button first, the inline buttons after it.
    messages[-1] = (messages[-1][0], share_keyboard(reply.share))
    if inline is not None:
        messages.append((BUTTONS_TEXT, inline))
    return messages


def inline_keyboard(rows: Sequence[Sequence[Choice]]) -> Markup:
    keyboard = [[{"text": c.label, "callback_data": c.data} for c in row] for row in rows if row]
    return {"inline_keyboard": keyboard} if keyboard else None


def share_keyboard(share: ShareRequest) -> Markup:
    flag = "request_location" if share.kind == "location" else "request_contact"
    button = {"text": share.label, flag: True}
    return {"keyboard": [[button]], "one_time_keyboard": True, "resize_keyboard": True}


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, else a line, else a space."""
    parts: list[str] = []
    rest = text
    while _units(rest) > limit:
        cut = _cut_point(rest, limit)
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    """Where to cut: the last boundary in the second half of what fits, else where it is full."""
    fits = _fitting_prefix(text, limit)
    head = text[:fits]
    for separator in ("\n\n", "\n", " "):
        index = head.rfind(separator)
        if index >= fits // 2:
            return index + len(separator)
    return fits


def _fitting_prefix(text: str, limit: int) -> int:
    """The number of characters whose UTF-16 length is at most `limit`."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return max(index, 1)
    return len(text)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def answer_callback(bot: Bot, callback_query_id: str) -> None:
    """Stops the button's spinner; best effort, since the update is already handled."""
    try:
        await bot.answer_callback_query(callback_query_id)
    except TelegramError as error:  # e.g. "query is too old": harmless
        log.info("answer_callback_query failed error=%s", error)
