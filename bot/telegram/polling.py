"""Long polling that confirms an update only after the core committed it.

PTB's `Updater` advances the offset before the handlers run; here the offset moves past an
update only once `handle` returned, and the next getUpdates call confirms it to Telegram.
A failing update is retried, with backoff, until it succeeds: never skipped, order kept.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError

from bot.telegram.inbound import to_inbound
from bot.telegram.outbound import answer_callback
from handlers.messages import Inbound

log = logging.getLogger("hoagiai.telegram.polling")

ALLOWED_UPDATES = ["message", "callback_query"]
Handle = Callable[[Inbound], Awaitable[None]]
T = TypeVar("T")


class _Stopped(Exception):
    """`stop` was set while waiting."""


@dataclass(frozen=True)
class Unparseable:
    """An update PTB cannot parse (a newer Bot API?): it can never be handled, only skipped."""

    update_id: int
    kinds: tuple[str, ...]


class Backoff:
    """Exponential delays: first, 2*first, ... capped; `reset()` after a success."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap = first, cap
        self.current = first

    def next(self) -> float:
        delay, self.current = self.current, min(self.current * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.current = self.first


async def poll_updates(
    bot: Bot, handle: Handle, *, bot_id: str, stop: asyncio.Event, timeout: int = 25,
    max_file_bytes: int, min_backoff: float = 1.0, max_backoff: float = 30.0,
) -> None:
    """Fetch and handle updates in order until `stop` is set."""
    backoff = Backoff(min_backoff, max_backoff)
    offset: int | None = None
    try:
        await _retrying(lambda: bot.delete_webhook(drop_pending_updates=False), stop, backoff, "deleteWebhook")
        while not stop.is_set():
            updates = await _retrying(lambda: _fetch(bot, offset, timeout), stop, backoff, "getUpdates")
            await _handle_batch(updates, bot, handle, bot_id, max_file_bytes, stop, (min_backoff, max_backoff))
            if updates:
                # max(): a re-delivered older update must not move the offset back
                offset = max(offset or 0, max(update.update_id for update in updates) + 1)
    except _Stopped:
        pass
    await asyncio.gather(*_callback_answers, return_exceptions=True)
    await _confirm(bot, offset)


_callback_answers: set[asyncio.Task[None]] = set()


def _chat_key(update: Update | Unparseable) -> object:
    """Updates of one chat keep their order; different chats are handled side by side."""
    if isinstance(update, Unparseable) or update.effective_chat is None:
        return ("update", update.update_id)
    return update.effective_chat.id


async def _handle_batch(updates: list[Update | Unparseable], bot: Bot, handle: Handle, bot_id: str,
                        max_file_bytes: int, stop: asyncio.Event, backoff: tuple[float, float]) -> None:
    """Handle one getUpdates batch: each chat's updates in order, chats concurrently. The
    offset moves past the batch only when every update in it has committed."""
    by_chat: dict[object, list[Update | Unparseable]] = {}
    for update in updates:
        by_chat.setdefault(_chat_key(update), []).append(update)

    async def chat_in_order(chat_updates: list[Update | Unparseable]) -> None:
        chat_backoff = Backoff(*backoff)
        for update in chat_updates:
            if isinstance(update, Unparseable):
                log.error("skipping an update PTB cannot parse update=%s kinds=%s", update.update_id, update.kinds)
                continue
            await _handle_until_done(update, bot, handle, bot_id, max_file_bytes, stop, chat_backoff)

    results = await asyncio.gather(*(chat_in_order(chat) for chat in by_chat.values()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _fetch(bot: Bot, offset: int | None, timeout: int) -> list[Update | Unparseable]:
    """The next updates. One that PTB cannot parse fails the whole batch, so then the batch is
    fetched again as raw JSON and parsed one by one, lest one bad update block every chat."""
    try:
        return list(await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES))
    except TelegramError:
        raise
    except Exception:  # noqa: BLE001 - PTB's parser failed (and logged the data)
        log.warning("getUpdates: a batch PTB cannot parse, parsing one by one")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "use Bot.get_updates": exactly what failed
        raw: list[dict[str, Any]] = await bot.do_api_request(
            "getUpdates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES})
    return [_parse(bot, data) for data in raw]


def _parse(bot: Bot, data: dict[str, Any]) -> Update | Unparseable:
    try:
        return Update.de_json(data, bot)
    except Exception:  # noqa: BLE001 - whatever PTB chokes on
        return Unparseable(int(data["update_id"]), tuple(k for k in data if k != "update_id"))


async def _handle_until_done(update: Update, bot: Bot, handle: Handle, bot_id: str,
                             max_file_bytes: int, stop: asyncio.Event, backoff: Backoff) -> None:
    """Hand the update to the core, again and again until it commits (or we are stopped)."""

    async def once() -> None:
        inbound = await to_inbound(update, bot=bot, bot_id=bot_id, max_file_bytes=max_file_bytes)
        if inbound is not None:
            await handle(inbound)

    await _retrying(once, stop, backoff, f"update {update.update_id}")
    if update.callback_query is not None:
        # Stops the button's spinner; the user's answer is already stored, so do not wait.
        task = asyncio.ensure_future(answer_callback(bot, update.callback_query.id))
        _callback_answers.add(task)
        task.add_done_callback(_callback_answers.discard)


async def _retrying(call: Callable[[], Awaitable[T]], stop: asyncio.Event, backoff: Backoff, what: str) -> T:
    """`call()` until it succeeds, sleeping with backoff between failures; raises _Stopped."""
    while True:
        try:
            result = await _unless_stopped(call(), stop)
        except _Stopped:
            raise
        except TelegramError as error:  # network trouble, Conflict, a 5xx: expected now and then
            delay = backoff.next()
            # A revoked token (InvalidToken) needs a person; keep trying so a fix needs no restart.
            level = logging.ERROR if isinstance(error, InvalidToken) else logging.WARNING
            log.log(level, "%s failed, retrying in %.1fs error=%r", what, delay, error)
            await _sleep(delay, stop)
            continue
        except Exception:  # noqa: BLE001 - the core or storage failed: retry, never skip
            delay = backoff.next()
            log.exception("%s failed, retrying in %.1fs", what, delay)
            await _sleep(delay, stop)
            continue
        backoff.reset()
        return result


async def _unless_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T:
    """Await `awaitable`, cancelling it as soon as `stop` is set (a long poll must not delay exit)."""
    if stop.is_set():
        _close(awaitable)
        raise _Stopped
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise _Stopped
    return task.result()


def _close(awaitable: Awaitable[object]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()  # a coroutine never awaited would warn


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
    raise _Stopped


async def _confirm(bot: Bot, offset: int | None) -> None:
    """Tell Telegram what was handled before exiting, so a restart is not sent it again.

    Best effort: if this fails the core ignores the repeats anyway."""
    if offset is None:
        return
    try:
        await bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
    except TelegramError as error:
        log.info("final offset confirmation failed error=%s", error)
