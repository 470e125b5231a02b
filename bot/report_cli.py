"""`hoagiai report --period 2026-Q4 --format xlsx`: the ward police's roll-up report for the
ward Party committee (monthly, quarterly, 6-monthly, yearly; seeds 001, 004).

The text goes to stdout (an officer pastes it in a chat); CSV and XLSX are written to a file
whose path is printed. Periods are counted in NĐ 09/2019 reporting months (15th to 14th) in the
ward's zone. Storage is imported inside the functions, as in bot/cli.py, so that `hoagiai --help`
stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from handlers.domain.periods import ReportPeriod
    from storage.reports import Rollup

FORMATS = ("text", "csv", "xlsx")


class ReportRefused(Exception):
    """A bad input, told in one line."""


def add_report_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="the ward's roll-up report for a month, quarter, half-year or year (text, CSV or XLSX)",
        description="Count the cases received (by field, nature, urgency), resolved and stable, the mediations "
                    "and their success rate against the 90-95%% target, the prolonged cases, and the residential "
                    "groups' monthly updates (risks, groups that did not report) for a reporting period. "
                    "Months run from the 15th of the previous month to the 14th (NĐ 09/2019, Điều 12).")
    report.add_argument("--period", required=True, metavar="PERIOD",
                        help="2026-11 (a month), 2026-Q4 (a quarter), 2026-H1 (a half-year) or 2026 (a year)")
    report.add_argument("--format", choices=FORMATS, default="text", help="text on stdout (default), or a file")
    report.add_argument("--output", type=Path, metavar="PATH",
                        help="the CSV/XLSX file (default: report-<period>.<format> in the current directory)")
    report.add_argument("--lang", choices=("vi", "en"), default="vi", help="the labels' language (default vi)")
    report.add_argument("--ward", metavar="CODE", help="the ward's unit code (default: every ward in the database)")
    report.add_argument("--prolonged-days", type=int, default=30, metavar="N",
                        help="a case open longer than N days at the end of the period is prolonged (default 30)")


async def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Check the arguments and the database, count, then print or write the report."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from handlers.domain.periods import report_due_date, report_period
    from storage.migrate import DatabaseNotMigrated, require_up_to_date
    from storage.reports import UnknownWard

    try:
        if args.prolonged_days < 1:
            raise ReportRefused(f"--prolonged-days must be 1 or more, not {args.prolonged_days}")
        try:
            period = report_period(args.period, settings.timezone)
        except ValueError as error:
            raise ReportRefused(str(error)) from None
        await require_up_to_date(settings.database_url)
        with _progress(period) as stage:
            rollup = await _rollup(settings.database_url, period, args.ward, args.prolonged_days, stage)
            stage("writing")
            return _output(rollup, args, report_due_date(period.code))
    except (ReportRefused, DatabaseNotMigrated, UnknownWard) as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2


@contextmanager
def _progress(period: ReportPeriod) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr, shown only when the report takes more than a moment."""
    from tqdm import tqdm

    from storage.reports import ROLLUP_STAGES

    with tqdm(total=len(ROLLUP_STAGES) + 1, desc=f"report {period.code}", unit="step", delay=0.5,
              file=sys.stderr, leave=False) as bar:
        def stage(name: str) -> None:
            bar.set_postfix_str(name, refresh=False)
            bar.update(1)

        yield stage


async def _rollup(url: str, period: ReportPeriod, ward_code: str | None, prolonged_days: int,
                  stage: Callable[[str], None]) -> Rollup:
    from storage.engine import create_engine
    from storage.reports import find_ward, rollup
    from storage.uow import make_uow_factory

    print(f"counting {period.code} ({period.first:%d/%m/%Y}-{period.last:%d/%m/%Y})...", file=sys.stderr, flush=True)
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            ward = await find_ward(uow.session, ward_code) if ward_code else None
            return await rollup(uow.session, period, ward, prolonged_days, stage)
    finally:
        await engine.dispose()


def _output(rollup: Rollup, args: argparse.Namespace, due: date | None) -> int:
    from handlers.report_output import Labels, csv_bytes, text, xlsx_bytes
    from handlers.i18n import CatalogTranslator

    labels = Labels(CatalogTranslator(), args.lang)
    if args.format == "text":
        print(text(rollup, labels, due))
        return 0
    path = args.output or Path(f"report-{rollup.period}.{args.format}")
    try:
        path.write_bytes((csv_bytes if args.format == "csv" else xlsx_bytes)(rollup, labels, due))
    except OSError as error:
        print(f"hoagiai: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(labels("rollup.cli.written", path=path))
    return 0
