"""`hoagiai export logbook|cases`: the case records as files for the paperwork outside the bot.

- `logbook --team CODE --period 2026-Q4`: a mediation team's logbook (Sổ theo dõi hoạt động hòa
  giải ở cơ sở, the Ministry of Justice's form) for a reporting period, XLSX or CSV.
- `cases [--ward CODE] [--from DATE] [--to DATE]`: every case received (in a ward, between two
  local dates) as a CSV for entry into the national dispute software; streamed to the file a
  chunk at a time, with progress on stderr.

Files are written under a temporary name beside the target and renamed when complete, so a
failed or interrupted export never leaves a file that looks whole. Storage is imported inside
the functions, as in bot/cli.py, so that `hoagiai --help` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from handlers.report_output import Labels

PROGRESS_EVERY = 50_000


class ExportRefused(Exception):
    """A bad input, told in one line."""


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="export the case records: a mediation team's logbook, or every case for the national software",
        description="Write the case records to a file: `logbook` (a mediation team's Sổ theo dõi hoạt động hòa "
                    "giải ở cơ sở for a period, XLSX or CSV) or `cases` (every case, for entry into the national "
                    "dispute software, CSV). No export carries a phone number or a reporter's identity.")
    kinds = export.add_subparsers(dest="export_command", required=True, metavar="EXPORT")
    logbook = kinds.add_parser(
        "logbook", help="a mediation team's logbook for a period (XLSX or CSV)",
        description="The team's mediations received or concluded in the period, one row each, in the columns "
                    "of the Ministry of Justice's logbook form. Months run from the 15th of the previous month "
                    "to the 14th (NĐ 09/2019, Điều 12).")
    logbook.add_argument("--team", required=True, metavar="CODE", help="the mediation team's unit code")
    logbook.add_argument("--period", required=True, metavar="PERIOD",
                         help="2026-11 (a month), 2026-Q4 (a quarter), 2026-H1 (a half-year) or 2026 (a year)")
    logbook.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="the file's format (default xlsx)")
    cases = kinds.add_parser(
        "cases", help="every case as CSV for the national dispute software",
        description="One row per case (code, dates, ward, group, field, nature, summary, parties, intervention, "
                    "step, status, outcome, lead unit), UTF-8 with BOM, streamed: fine for a province's million "
                    "cases. A confidential case's summary and applicants' names are withheld.")
    cases.add_argument("--ward", metavar="CODE", help="only this ward's cases (default: every ward)")
    cases.add_argument("--from", dest="from_date", metavar="DATE", help="received on or after this day (YYYY-MM-DD)")
    cases.add_argument("--to", dest="to_date", metavar="DATE", help="received on or before this day (YYYY-MM-DD)")
    for parser in (logbook, cases):
        parser.add_argument("--lang", choices=("vi", "en"), default="vi", help="the labels' language (default vi)")
        parser.add_argument("--output", type=Path, metavar="PATH", help="the file (default: a name in the current "
                                                                      "directory from the arguments)")


async def run_export(settings: Settings, args: argparse.Namespace) -> int:
    """Check the arguments, the target and the database, then export; 2 and one line if refused."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from storage.exports import UnknownTeam
    from storage.migrate import DatabaseNotMigrated
    from storage.reports import UnknownWard

    try:
        if args.export_command == "logbook":
            return await _logbook(settings, args)
        return await _cases(settings, args)
    except (ExportRefused, DatabaseNotMigrated, UnknownWard, UnknownTeam) as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2


def _labels(lang: str) -> Labels:
    from handlers.i18n import CatalogTranslator
    from handlers.report_output import Labels

    return Labels(CatalogTranslator(), lang)


def _file_name(*parts: str) -> str:
    return re.sub(r"[^\w.-]+", "_", "-".join(parts))


# --- the logbook ------------------------------------------------------------------------------

async def _logbook(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.domain.periods import report_period
    from handlers.export_output import logbook_csv, logbook_xlsx
    from storage.engine import create_engine
    from storage.exports import find_team, logbook
    from storage.migrate import require_up_to_date
    from storage.uow import make_uow_factory

    try:
        period = report_period(args.period, settings.timezone)
    except ValueError as error:
        raise ExportRefused(str(error)) from None
    path = args.output or Path(_file_name("logbook", args.team, period.code) + f".{args.format}")
    _check_target(path)
    await require_up_to_date(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with make_uow_factory(engine)() as uow:
            book = await logbook(uow.session, await find_team(uow.session, args.team), period, settings.timezone)
    finally:
        await engine.dispose()
    labels = _labels(args.lang)
    await _write_file(path, _one((logbook_csv if args.format == "csv" else logbook_xlsx)(book, labels)))
    print(labels("export.cli.written", count=len(book.entries), path=path))
    return 0


# --- every case -------------------------------------------------------------------------------

async def _cases(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.domain.exports import local_window
    from storage.engine import create_engine
    from storage.exports import count_cases
    from storage.migrate import require_up_to_date
    from storage.reports import find_ward
    from storage.uow import make_uow_factory

    first, last = _day(args.from_date, "--from"), _day(args.to_date, "--to")
    if first and last and first > last:
        raise ExportRefused(f"--from {first} is after --to {last}")
    path = args.output or Path(_file_name("cases", args.ward or "all", *(str(d) for d in (first, last) if d)) + ".csv")
    _check_target(path)
    await require_up_to_date(settings.database_url)
    starts, ends = local_window(first, last, settings.timezone)
    engine = create_engine(settings.database_url)
    try:
        async with make_uow_factory(engine)() as uow:
            ward = await find_ward(uow.session, args.ward) if args.ward else None
            ward_id = ward.id if ward else None
            total = await count_cases(uow.session, ward_id, starts, ends) if sys.stderr.isatty() else None
        labels = _labels(args.lang)
        done = [0]
        with _bar(total) as bar:
            await _write_file(path, _case_chunks(engine, labels, settings.timezone, (ward_id, starts, ends), bar, done))
    finally:
        await engine.dispose()
    print(labels("export.cli.written", count=done[0], path=path))
    return 0


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ExportRefused(f"{option} is a day written YYYY-MM-DD, like 2026-11-01, not {value!r}") from None


async def _case_chunks(engine: AsyncEngine, labels: Labels, zone: str,
                       where: tuple[int | None, datetime | None, datetime | None], bar: Any,
                       done: list[int]) -> AsyncIterator[bytes]:
    """The header, then each chunk of cases as it is read, counted in `done[0]`."""
    from handlers.export_output import cases_csv_header, cases_csv_rows
    from storage.exports import case_lines

    yield cases_csv_header(labels)
    async for lines in case_lines(engine, zone, *where):
        yield cases_csv_rows(lines, labels)
        before = done[0]
        done[0] += len(lines)
        _progress(done[0], before, bar)


@contextmanager
def _bar(total: int | None) -> Iterator[Any]:
    """tqdm's bar on a terminal (`total` known), shown when the export takes more than a moment."""
    if total is None:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="cases", file=sys.stderr, delay=0.5, leave=False) as bar:
        yield bar


def _progress(done: int, before: int, bar: Any) -> None:
    """The bar moved after each chunk; without one (not a terminal), a line every 50,000."""
    if bar is not None:
        bar.update(done - before)
    elif done // PROGRESS_EVERY > before // PROGRESS_EVERY:
        print(f"exported {done:,} cases...", file=sys.stderr, flush=True)


# --- the file ---------------------------------------------------------------------------------

def _check_target(path: Path) -> None:
    """Refuse early a target that cannot be written, before any counting."""
    if path.is_dir():
        raise ExportRefused(f"cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise ExportRefused(f"cannot write {path}: no directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportRefused(f"cannot write {path}: {parent} is not writable")


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _write_file(path: Path, chunks: AsyncIterator[bytes]) -> None:
    """Write the chunks under a temporary name beside `path`, then rename it: a failed or
    interrupted export never leaves a file that looks whole."""
    try:
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise _unwritable(path, error) from None
    temp = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            async for chunk in chunks:
                try:
                    handle.write(chunk)
                except OSError as error:  # a full disk
                    raise _unwritable(path, error) from None
        try:
            os.replace(temp, path)
        except OSError as error:
            raise _unwritable(path, error) from None
    finally:
        temp.unlink(missing_ok=True)


def _unwritable(path: Path, error: OSError) -> ExportRefused:
    return ExportRefused(f"cannot write {path}: {error.strerror or error}")
