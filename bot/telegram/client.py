"""The Bot API client: PTB's `Bot`, pointed at the configured server (Telegram, a local Bot API
server or a test fake). Only the client is used; updates are fetched by our own loops."""

from __future__ import annotations

from telegram import Bot

from bot.telegram.transport import AiohttpRequest

# Ordinary calls: fail fast so the outbox sender can retry with backoff.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
POOL_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 30.0
POOL_SIZE = 8  # concurrent Bot API calls; the outbox sender sends one chat's messages in order


def make_bot(token: str, base_url: str, base_file_url: str) -> Bot:
    """A `Bot` with its own connection pool for getUpdates, so a long poll never holds up sends."""
    request = AiohttpRequest(
        connection_pool_size=POOL_SIZE, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT, pool_timeout=POOL_TIMEOUT, media_write_timeout=MEDIA_WRITE_TIMEOUT,
    )
    # PTB adds the long-poll `timeout` to this read timeout for each getUpdates call.
    updates_request = AiohttpRequest(
        connection_pool_size=1, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT, pool_timeout=POOL_TIMEOUT,
    )
    return Bot(
        token, base_url=_strip_slash(base_url), base_file_url=_strip_slash(base_file_url),
        request=request, get_updates_request=updates_request,
    )


def bot_id_from_token(token: str) -> str:
    """The bot's numeric id, the part of the token before ':'; it keys update ids per bot."""
    bot_id, sep, secret = token.partition(":")
    if not sep or not bot_id.isdigit() or not secret:
        raise ValueError("a Telegram bot token looks like '123456:ABC-DEF...'")
    return bot_id


def _strip_slash(url: str) -> str:
    """PTB appends the token to the URL, so `.../bot/` would give `.../bot/123:ABC`."""
    return url if "{token}" in url else url.rstrip("/")
