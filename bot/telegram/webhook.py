"""The webhook route: answers 200 only after the core committed the update.

PTB's built-in webhook server answers before handling; here a failure answers 500, so
Telegram delivers the update again later.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Bot, Update

from bot.telegram.inbound import to_inbound
from bot.telegram.outbound import answer_callback
from bot.telegram.polling import ALLOWED_UPDATES
from handlers.messages import Inbound

log = logging.getLogger("hoagiai.telegram.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Handle = Callable[[Inbound], Awaitable[None]]


def webhook_route(bot: Bot, handle: Handle, *, bot_id: str, secret: str, max_file_bytes: int,
                  path: str = "/telegram/webhook") -> web.RouteDef:
    """A POST route for Telegram's calls; anything without our secret is refused untouched."""
    expected = secret.encode()
    background: set[asyncio.Task[None]] = set()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("webhook call refused: bad secret remote=%s", request.remote)
            return web.Response(status=403, text="forbidden")
        update = await _parse(request, bot)
        if update is None:
            return web.Response(status=400, text="bad update")
        try:
            inbound = await to_inbound(update, bot=bot, bot_id=bot_id, max_file_bytes=max_file_bytes)
            if inbound is not None:
                await handle(inbound)
        except Exception:  # noqa: BLE001 - not committed: Telegram must send it again
            log.exception("webhook update failed update=%s", update.update_id)
            return web.Response(status=500, text="try again")
        if update.callback_query is not None:
            _spawn(background, answer_callback(bot, update.callback_query.id))
        return web.Response(status=200, text="ok")

    return web.post(path, receive)


async def _parse(request: web.Request, bot: Bot) -> Update | None:
    """The update in the body, or None when it is not a JSON Update."""
    try:
        data = json.loads(await request.read())
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        return Update.de_json(data, bot)
    except Exception as error:  # noqa: BLE001 - whatever is wrong, the body is unusable
        log.warning("webhook body rejected error=%r", error)
        return None


def _spawn(tasks: set[asyncio.Task[None]], coroutine: Awaitable[None]) -> None:
    """Answer the callback without delaying the 200; keep a reference until it is done."""
    task = asyncio.ensure_future(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def register_webhook(bot: Bot, url: str, secret: str, *, max_connections: int | None = None) -> None:
    """Point Telegram at our route; pending updates are kept and delivered there."""
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                          drop_pending_updates=False, max_connections=max_connections)
