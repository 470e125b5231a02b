"""One event loop runs everything: web app, Telegram intake, outbox sender, scheduler.

Shutdown is ordered: stop taking updates first, then the sender, then the database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.bootstrap import Container, build
from bot.config import Settings
from bot.web.app import create_web_app
from bot.web.chat import WebChatHub, chat_routes
from scheduler.runner import build_scheduler
from scheduler.rules import RulesError
from storage.migrate import require_up_to_date

log = logging.getLogger("hoagiai.runtime")


class ConfigurationError(Exception):
    """Settings that cannot work together; the message says what to set."""


def check_settings(settings: Settings) -> None:
    if settings.telegram_token and settings.telegram_mode == "webhook":
        if not settings.webhook_url:
            raise ConfigurationError("HOAGIAI_WEBHOOK_URL must be set in webhook mode")
        if not settings.webhook_secret:
            raise ConfigurationError("HOAGIAI_WEBHOOK_SECRET must be set in webhook mode")


async def serve(settings: Settings, *, use_telegram: bool = True, on_ready: Callable[[str], None] | None = None) -> None:
    """Run until SIGINT or SIGTERM."""
    check_settings(settings)
    await require_up_to_date(settings.database_url)
    try:
        container = build(settings)
    except RulesError as error:
        raise ConfigurationError(str(error)) from error
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    await container.sender.take_back_leases()  # before any update can lease a row to us again
    routes: list[web.RouteDef] = []
    background: list[Callable[[], Awaitable[None]]] = []
    if settings.web_enabled:
        routes += _web_chat(container)
    telegram_bot = None
    if use_telegram and settings.telegram_token:
        telegram_bot, telegram_routes, telegram_tasks = await _telegram(container, stop)
        routes += telegram_routes
        background += telegram_tasks

    runner = web.AppRunner(create_web_app(routes))
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    url = f"http://{settings.web_host}:{settings.web_port}"
    if telegram_bot is not None and settings.telegram_mode == "webhook":
        from bot.telegram.webhook import register_webhook

        await register_webhook(telegram_bot, settings.webhook_url, settings.webhook_secret.get_secret_value())

    scheduler = build_scheduler(container.uow_factory, container.clock, settings.timezone,
                                translator=container.translator, config=container.dispatcher.config,
                                on_commit=container.sender.kick, sweep_seconds=settings.sweep_seconds,
                                upload_dir=settings.upload_dir)
    scheduler.start()
    sender_task = asyncio.create_task(container.sender.run(stop), name="outbox")
    tasks = [asyncio.create_task(start(), name="intake") for start in background]
    log.info("ready url=%s telegram=%s mode=%s", url, bool(telegram_bot), settings.telegram_mode)
    if on_ready:
        on_ready(url)
    try:
        await stop.wait()
    finally:
        await _shutdown(container, runner, scheduler, tasks, sender_task, telegram_bot)


def _web_chat(container: Container) -> list[web.RouteDef]:
    settings = container.settings
    hub = WebChatHub(container.file_links)
    container.channels[hub.name] = hub
    return chat_routes(
        hub, container.dispatcher.handle, container.translator,
        upload_dir=settings.upload_dir, max_upload_bytes=settings.max_upload_bytes,
        on_connect=lambda chat_id: _spawn(container.sender.wake_chat(hub.name, chat_id)),
        read_blob=container.read_blob,
    )


_background: set[asyncio.Task] = set()


def _spawn(coroutine) -> None:
    """Run a short task without awaiting it; keep a reference until it is done."""
    task = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _telegram(container: Container, stop: asyncio.Event):
    from bot.telegram.client import bot_id_from_token, make_bot
    from bot.telegram.limits import TELEGRAM_LIMITS
    from bot.telegram.outbound import TelegramChannel

    settings = container.settings
    token = settings.telegram_token.get_secret_value()  # type: ignore[union-attr]
    bot = make_bot(token, settings.telegram_api_base_url, settings.telegram_file_url)
    await bot.initialize()
    # the outbox sender paces every send
    channel = TelegramChannel(bot, limits=TELEGRAM_LIMITS, read_blob=container.read_blob)
    container.channels[channel.name] = channel
    container.telegram_bot = bot
    bot_id = bot_id_from_token(token)
    if settings.telegram_mode == "webhook":
        from bot.telegram.webhook import webhook_route

        route = webhook_route(bot, container.dispatcher.handle, bot_id=bot_id,
                              secret=settings.webhook_secret.get_secret_value(),  # type: ignore[union-attr]
                              max_file_bytes=settings.max_upload_bytes)
        return bot, [route], []
    from bot.telegram.polling import poll_updates

    async def poll() -> None:
        await poll_updates(bot, container.dispatcher.handle, bot_id=bot_id, stop=stop,
                           timeout=settings.telegram_poll_timeout, max_file_bytes=settings.max_upload_bytes)

    return bot, [], [poll]


async def _shutdown(container, runner, scheduler, tasks, sender_task, telegram_bot) -> None:
    log.info("shutting down")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await runner.cleanup()
    scheduler.shutdown(wait=False)
    sender_task.cancel()
    await asyncio.gather(sender_task, return_exceptions=True)
    try:
        await asyncio.wait_for(container.sender.idle(), timeout=10)
    except Exception:  # noqa: BLE001 - unmarked rows are sent again after restart
        log.exception("outbox did not settle before shutdown")
    if telegram_bot is not None:
        try:
            await telegram_bot.shutdown()
        except Exception:  # noqa: BLE001 - closing a client must not hide the real exit
            log.exception("telegram shutdown failed")
    await container.engine.dispose()
