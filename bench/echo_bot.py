"""A bare python-telegram-bot echo bot: the ceiling `form_load.py --mode echo` measures.

PTB's `Application` with its own polling (`run_polling`) and default settings (updates are
processed one at a time, like hoagiai's polling loop): a text message is sent back as it came,
a button press is answered (answerCallbackQuery) and its data is sent back as a message.

Configured by the environment `form_load.py` sets for it:
  BENCH_TELEGRAM_TOKEN         the bot token (e.g. 123456:BENCH)
  BENCH_TELEGRAM_API_BASE_URL  the Bot API base URL (e.g. http://127.0.0.1:PORT/bot)
  BENCH_TELEGRAM_POLL_TIMEOUT  long-polling timeout in seconds (default 1, as hoagiai in the bench)

SIGINT or SIGTERM stop it cleanly (PTB's `run_polling` handles them).
"""

from __future__ import annotations

import datetime as dtm
import logging
import os

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    await context.bot.send_message(chat_id=message.chat_id, text=message.text)


async def echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await context.bot.send_message(chat_id=chat_id, text=query.data or "(no data)")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    token = os.environ["BENCH_TELEGRAM_TOKEN"]
    base_url = os.environ["BENCH_TELEGRAM_API_BASE_URL"].rstrip("/")
    timeout = float(os.environ.get("BENCH_TELEGRAM_POLL_TIMEOUT", "1"))
    application = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo_text))  # commands too: /start is echoed
    application.add_handler(CallbackQueryHandler(echo_button))
    print("echo bot polling", flush=True)
    application.run_polling(timeout=dtm.timedelta(seconds=timeout), allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
