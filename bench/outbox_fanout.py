#!/usr/bin/env python3
"""Fan-out benchmark: N outbox messages to N distinct chats within Telegram's rate limits.

Run by hand (not a pytest test); it prints a table and one JSON line:

    python bench/outbox_fanout.py --messages 1000                 # SQLite, about 35 s
    python bench/outbox_fanout.py --db postgres                   # 10,000 messages, about 6 min

Everything runs in this process, on one event loop: the fake Telegram Bot API
(tests/fakes/fake_telegram.py) with its rate limits on (it answers 429 to a send over 30/s
overall or 1/s in a chat), and hoagiai's real outbox sender (scheduler/outbox.py) with the real
Telegram channel (bot/telegram/outbound.py, PTB's Bot over HTTP on 127.0.0.1) and Telegram's
default limits. The N rows are written to the outbox first (like an announcement to every
resident), then the sender's loop sweeps them out. The database is a SQLite file in a temporary
directory, or a fresh PostgreSQL database created for the run and dropped afterwards.

The achieved rate runs from the first send to the last one as the fake received them, against
the 30/s limit (the aim: at least 95%); the fake's 429 answers are counted (the aim: 0). The
run fails (exit 1) when a message is missing, sent twice, or not marked sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.telegram.client import make_bot  # noqa: E402
from bot.telegram.limits import TELEGRAM_LIMITS  # noqa: E402
from bot.telegram.outbound import TelegramChannel  # noqa: E402
from handlers.messages import Outgoing, Reply  # noqa: E402
from scheduler.outbox import OutboxSender  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.uow import make_uow_factory  # noqa: E402
from tests.fakes.fake_telegram import FakeTelegram, RateLimits  # noqa: E402

TOKEN = "123456:FANOUT"
FIRST_CHAT = 8_000_001
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ENQUEUE_CHUNK = 1000
AIM_SHARE = 0.95
DROP_TIMEOUT = 60.0


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FanoutFake(FakeTelegram):
    """The fake, counting accepted sends and waking the waiter when all N arrived."""

    def __init__(self, expected: int) -> None:
        super().__init__(TOKEN, rate_limits=RateLimits())
        self.expected, self.received = expected, 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.all_in = asyncio.Event()

    async def _record(self, method: str, chat: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = await super()._record(method, chat, *args, **kwargs)
        now = time.monotonic()
        self.first_at = self.first_at if self.first_at is not None else now
        self.last_at, self.received = now, self.received + 1
        if self.received >= self.expected:
            self.all_in.set()
        return result


async def create_database(kind: str, workdir: Path, pg_url: str) -> tuple[str, str | None]:
    """The run's database URL, and the name of the PostgreSQL database to drop afterwards."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'fanout.db'}", None
    name = f"hoagiai_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), name


async def drop_database(pg_url: str, name: str) -> None:
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await asyncio.wait_for(
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'), DROP_TIMEOUT)
    finally:
        await admin.dispose()


async def enqueue(uow_factory: Any, chats: Sequence[int]) -> float:
    started = time.perf_counter()
    now = UtcClock().now()
    for start in range(0, len(chats), ENQUEUE_CHUNK):
        async with uow_factory() as uow:
            for chat in chats[start:start + ENQUEUE_CHUNK]:
                text_ = f"Thông báo của phường: họp tổ dân phố tối thứ Bảy. ({chat})"
                await uow.outbox.add(Outgoing("telegram", str(chat), Reply(text_)), now)
            await uow.commit()
    return time.perf_counter() - started


async def outbox_statuses(engine: Any) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
        return {status: int(count) for status, count in rows}


async def fan_out(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    uow_factory = make_uow_factory(engine)
    chats = [FIRST_CHAT + n for n in range(args.messages)]
    fake = FanoutFake(args.messages)
    await fake.start()
    bot = None
    try:
        for chat in chats:
            fake.add_chat(chat)
        enqueue_s = await enqueue(uow_factory, chats)
        bot = make_bot(fake.token, fake.base_url, fake.base_file_url)
        await bot.initialize()
        channel = TelegramChannel(bot, limits=TELEGRAM_LIMITS)
        sender = OutboxSender(uow_factory, {"telegram": channel}, UtcClock(), batch_size=args.batch_size)
        stop = asyncio.Event()
        cpu_before, started = time.process_time(), time.monotonic()
        sender_task = asyncio.create_task(sender.run(stop), name="outbox")
        try:
            await asyncio.wait_for(fake.all_in.wait(), args.timeout)
        except TimeoutError:
            pass
        finally:
            stop.set()
            await sender_task
            await sender.idle()
        wall_s = time.monotonic() - started
        cpu_s = time.process_time() - cpu_before
        statuses = await outbox_statuses(engine)
    finally:
        if bot is not None:
            await bot.shutdown()
        await fake.stop()
        await engine.dispose()
    per_chat = Counter(_sent_chats(fake, chats))
    span = (fake.last_at - fake.first_at) if fake.first_at is not None and fake.last_at is not None else 0.0
    rate = (fake.received - 1) / span if span > 0 else 0.0
    limit = TELEGRAM_LIMITS.overall_per_second or 0
    return {
        "db": args.db, "messages": args.messages, "received": fake.received,
        "missing": sum(1 for chat in chats if per_chat[chat] == 0),
        "duplicates": sum(count - 1 for count in per_chat.values() if count > 1),
        "too_many_requests": len(fake.flood_answers),
        "enqueue_s": round(enqueue_s, 2), "wall_s": round(wall_s, 2), "send_span_s": round(span, 2),
        "rate_per_s": round(rate, 2), "limit_per_s": limit, "share_of_limit": round(rate / limit, 4) if limit else None,
        "cpu_s": round(cpu_s, 2), "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outbox": statuses,
    }


def _sent_chats(fake: FakeTelegram, chats: Sequence[int]) -> list[int]:
    return [chat for chat in chats for _ in fake.sent_to(chat)]


def verdict(figures: dict[str, Any]) -> tuple[bool, bool]:
    """(the run is correct, the aims are met)."""
    ok = (figures["missing"] == 0 and figures["duplicates"] == 0
          and figures["outbox"].get("sent", 0) == figures["messages"])
    aims = (figures["share_of_limit"] or 0) >= AIM_SHARE and figures["too_many_requests"] == 0
    return ok, aims


def table(figures: dict[str, Any], ok: bool, aims: bool) -> str:
    share = figures["share_of_limit"]
    lines = [
        f"outbox fan-out: {figures['messages']} messages to {figures['messages']} chats, {figures['db']}",
        f"  received by the fake     {figures['received']}  (missing {figures['missing']}, "
        f"sent twice {figures['duplicates']})",
        f"  achieved rate            {figures['rate_per_s']:.2f}/s over {figures['send_span_s']:.1f} s, "
        f"{share * 100 if share is not None else 0:.1f}% of {figures['limit_per_s']}/s (aim >= {AIM_SHARE:.0%})",
        f"  429 answers              {figures['too_many_requests']}  (aim 0)",
        f"  wall, sender start->last {figures['wall_s']:.1f} s; enqueue {figures['enqueue_s']:.1f} s",
        f"  CPU (whole process)      {figures['cpu_s']:.1f} s; max RSS {figures['max_rss_mb']:.0f} MB",
        f"  outbox rows              {figures['outbox']}",
        f"  correct: {'yes' if ok else 'NO'}; aims met: {'yes' if aims else 'no'}",
    ]
    return "\n".join(lines)


async def in_scratch_database(args: argparse.Namespace, prefix: str,
                              measure: Callable[[argparse.Namespace, str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """`measure(args, url)` on a database made for the run (a SQLite file in a temporary folder,
    or a PostgreSQL database), removed afterwards whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    drop_name: str | None = None
    try:
        url, drop_name = await create_database(args.db, workdir, args.pg_url)
        return await measure(args, url)
    finally:
        if drop_name is not None:
            await drop_database(args.pg_url, drop_name)
        shutil.rmtree(workdir, ignore_errors=True)


async def run(args: argparse.Namespace) -> int:
    figures = await in_scratch_database(args, "hoagiai-fanout-", fan_out)
    ok, aims = verdict(figures)
    print(table(figures, ok, aims))
    print(json.dumps({**figures, "ok": ok, "aims_met": aims}))
    return 0 if ok else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000, help="messages, each to its own chat")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help="a PostgreSQL server to create the run's database on (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=OutboxSender.batch_size,
                        help="rows the sender claims at a time (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for every message (default: twice the time at 30/s, plus 60)")
    args = parser.parse_args(argv)
    if args.messages < 2:
        parser.error("--messages must be at least 2")
    if args.timeout is None:
        args.timeout = 2 * args.messages / (TELEGRAM_LIMITS.overall_per_second or 30) + 60
    return args


def run_interruptible(name: str, work: Callable[[], Awaitable[int]]) -> int:
    """asyncio.run(work()), where Ctrl-C or SIGTERM cancels it so that its cleanup (databases
    dropped, servers stopped) runs in its finally blocks; exit code 130 then."""
    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        return await work()

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def main() -> int:
    args = parse_args()
    return run_interruptible("outbox_fanout", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
