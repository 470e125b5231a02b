"""Neutral `Reply` -> Bot API calls, with Telegram's errors mapped to the outbox's terms."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
import warnings

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.telegram.limits import TELEGRAM_LIMITS, is_group_chat
from handlers.messages import Choice, Reply, ShareRequest
from handlers.ports import ChannelLimits, Pace, PermanentFailure, RetryLater

log = logging.getLogger("hoagiai.telegram.outbound")

MAX_TEXT = 4096  # Telegram counts UTF-16 code units
# Text of the short second message that carries the inline buttons when the first one carries
# the share keyboard; Telegram requires some text and shows a lone emoji oversized.
BUTTONS_TEXT = "…"
PERMANENT_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "have no rights to send")

Markup = dict[str, Any] | None  # reply_markup as the Bot API takes it

# Sends go through `do_api_request` with plain dicts: the Message that `send_message` would
# parse from every answer is never used, and parsing it was a tenth of the process's CPU under
# load. PTB warns that `send_message` exists; that advice does not apply here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)


class TelegramChannel:
    """The `PacedChannel` for Telegram: one Reply becomes one or more sendMessage calls, each
    paced by the outbox sender within `limits` (None: unpaced, e.g. a test without a sender)."""

    name = "telegram"

    def __init__(self, bot: Bot, limits: ChannelLimits | None = TELEGRAM_LIMITS) -> None:
        self._bot = bot
        self.limits = limits

    def is_group(self, chat_id: str) -> bool:
        return is_group_chat(chat_id)

    async def send(self, chat_id: str, payload: dict[str, Any], *, pace: Pace | None = None) -> None:
        """Sends the reply's messages in order, awaiting `pace()` before each API call. An error
        after the first part means the whole reply is sent again later (at least once)."""
        reply = Reply.from_payload(payload)
        try:
            for text, markup in render(reply):
                if pace is not None:
                    await pace()
                params: dict[str, Any] = {"chat_id": chat_id, "text": text}
                if markup is not None:
                    params["reply_markup"] = markup
                await self._bot.do_api_request("sendMessage", api_kwargs=params)
        except RetryAfter as error:
            raise RetryLater(_seconds(error), "telegram flood control") from error
        except (Forbidden, ChatMigrated) as error:
            raise PermanentFailure(str(error)) from error
        except BadRequest as error:
            if any(part in error.message.lower() for part in PERMANENT_BAD_REQUESTS):
                raise PermanentFailure(error.message) from error
            raise


def render(reply: Reply) -> list[tuple[str, Markup]]:
    """The messages to send, in order; keyboards always ride on the last text part."""
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
