"""Runs `hoagiai COMMAND ARGS` in the test's process on the test's database, as a user would."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from bot.cli import main

CliRun = Callable[..., Awaitable[tuple[int, str, str]]]


def cli_runner(command: str, database_url: str, monkeypatch, tmp_path, capsys) -> CliRun:
    """An async `run(*args) -> (exit code, stdout, stderr)`, with only the database set in the
    environment and the working directory a fresh temporary one."""
    for key in [key for key in os.environ if key.startswith("HOAGIAI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOAGIAI_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, [command, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
