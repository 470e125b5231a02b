"""End-to-end harness: the real bot process (`python -m bot run`) against the fake Bot API.

Contract with the bot (what these tests assume):
  * `python -m bot db upgrade` and `python -m bot demo-data` prepare the database;
  * `python -m bot run` reads HOAGIAI_DATABASE_URL, HOAGIAI_TELEGRAM_TOKEN,
    HOAGIAI_TELEGRAM_API_BASE_URL, HOAGIAI_TELEGRAM_MODE (polling|webhook), HOAGIAI_WEBHOOK_URL,
    HOAGIAI_WEBHOOK_SECRET, HOAGIAI_WEB_HOST, HOAGIAI_WEB_PORT, HOAGIAI_TELEGRAM_POLL_TIMEOUT,
    HOAGIAI_UPLOAD_DIR and answers 200 on GET /health once it serves;
  * in webhook mode it calls setWebhook at start and serves POST /telegram/webhook.

The process is killed with SIGKILL mid-conversation and restarted on the same port and database;
its stdout and stderr are added to the report of a failing test. The database fixture
(`database_url`, tests/conftest.py) gives SQLite and, with HOAGIAI_TEST_POSTGRES_URL, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes import FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST"
BOT_ID = "123456"
WEBHOOK_SECRET = "e2e-Secret_0123456789"
START_TIMEOUT = 60.0
REPLY_TIMEOUT = 20.0

# --- what the resident sees: every label and pattern in one place, easy to adjust -------------

LABELS = {
    "english": "English",
    "vietnamese": "Tiếng Việt",
    "agree": "I agree",
    "report": "Report a dispute",
    "my_reports": "My reports",
    "field_land": "Land",
    "group_3": "Tổ dân phố số 3",
    "more_groups": "More ▶",
    "next": "Next",
    "people_3_5": "3–5",
    "danger_no": "No",
    "skip": "Skip",
    "done": "Done",
    "dont_share": "Don't share",
    "send": "Send report",
    "back": "◀ Back",
    "cancel": "✖ Cancel",
}
PROGRESS = "Step {n}/8"  # the form's progress line, e.g. "Step 2/8"
CASE_CODE = re.compile(r"HG-\d{4}-\d{6}")
ADDRESS = "12 Lane 5, Tran Phu Street"
DESCRIPTION = "The neighbours built a wall 30 cm onto our land last week."


def step(n: int) -> Callable[[dict[str, Any]], bool]:
    """A message showing step `n` of the form."""
    return lambda message: PROGRESS.format(n=n) in (message["text"] or "")


def has_button(key: str) -> Callable[[dict[str, Any]], bool]:
    label = LABELS[key]
    return lambda message: any(label in button for button, _ in message["buttons"])


def has_text(pattern: str | re.Pattern[str]) -> Callable[[dict[str, Any]], bool]:
    regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
    return lambda message: bool(regex.search(message["text"] or ""))


# --- the resident ---------------------------------------------------------------------------

@dataclass
class Resident:
    """A user chatting privately with the bot through the fake: acts, then waits for the answer."""

    fake: FakeTelegram
    user_id: int

    @property
    def chat(self) -> str:
        return str(self.user_id)

    def mark(self) -> int:
        return len(self.fake.sent_to(self.chat))

    async def expect(self, predicate: Callable[[dict[str, Any]], bool], *, after: int,
                     timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        return await self.fake.wait_for(self.chat, predicate, timeout, after=after)

    async def say(self, text_: str, expect: Callable[[dict[str, Any]], bool] | None = None) -> int:
        mark = self.mark()
        update_id = self.fake.push_text(self.user_id, text_)
        if expect is not None:
            await self.expect(expect, after=mark)
        return update_id

    async def command(self, command: str, expect: Callable[[dict[str, Any]], bool] | None = None) -> int:
        mark = self.mark()
        update_id = self.fake.push_command(self.user_id, command)
        if expect is not None:
            await self.expect(expect, after=mark)
        return update_id

    async def press(self, key: str, expect: Callable[[dict[str, Any]], bool] | None = None) -> int:
        """Press the newest button labelled LABELS[key], like a user would."""
        mark = self.mark()
        update_id = self.fake.press(self.user_id, LABELS[key])
        if expect is not None:
            await self.expect(expect, after=mark)
        return update_id

    async def photo(self, content: bytes, expect: Callable[[dict[str, Any]], bool] | None = None) -> int:
        mark = self.mark()
        update_id = self.fake.push_photo(self.user_id, content)
        if expect is not None:
            await self.expect(expect, after=mark)
        return update_id

    def texts(self) -> list[str]:
        return [m["text"] or "" for m in self.fake.sent_to(self.chat)]

    # Each action waits for the message that carries what the next action needs: a reply can
    # be several messages (a share keyboard, then the buttons), sent one after another.

    async def start_report(self) -> None:
        """From a first /start to step 1 of the dispute form."""
        await self.command("/start", expect=has_button("english"))
        await self.press("english", expect=has_button("agree"))
        await self.press("agree", expect=has_button("report"))
        await self.press("report", expect=has_button("field_land"))

    async def answer_up_to_description(self) -> None:
        """Steps 1 to 3: field, residential group, place; ends at step 4 (description)."""
        await self.press("field_land", expect=has_button("group_3"))
        await self.press("group_3", expect=step(3))
        await self.say(ADDRESS, expect=has_button("next"))
        await self.press("next", expect=step(4))

    async def finish_from_people(self, photo: bytes | None = None) -> str:
        """Steps 5 to 8, from the people question to the case code; returns the code."""
        await self.press("people_3_5", expect=has_button("danger_no"))
        await self.finish_from_danger(photo)
        mark = self.mark()
        await self.press("send")
        message = await self.expect(has_text(CASE_CODE), after=mark)
        return CASE_CODE.search(message["text"]).group(0)

    async def finish_from_danger(self, photo: bytes | None = None) -> None:
        """Steps 5 (danger question) to 8; ends at the summary, before sending."""
        await self.press("danger_no", expect=has_button("skip"))
        if photo is None:
            await self.press("skip", expect=has_button("dont_share"))
        else:
            await self.photo(photo, expect=has_button("done"))
            await self.press("done", expect=has_button("dont_share"))
        await self.press("dont_share", expect=has_button("send"))


# --- the bot process ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """`python -m bot` in a child process with a clean HOAGIAI_* environment."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = int(env["HOAGIAI_WEB_PORT"])
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def cli(self, *args: str, timeout: float = 120) -> str:
        """Run a one-shot command (`db upgrade`, `demo-data`); fails the test with its output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=self.workdir, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
        text_ = output.decode(errors="replace")
        self._log(f"cli-{'-'.join(args)}").write_text(text_)
        if proc.returncode != 0:
            raise AssertionError(f"`python -m bot {' '.join(args)}` exited {proc.returncode}:\n{text_}")
        return text_

    async def start(self) -> None:
        """Start `run` and wait until /health answers 200 (or the process dies)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        log = self._log(f"run-{len([p for p in self.logs if p.name.startswith('run')])}")
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.output()}")
                try:
                    async with session.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the bot did not answer /health within {START_TIMEOUT}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.process.poll() is None:
            self.kill()
            return None
        return self.process.returncode

    async def restart_after_kill(self) -> None:
        self.kill()
        await self.start()

    def output(self) -> str:
        parts = []
        for log in self.logs:
            if log.exists():
                parts.append(f"===== {log.name} =====\n{log.read_text(errors='replace')[-20000:]}")
        return "\n".join(parts) or "(no output)"

    def _log(self, name: str) -> Path:
        path = self.workdir / f"{name}.log"
        self.logs.append(path)
        return path


def bot_env(database_url: str, fake: FakeTelegram, mode: str, port: int, workdir: Path) -> dict[str, str]:
    """The child's environment: ours without any HOAGIAI_* setting, plus the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOAGIAI_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "HOAGIAI_DATABASE_URL": database_url,
        "HOAGIAI_TELEGRAM_TOKEN": TOKEN,
        "HOAGIAI_TELEGRAM_API_BASE_URL": fake.base_url,
        "HOAGIAI_TELEGRAM_MODE": mode,
        "HOAGIAI_TELEGRAM_POLL_TIMEOUT": "1",
        "HOAGIAI_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "HOAGIAI_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HOAGIAI_WEB_HOST": "127.0.0.1",
        "HOAGIAI_WEB_PORT": str(port),
        "HOAGIAI_UPLOAD_DIR": str(workdir / "uploads"),
        "HOAGIAI_LOG_LEVEL": "INFO",
        # The tests run at any hour on the real clock; quiet hours (tested on a manual clock in
        # tests/integration/test_quiet_hours.py) would hold residents' notices until 07:00.
        "HOAGIAI_QUIET_HOURS": "off",
    })
    return env


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def bot_process(request: pytest.FixtureRequest, database_url: str, fake: FakeTelegram, mode: str,
                      tmp_path: Path) -> AsyncIterator[BotProcess]:
    """A migrated database with the demo ward and the bot running against `fake`."""
    workdir = tmp_path / "bot"
    workdir.mkdir()
    process = BotProcess(bot_env(database_url, fake, mode, free_port(), workdir), workdir)
    request.node.bot_processes = [process]
    await process.cli("db", "upgrade")
    await process.cli("demo-data")
    await process.start()
    yield process
    await process.stop()


@pytest.fixture
def resident(fake: FakeTelegram) -> Resident:
    fake.add_user(5001, "Lan", last_name="Nguyen", language_code="en")
    return Resident(fake, 5001)


@pytest.fixture
def db(database_url: str) -> "Database":
    return Database(database_url)


class Database:
    """Reads the bot's database directly, to check what it stored."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def scalar(self, sql: str, **params: Any) -> Any:
        engine = create_async_engine(self.url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(sql), params)).scalar_one()
        finally:
            await engine.dispose()

    async def count(self, table: str, where: str = "1=1", **params: Any) -> int:
        return int(await self.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}", **params))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Put the bot's output into the report of a failed test."""
    report = yield
    if report.failed:
        for process in getattr(item, "bot_processes", []):
            report.sections.append(("bot process output", process.output()))
    return report
