"""`hoagiai remind --at "2026-12-21 08:00" --dry-run`: what the reminder sweep would send then.

A ward checks its configuration (rules, days off, staff and their chats) by asking what would
go out at a given moment. The real sweep runs at that moment in a transaction that is rolled
back (scheduler.jobs.preview_sweep), so nothing is written and nothing is sent. Sending is the
running bot's job, so only a dry run is offered. Storage is imported inside the functions, as
in bot/cli.py, so that `hoagiai --help` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings

if TYPE_CHECKING:
    from handlers.services import CoreConfig
    from scheduler.jobs import PreviewMessage, SweepPreview
    from storage.uow import SqlUnitOfWork

Queued = tuple[datetime, str, str, str]  # due, channel, chat id, text

AT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
TIME_FORMAT = "%Y-%m-%d %H:%M"
EXCERPT_CHARS = 200
QUEUED_SHOWN = 10


class RemindRefused(Exception):
    """A bad input, told in one line."""


def add_remind_parser(commands: argparse._SubParsersAction) -> None:
    remind = commands.add_parser(
        "remind", help="show what the reminder sweep would send at a given moment (--dry-run)",
        description="Run the reminder sweep as it would run at --at (local time of HOAGIAI_TIMEZONE, "
                    "default now) and list every message it would send, with its recipient. Nothing is "
                    "written or sent: the running bot sends reminders itself.")
    remind.add_argument("--at", metavar="'YYYY-MM-DD HH:MM'",
                        help="the moment, in the ward's local time (default: now)")
    remind.add_argument("--dry-run", action="store_true", help="show what would be sent, write nothing (required)")


async def run_remind(settings: Settings, args: argparse.Namespace) -> int:
    """Check the arguments, the rules and the database, then preview the sweep."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.bootstrap import core_config
    from scheduler.rules import RulesError
    from storage.migrate import DatabaseNotMigrated, require_up_to_date

    try:
        if not args.dry_run:
            raise RemindRefused("only a dry run is supported: add --dry-run (the running bot sends reminders "
                                "itself, every 30 seconds)")
        zone = _zone(settings.timezone)
        at = parse_at(args.at, zone) if args.at is not None else datetime.now(timezone.utc)
        config = core_config(settings)
        await require_up_to_date(settings.database_url)
    except (RemindRefused, RulesError, DatabaseNotMigrated) as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    preview, queued = await _preview(settings.database_url, config, at)
    for line in preview_lines(preview, queued, zone):
        print(line)
    return 0


def parse_at(value: str, zone: ZoneInfo) -> datetime:
    """A local time of the ward (YYYY-MM-DD HH:MM, or with a T), as an aware UTC moment."""
    for form in AT_FORMATS:
        try:
            local = datetime.strptime(value.strip(), form)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).astimezone(timezone.utc)
    raise RemindRefused(f"--at must be a local time like \"2026-12-21 08:00\" (YYYY-MM-DD HH:MM, {zone.key}), "
                        f"not {value!r}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RemindRefused(f"unknown time zone {name!r} (HOAGIAI_TIMEZONE)") from None


async def _preview(url: str, config: CoreConfig, at: datetime) -> tuple[SweepPreview, list[Queued]]:
    from handlers.i18n import CatalogTranslator
    from scheduler.jobs import preview_sweep
    from storage.engine import create_engine
    from storage.uow import make_uow_factory

    engine = create_engine(url)
    quiet = logging.getLogger("hoagiai.reminders")  # its "reminder acted" lines would mislead here
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        uow_factory = make_uow_factory(engine)
        queued = await _queued(uow_factory, at)
        preview = await preview_sweep(uow_factory, CatalogTranslator(), config, at)
    finally:
        quiet.setLevel(level)
        await engine.dispose()
    return preview, queued


async def _queued(uow_factory: Callable[[], SqlUnitOfWork], at: datetime) -> list[Queued]:
    """Messages already waiting in the outbox and due by `at` (quiet hours, retries, a backlog)."""
    from sqlalchemy import select

    from storage.tables import OutboxRow

    query = (select(OutboxRow.next_attempt_at, OutboxRow.channel, OutboxRow.chat_id, OutboxRow.payload)
             .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= at)
             .order_by(OutboxRow.next_attempt_at, OutboxRow.id))
    async with uow_factory() as uow:
        rows = await uow.session.execute(query)
        return [(due, channel, chat_id or "", (payload or {}).get("text", "")) for due, channel, chat_id, payload in rows]


def preview_lines(preview: SweepPreview, queued: list[Queued], zone: ZoneInfo) -> list[str]:
    """A header with the moment and the counts, then one block per message."""
    moment = f"{_local(preview.at, zone)} {zone.key} ({preview.at.astimezone(timezone.utc).strftime(TIME_FORMAT)} UTC)"
    lines = [f"Reminder sweep at {moment}, dry run: {_count(preview.acted, 'reminder')} due, "
             f"{_count(len(preview.messages), 'message')} would be sent, "
             f"{_count(len(queued), 'message')} already queued. Nothing was written."]
    if not preview.complete:
        lines.append("warning: reminders were still falling due after the last round; the list is cut short")
    if not preview.messages:
        lines.append(f"Nothing would be sent at {moment}.")
    for number, message in enumerate(preview.messages, 1):
        lines += ["", *_block(number, message, zone)]
    if queued:
        lines += ["", "Already queued in the outbox, due by then:"]
        lines += [f"  {_local(due, zone)}  {channel}  chat {chat}  {_excerpt(text)}"
                  for due, channel, chat, text in queued[:QUEUED_SHOWN]]
        if len(queued) > QUEUED_SHOWN:
            lines.append(f"  ... and {len(queued) - QUEUED_SHOWN} more")
    return lines


def _block(number: int, message: PreviewMessage, zone: ZoneInfo) -> list[str]:
    to = message.recipient if message.recipient == message.chat_id else f"{message.recipient} (chat {message.chat_id})"
    urgent = "  URGENT" if message.urgent else ""
    case = f"case {message.case_code}, " if message.case_code else ""
    return [f"[{number}] {_local(message.send_at, zone)}  {message.channel}  to {to}{urgent}",
            f"    {case}{message.kind} reminder {message.reminder_id}",
            f"    {_excerpt(message.text)}"]


def _excerpt(text: str) -> str:
    """The text's lines on one line, cut at EXCERPT_CHARS."""
    flat = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS - 1] + "…"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime(TIME_FORMAT)
