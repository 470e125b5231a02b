#!/usr/bin/env python3
"""Load benchmark: N simulated residents fill in the dispute form at once over the Bot API.

Run by hand (not a pytest test); it prints one table and one JSON line:

    python bench/form_load.py --mode hoagiai --db sqlite --users 50
    python bench/form_load.py --mode hoagiai --db postgres --users 200
    python bench/form_load.py --mode echo --users 200

The fake Telegram Bot API (tests/fakes/fake_telegram.py) runs in this process on 127.0.0.1 and a
free port, without rate limiting. The bot runs as a subprocess against it:

* `--mode hoagiai`: the real bot, `python -m bot db upgrade`, `python -m bot demo-data`, then
  `python -m bot run` in polling mode, on a SQLite file in a temporary directory or on a fresh
  PostgreSQL database created for the run and dropped afterwards (`--db postgres`).
* `--mode echo`: a bare python-telegram-bot echo bot (bench/echo_bot.py), the ceiling.

Every user sends the 14 updates of a complete report one after another, each as soon as the
previous one was answered, and all users start together. The latency of a step runs from
pushing the update into the fake to the arrival at the fake of the bot's last message for it
(the one carrying the buttons the next step presses; in echo mode the echo). At the end the
cases are counted directly in the database: there must be exactly N, with the codes the users
were given.

Every wait is bounded; the subprocesses are always stopped (SIGINT, then SIGKILL) and the
PostgreSQL database is always dropped. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from tests.fakes.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH"
FIRST_USER_ID = 7_000_001
WARMUP_USER_ID = 6_999_999
CASE_CODE = re.compile(r"HG-\d{4}-\d{6}")
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CLI_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0
DROP_TIMEOUT = 60.0
ECHO_SCRIPT = BENCH_DIR / "echo_bot.py"

Record = dict[str, Any]  # a message the bot sent, as FakeTelegram.sent_to() gives it


# --- the resident's script -------------------------------------------------------------------

def has_button(label: str) -> Callable[[Record], bool]:
    return lambda message: any(label in text for text, _ in message["buttons"])


def has_text(pattern: str | re.Pattern[str]) -> Callable[[Record], bool]:
    regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
    return lambda message: bool(regex.search(message["text"] or ""))


def step_no(n: int) -> Callable[[Record], bool]:
    return has_text(f"Step {n}/8")


@dataclass(frozen=True)
class Step:
    """One update a user sends and what the bot's answer must show.

    `kind`: "command" (/start), "text" (typed; `{n}` becomes the user's number) or "press" (the
    newest button whose label is `value`). `expect`: each predicate must hold for some message
    of the reply (hoagiai mode; the echo must repeat the update exactly)."""

    name: str
    kind: str
    value: str
    expect: tuple[Callable[[Record], bool], ...]


FORM = (
    Step("/start", "command", "/start", (has_button("English"),)),
    Step("English", "press", "English", (has_button("I agree"),)),
    Step("I agree", "press", "I agree", (has_button("Report a dispute"),)),
    Step("Report a dispute", "press", "Report a dispute", (step_no(1), has_button("Land"))),
    Step("Land", "press", "Land", (step_no(2), has_button("Tổ dân phố số 3"))),
    Step("Tổ dân phố số 3", "press", "Tổ dân phố số 3", (step_no(3),)),
    Step("address (typed)", "text", "{n} Lane 5, Tran Phu Street", (step_no(3), has_button("Next"))),
    Step("Next", "press", "Next", (step_no(4),)),
    Step("description (typed)", "text",
         "Resident {n}: the neighbours built a wall 30 cm onto our land last week.",
         (step_no(5), has_button("3–5"))),
    Step("3–5", "press", "3–5", (step_no(5), has_button("No"))),
    Step("No", "press", "No", (step_no(6), has_button("Skip"))),
    Step("Skip", "press", "Skip", (step_no(7), has_button("Don't share"))),
    Step("Don't share", "press", "Don't share", (step_no(8), has_button("Send report"))),
    Step("Send report", "press", "Send report", (has_text(CASE_CODE),)),
)


# --- the fake, instrumented --------------------------------------------------------------------

class ReplyTimeout(Exception):
    pass


class StepFailed(Exception):
    pass


class BenchFake(FakeTelegram):
    """The test fake plus an arrival time on every message the bot sends, and a cheap per-chat
    wake-up (the fake's `wait_for` wakes every waiter on every message: with hundreds of waiting
    users that would load this process more than the bot does)."""

    def __init__(self, token: str) -> None:
        super().__init__(token, bot_username="hoagiai_bench_bot")
        self._bench_events: dict[str, asyncio.Event] = {}
        self.bench_recorded = 0

    async def _record(self, method: str, chat: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        arrived = time.perf_counter()
        key = str(chat["id"])
        index = len(self._messages[key])
        result = await super()._record(method, chat, *args, **kwargs)
        records = self._messages[key]
        if index < len(records):
            records[index]["bench_arrived"] = arrived
        self.bench_recorded += 1
        event = self._bench_events.get(key)
        if event is not None:
            event.set()
        return result

    def count(self, chat: str) -> int:
        return len(self._messages[chat])

    async def reply_after(self, chat: str, after: int, done: Callable[[Record], bool], timeout: float) -> int:
        """The index of the first message at `after` or later for which `done` holds."""
        event = self._bench_events.setdefault(chat, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event.clear()
            records = self._messages[chat]
            for index in range(after, len(records)):
                if "bench_arrived" not in records[index]:
                    break  # still being recorded; its event follows
                if done(records[index]):
                    return index
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ReplyTimeout(f"no reply within {timeout:g}s; recent messages:\n{self.describe(chat)}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


# --- one simulated user ------------------------------------------------------------------------

@dataclass
class UserResult:
    number: int
    latencies: list[float] = field(default_factory=list)  # seconds, one per completed step
    messages: int = 0  # bot messages in the measured replies
    code: str | None = None
    error: str | None = None


def act(fake: BenchFake, mode: str, user_id: int, step: Step, number: int, index: int) -> str:
    """Push the step's update; returns what an echo must repeat."""
    value = step.value.format(n=number)
    if step.kind == "command":
        fake.push_command(user_id, value)
        return value
    if step.kind == "text":
        fake.push_text(user_id, value)
        return value
    if mode == "echo":
        data = f"{index}:{value}"  # unique per step, well below 64 bytes
        fake.push_callback(user_id, data)
        return data
    fake.press(user_id, value)
    return value


async def run_user(fake: BenchFake, mode: str, number: int, reply_timeout: float) -> UserResult:
    user_id = FIRST_USER_ID + number
    chat = str(user_id)
    result = UserResult(number)
    for index, step in enumerate(FORM):
        mark = fake.count(chat)
        started = time.perf_counter()
        try:
            echo = act(fake, mode, user_id, step, number, index)
            if mode == "echo":
                last = await fake.reply_after(chat, mark, lambda m: True, reply_timeout)
            else:  # a reply's inline keyboard rides on its last message
                last = await fake.reply_after(chat, mark, lambda m: bool(m["buttons"]), reply_timeout)
        except (ReplyTimeout, AssertionError) as error:
            result.error = f"user {number} step {index + 1} ({step.name}): {error}"
            return result
        records = fake.sent_to(chat)
        window = records[mark : last + 1]
        latency = records[last]["bench_arrived"] - started
        if mode == "echo":
            ok = len(window) == 1 and window[0]["text"] == echo
        else:
            ok = all(any(check(m) for m in window) for check in step.expect)
        if not ok:
            shown = "\n".join(f"  {m['text']!r} buttons={[b[0] for b in m['buttons']]}" for m in window)
            result.error = f"user {number} step {index + 1} ({step.name}): unexpected reply:\n{shown}"
            return result
        result.latencies.append(latency)
        result.messages += len(window)
        if mode == "hoagiai" and index == len(FORM) - 1:
            found = next((CASE_CODE.search(m["text"] or "") for m in window if CASE_CODE.search(m["text"] or "")), None)
            result.code = found.group(0) if found else None
    return result


# --- processes -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: a new session, and SIGKILL if this script dies (Linux)."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Child:
    """A long-running subprocess in its own process group, output to a log file."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.command, self.env, self.workdir = name, list(command), env, workdir
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(self.command, cwd=self.workdir, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) or "(no output)"

    async def stop(self) -> int | None:
        """SIGINT to the group (graceful for the bot, PTB and a profiler), SIGKILL if it lingers."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers in the group too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        return self.process.returncode

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process in the child's process group."""
        if self.process is None:
            return 0.0
        return sum(cpu for _, pgrp, _, cpu, _ in _processes() if pgrp == self.process.pid)


def _processes() -> list[tuple[int, int, str, float, float]]:
    """(pid, process group, command name, own CPU seconds, CPU seconds of its reaped children)
    of every process we can see."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found.append((int(entry), int(fields[2]), name, (int(fields[11]) + int(fields[12])) / tick,
                      (int(fields[13]) + int(fields[14])) / tick))
    return found


def postgres_cpu_seconds() -> float:
    """The PostgreSQL server's CPU: live processes, plus backends that exited (the postmaster
    reaps them, so their time shows in its children's time)."""
    return sum(cpu + reaped for _, _, name, cpu, reaped in _processes() if name.startswith("postgres"))


def machine_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


async def run_cli(args: Sequence[str], env: dict[str, str], workdir: Path) -> None:
    """`python -m bot <args>`; raises with its output when it fails or hangs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"`python -m bot {' '.join(args)}` exited {proc.returncode}:\n{output.decode(errors='replace')}")


async def wait_healthy(child: Child, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer {url}/health within {timeout:.0f}s:\n{child.tail()}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOAGIAI_", "BENCH_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def extra_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--bot-env wants KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def python_for_run(args: argparse.Namespace) -> list[str]:
    return shlex.split(args.run_python) if args.run_python else [sys.executable]


# --- the database --------------------------------------------------------------------------

class Database:
    """A SQLite file in the work directory, or a PostgreSQL database made for this run."""

    def __init__(self, url: str, admin_url: str | None = None, name: str | None = None) -> None:
        self.url, self.admin_url, self.name = url, admin_url, name

    @classmethod
    async def create(cls, kind: str, workdir: Path, pg_url: str) -> Database:
        if kind == "sqlite":
            return cls(f"sqlite+aiosqlite:///{workdir / 'data' / 'bench.db'}")
        from sqlalchemy.engine import make_url
        from sqlalchemy.ext.asyncio import create_async_engine

        name = f"hoagiai_bench_{uuid.uuid4().hex[:12]}"
        admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await asyncio.wait_for(connection.exec_driver_sql(f'CREATE DATABASE "{name}"'), DROP_TIMEOUT)
        finally:
            await admin.dispose()
        return cls(make_url(pg_url).set(database=name).render_as_string(hide_password=False), pg_url, name)

    async def drop(self) -> None:
        if self.name is None:
            return
        from sqlalchemy.ext.asyncio import create_async_engine

        admin = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await asyncio.wait_for(
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'), DROP_TIMEOUT)
        finally:
            await admin.dispose()

    async def facts(self) -> dict[str, Any]:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(self.url)
        try:
            async with engine.connect() as connection:
                async def scalar(sql: str) -> int:
                    return int((await connection.execute(text(sql))).scalar_one())

                codes = [row[0] for row in await connection.execute(text("SELECT code FROM cases"))]
                return {
                    "cases": len(codes), "codes": codes,
                    "people": await scalar("SELECT COUNT(*) FROM people"),
                    "outbox_unsent": await scalar("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'"),
                }
        finally:
            await engine.dispose()


# --- figures ---------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1),
            "p99": round(percentile(ms, 99), 1), "max": round(max(ms), 1) if ms else math.nan}


def table(figures: dict[str, Any]) -> str:
    head = (f"form_load  mode={figures['mode']}  db={figures['db'] or 'n/a'}  users={figures['users']}  "
            f"updates={figures['updates']}  wall={figures['wall_s']:.2f}s  "
            f"throughput={figures['updates_per_s']:.1f} updates/s")
    width = max(len(name) for name in figures["latency_ms"]["steps"]) + 4
    lines = [head, "", f"{'step':<{width}}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    rows = list(figures["latency_ms"]["steps"].items()) + [("overall", figures["latency_ms"]["overall"])]
    for number, (name, s) in enumerate(rows, 1):
        label = f"{number:>2} {name}" if name != "overall" else "   overall"
        if name == "overall":
            lines.append("-" * (width + 46))
        lines.append(f"{label:<{width}}{s['n']:>6}{s['p50']:>10.1f}{s['p95']:>10.1f}{s['p99']:>10.1f}{s['max']:>10.1f}")
    lines.append("")
    cpu = figures["cpu_s"]
    wall = figures["wall_s"] or math.nan
    cpu_line = (f"CPU during the load: bot {cpu['bot']:.1f}s ({cpu['bot'] / wall:.0%} of a core), "
                f"load generator + fake {cpu['harness']:.1f}s ({cpu['harness'] / wall:.0%})")
    if cpu.get("postgres") is not None:
        cpu_line += f", postgres {cpu['postgres']:.1f}s ({cpu['postgres'] / wall:.0%})"
    cpu_line += f"; machine {figures['machine_busy']:.0%} busy on {figures['cpus']} CPUs"
    lines.append(cpu_line)
    lines.append(f"bot messages: {figures['bot_messages']} ({figures['bot_messages_per_user']:.1f} per user)")
    if figures["mode"] == "hoagiai":
        check = figures["check"]
        verdict = "OK" if check["ok"] else "FAILED"
        lines.append(f"database check: {check['cases']} cases for {figures['users']} users, "
                     f"{check['codes_matching']} codes match the users' replies, "
                     f"{check['people']} people, {check['outbox_unsent']} outbox rows unsent: {verdict}")
    lines.append(f"users completed: {figures['completed']}/{figures['users']}"
                 + (f", errors: {len(figures['errors'])}" if figures["errors"] else ""))
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------

async def start_hoagiai(args: argparse.Namespace, fake: BenchFake, db: Database, workdir: Path) -> Child:
    port = free_port()
    env = clean_env() | {
        "HOAGIAI_DATABASE_URL": db.url,
        "HOAGIAI_TELEGRAM_TOKEN": TOKEN,
        "HOAGIAI_TELEGRAM_API_BASE_URL": fake.base_url,
        "HOAGIAI_TELEGRAM_MODE": "polling",
        "HOAGIAI_TELEGRAM_POLL_TIMEOUT": "1",
        "HOAGIAI_WEB_ENABLED": "false",
        "HOAGIAI_WEB_HOST": "127.0.0.1",
        "HOAGIAI_WEB_PORT": str(port),
        "HOAGIAI_UPLOAD_DIR": str(workdir / "uploads"),
        "HOAGIAI_LOG_LEVEL": "WARNING",
    } | extra_env(args.bot_env)
    await run_cli(["db", "upgrade"], env, workdir)
    await run_cli(["demo-data"], env, workdir)
    child = Child("bot-run", [*python_for_run(args), "-m", "bot", "run"], env, workdir)
    child.start()
    await wait_healthy(child, f"http://127.0.0.1:{port}", args.start_timeout)
    return child


def start_echo(args: argparse.Namespace, fake: BenchFake, workdir: Path) -> Child:
    env = clean_env() | {
        "BENCH_TELEGRAM_TOKEN": TOKEN,
        "BENCH_TELEGRAM_API_BASE_URL": fake.base_url,
        "BENCH_TELEGRAM_POLL_TIMEOUT": "1",
    } | extra_env(args.bot_env)
    child = Child("echo-bot", [*python_for_run(args), str(ECHO_SCRIPT)], env, workdir)
    child.start()
    return child


async def warm_up(fake: BenchFake, mode: str, child: Child, timeout: float) -> None:
    """One update through the whole path before the clock starts (and, for the echo bot, the
    readiness check): connections open, code paths imported. Creates no person and no case."""
    fake.add_user(WARMUP_USER_ID, "Warm-up", language_code="en")
    chat = str(WARMUP_USER_ID)
    deadline = time.monotonic() + timeout
    fake.push_command(WARMUP_USER_ID, "/start")
    while True:
        try:
            index = await fake.reply_after(chat, 0, lambda m: True, 1.0)
            break
        except ReplyTimeout:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} did not answer a first update within {timeout:.0f}s "
                                   f"(bench stamps recorded: {fake.bench_recorded}):\n{child.tail()}") from None
    if "bench_arrived" not in fake.sent_to(chat)[index]:
        raise RuntimeError("the fake's _record() no longer stamps messages: adjust BenchFake to the fake")
    await asyncio.sleep(0.2)  # let the rest of the reply (if any) arrive


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix=f"hoagiai-bench-{args.mode}-"))
    fake = BenchFake(TOKEN)
    db: Database | None = None
    child: Child | None = None
    exit_code = 1
    try:
        await fake.start()
        if args.mode == "hoagiai":
            db = await Database.create(args.db, workdir, args.pg_url)
            child = await start_hoagiai(args, fake, db, workdir)
        else:
            child = start_echo(args, fake, workdir)
        await warm_up(fake, args.mode, child, args.start_timeout)

        for number in range(args.users):
            fake.add_user(FIRST_USER_ID + number, f"Resident{number}", language_code="en")
        cpu_bot0, cpu_pg0, cpu_me0 = child.cpu_seconds(), postgres_cpu_seconds(), time.process_time()
        busy0, total0 = machine_times()
        started = time.perf_counter()
        tasks = [asyncio.create_task(run_user(fake, args.mode, n, args.reply_timeout)) for n in range(args.users)]
        done, pending = await asyncio.wait(tasks, timeout=args.timeout)
        wall = time.perf_counter() - started
        cpu_bot, cpu_pg, cpu_me = child.cpu_seconds() - cpu_bot0, postgres_cpu_seconds() - cpu_pg0, time.process_time() - cpu_me0
        busy1, total1 = machine_times()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        results = [t.result() for t in done if not t.cancelled() and t.exception() is None]
        errors = [r.error for r in results if r.error]
        errors += [f"task failed: {t.exception()!r}" for t in done if not t.cancelled() and t.exception() is not None]
        if pending:
            errors.append(f"{len(pending)} users still busy after --timeout {args.timeout:.0f}s")
        completed = [r for r in results if r.error is None]
        updates = sum(len(r.latencies) for r in results)

        figures: dict[str, Any] = {
            "bench": "form_load", "mode": args.mode, "db": args.db if args.mode == "hoagiai" else None,
            "users": args.users, "steps_per_user": len(FORM), "updates": updates, "completed": len(completed),
            "wall_s": round(wall, 3), "updates_per_s": round(updates / wall, 1) if wall else 0.0,
            "latency_ms": {
                "overall": summary([v for r in results for v in r.latencies]),
                "steps": {step.name: summary([r.latencies[i] for r in results if len(r.latencies) > i])
                          for i, step in enumerate(FORM)},
            },
            "bot_messages": sum(r.messages for r in results),
            "bot_messages_per_user": sum(r.messages for r in results) / max(len(results), 1),
            "cpu_s": {"bot": round(cpu_bot, 2), "harness": round(cpu_me, 2),
                      "postgres": round(cpu_pg, 2) if args.mode == "hoagiai" and args.db == "postgres" else None},
            "machine_busy": round((busy1 - busy0) / max(total1 - total0, 1), 3), "cpus": os.cpu_count(),
            "python": platform.python_version(), "errors": errors[:20],
        }
        ok = not errors and len(completed) == args.users
        if args.mode == "hoagiai":
            assert db is not None
            facts = await asyncio.wait_for(db.facts(), DROP_TIMEOUT)
            for _ in range(20):  # the last "sent" marks may still be committing
                if facts["outbox_unsent"] == 0:
                    break
                await asyncio.sleep(0.25)
                facts = await asyncio.wait_for(db.facts(), DROP_TIMEOUT)
            given = {r.code for r in completed if r.code}
            check = {"cases": facts["cases"], "people": facts["people"], "outbox_unsent": facts["outbox_unsent"],
                     "codes_matching": len(given & set(facts["codes"]))}
            check["ok"] = (facts["cases"] == args.users and len(set(facts["codes"])) == args.users
                           and check["codes_matching"] == args.users)
            figures["check"] = check
            ok = ok and check["ok"]
        figures["ok"] = ok
        print(table(figures))
        for error in errors[:5]:
            print(f"error: {error}", file=sys.stderr)
        if not ok and child is not None:
            print(f"--- {child.name} output (tail) ---\n{child.tail()}", file=sys.stderr)
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        exit_code = 0 if ok else 1
    except Exception as error:  # noqa: BLE001 - say what failed, then clean up
        print(f"form_load: {error}", file=sys.stderr)
        if child is not None:
            print(f"--- {child.name} output (tail) ---\n{child.tail()}", file=sys.stderr)
    finally:
        if child is not None:
            code = await child.stop()
            if code not in (0, None) and exit_code == 0:
                print(f"note: {child.name} exited with {code}:\n{child.tail(15)}", file=sys.stderr)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(fake.stop(), STOP_TIMEOUT)
        if db is not None:
            try:
                await db.drop()
            except Exception as error:  # noqa: BLE001
                print(f"form_load: could not drop database {db.name}: {error!r}", file=sys.stderr)
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return exit_code


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("hoagiai", "echo"), default="hoagiai",
                        help="the real bot, or the bare PTB echo bot (the ceiling)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="hoagiai's database (ignored in echo mode)")
    parser.add_argument("--users", type=int, default=50, help="simulated users, all starting at once")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help="a PostgreSQL server to create the run's database on (default: %(default)s)")
    parser.add_argument("--reply-timeout", type=float, default=60.0, help="seconds to wait for one reply")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds for the bot to come up")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole load")
    parser.add_argument("--run-python", default=None,
                        help="command replacing the Python interpreter of the bot process, e.g. "
                             "\"py-spy record -o bot.svg -- python\" or \"python -m cProfile -o bot.prof\"")
    parser.add_argument("--bot-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the bot process (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, SQLite file)")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    return args


def main() -> int:
    args = parse_args()

    async def guarded() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):  # cleanup runs in run()'s finally
            loop.add_signal_handler(sig, task.cancel)
        return await run(args)

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("form_load: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
