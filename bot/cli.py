"""The `hoagiai` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import Settings, load_settings
from bot.export_cli import add_export_parser, run_export
from bot.invites_cli import add_invite_parser, run_invite
from bot.keys_cli import add_keys_parser, run_keys
from bot.remind_cli import add_remind_parser, run_remind
from bot.report_cli import add_report_parser, run_report

DEMO_HOST = "127.0.0.1"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hoagiai", description="Neighbourhood dispute bot for wards and communes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply the database migrations")
    db_commands.add_parser("current", help="show the database's migration revision")
    commands.add_parser("demo-data", help="load the demo ward (idempotent)")
    commands.add_parser("run", help="run the bot: Telegram when a token is set, and the web chat")
    commands.add_parser("demo", help="migrate, load the demo ward and open the web chat on 127.0.0.1 (no token needed)")
    ward_import = commands.add_parser(
        "import", help="load or update a ward's units and staff from a ward file",
        description="Load a commune/ward from a YAML ward file (and the CSV files it names): its residential "
                    "groups, departments, mediation teams and people with their roles. Running it again "
                    "updates in place. Nothing is written unless the whole file is right. "
                    "See docs/ward.example.yaml.")
    ward_import.add_argument("path", metavar="PATH", type=Path, help="the ward file (YAML)")
    ward_import.add_argument("--dry-run", action="store_true",
                             help="check the file and show what would change, then write nothing")
    add_invite_parser(commands)
    add_remind_parser(commands)
    add_report_parser(commands)
    add_export_parser(commands)
    add_keys_parser(commands)
    commands.add_parser(
        "rules", help="show the deadline rules in force (the defaults with HOAGIAI_RULES_FILE's changes)",
        description="Print every deadline rule the scheduler uses: the legal defaults of scheduler/rules.yaml "
                    "with the ward's changes from HOAGIAI_RULES_FILE, and the days off of HOAGIAI_DAYS_OFF_FILE. "
                    "A mistake in either file is printed with the file, the rule and the field, exit code 2.")
    return parser


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("telegram.Bot").addFilter(redact_raw_updates)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def redact_raw_updates(record: logging.LogRecord) -> bool:
    """PTB logs the raw updates it cannot parse; they may hold a reporter's identity."""
    if "Received data" in str(record.msg):
        record.msg, record.args = "Error while parsing updates (raw data withheld)", ()
    return True


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except Exception as error:  # pydantic's ValidationError lists every bad setting
        print(f"hoagiai: invalid settings:\n{error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        return asyncio.run(_run(args, settings))
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "import":  # needs neither the runtime nor alembic's start-up log lines
        return await _import_ward(settings, args.path, dry_run=args.dry_run)
    if args.command == "invite":
        return await run_invite(settings, args)
    if args.command == "remind":
        return await run_remind(settings, args)
    if args.command == "report":
        return await run_report(settings, args)
    if args.command == "export":
        return await run_export(settings, args)
    if args.command == "keys":
        return await run_keys(settings, args)
    if args.command == "rules":
        return _show_rules(settings)

    from storage.identity_vault import IdentityKeysError
    from storage.migrate import DatabaseNotMigrated, current_revision, upgrade

    from bot.runtime import ConfigurationError, serve

    if args.command == "db":
        if args.db_command == "upgrade":
            await upgrade(settings.database_url)
            print("database is up to date")
        else:
            print(await current_revision(settings.database_url) or "(empty database)")
        return 0
    if args.command == "demo-data":
        await _load_demo(settings)
        print("demo ward loaded")
        return 0
    try:
        if args.command == "demo":
            settings = settings.model_copy(update={"web_enabled": True, "web_host": DEMO_HOST})
            await upgrade(settings.database_url)
            await _load_demo(settings)
            await serve(settings, use_telegram=False, on_ready=lambda url: print(f"hoagiai demo: open {url}/chat", flush=True))
        else:
            await serve(settings, on_ready=lambda url: print(f"hoagiai running: {url}", flush=True))
    except DatabaseNotMigrated as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    except (ConfigurationError, IdentityKeysError) as error:  # the latter: a bad identity key or key file
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    return 0


async def _load_demo(settings: Settings) -> None:
    from storage.demo import load_demo_ward
    from storage.engine import create_engine
    from storage.uow import make_uow_factory

    engine = create_engine(settings.database_url)
    try:
        await load_demo_ward(make_uow_factory(engine))
    finally:
        await engine.dispose()


async def _import_ward(settings: Settings, path: Path, *, dry_run: bool) -> int:
    """Check the file, then import it in one transaction (rolled back for a dry run)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the problems readable
    from datetime import datetime, timezone

    from storage.engine import create_engine
    from storage.migrate import DatabaseNotMigrated, require_up_to_date
    from storage.uow import make_uow_factory
    from storage.ward_file import WardFileError, read_ward_file
    from storage.ward_import import WardImportError, import_ward

    try:
        ward = read_ward_file(path)
        await require_up_to_date(settings.database_url)
    except WardFileError as error:
        return _refuse(error.problems)
    except DatabaseNotMigrated as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    engine = create_engine(settings.database_url)
    try:
        async with make_uow_factory(engine)() as uow:
            try:
                summary = await import_ward(uow, ward, datetime.now(timezone.utc))
            except WardImportError as error:
                return _refuse(error.problems)
            if not dry_run:
                await uow.commit()
    finally:
        await engine.dispose()
    print(f"{ward.ward.name} ({ward.ward.code}): {'dry run, nothing written' if dry_run else 'imported'}")
    for line in summary.lines():
        print(f"  {line}")
    return 0


def _refuse(problems: list[object]) -> int:
    """Every problem on stderr, one per line (`file:line: field: message`), and exit code 2."""
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"hoagiai: {len(problems)} problem(s); nothing was imported", file=sys.stderr)
    return 2


def _show_rules(settings: Settings) -> int:
    """The rules in force, one line each, so a ward can check its configuration."""
    from scheduler.rules import RulesError, load_calendar, load_escalation, load_rules

    try:
        rules = load_rules(settings.rules_file)
        escalation = load_escalation(settings.rules_file)
        calendar = load_calendar(settings.timezone, settings.days_off_file)
    except RulesError as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    for rule in rules:
        when = ", ".join(f"{key}={value}" for key, value in rule.when.items()) or "-"
        step = "-" if rule.step is None else str(rule.step)
        print(f"{rule.id:28} {rule.kind:13} step {step:2} {when:46} {rule.limit:>3} {rule.unit:13} {rule.source}")
    steps = [f"{to} after {days} working day{'s' if days != 1 else ''}" for to, days in escalation]
    print("after a deadline: overdue to the people in charge, then " + (", then ".join(steps) or "nothing more"))
    days_off = ", ".join(day.isoformat() for day in sorted(calendar.days_off)) or "none"
    print(f"ward days off (besides public holidays): {days_off}")
    return 0
