"""`hoagiai invite`: an administrator makes, lists and revokes staff invite codes from the shell.

A code is printed once and only its hash is stored (handlers.domain.invites); the chat redeems
it (handlers.onboarding). Storage is imported inside the functions, as in bot/cli.py, so that
`hoagiai --help` stays quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import Settings
from handlers.domain.roles import MEMBERSHIP_ROLES, POLICE, POLICE_ROLES, ROLE_UNIT_KINDS

if TYPE_CHECKING:
    from handlers.domain.model import Invite, Unit
    from storage.uow import SqlUnitOfWork

DEFAULT_DAYS = 7
MAX_DAYS = 90
USERNAME_PLACEHOLDER = "<bot-username>"
TIME_FORMAT = "%Y-%m-%d %H:%M"
WITH_ROLE_ONLY = ("unit", "person", "days", "note")


class InviteRefused(Exception):
    """A bad input, told to the administrator in one line."""


@dataclass(frozen=True)
class InviteRequest:
    role: str
    unit_code: str
    person_ref: str | None
    days: int
    note: str | None


@dataclass(frozen=True)
class CreatedInvite:
    id: int
    code: str
    unit: Unit
    expires_at: datetime


def add_invite_parser(commands: argparse._SubParsersAction) -> None:
    invite = commands.add_parser(
        "invite", help="make, list or revoke one-time invite codes for staff",
        description="Make a one-time code that gives a role in a unit to whoever opens its Telegram link, "
                    "list the invites still usable, or revoke one. Only the code's hash is stored, so the "
                    "code is shown once.")
    action = invite.add_mutually_exclusive_group(required=True)
    action.add_argument("--role", metavar="ROLE",
                        help=f"make an invite for this role: {', '.join(MEMBERSHIP_ROLES)}")
    action.add_argument("--list", action="store_true", help="list the invites still usable (never their codes)")
    action.add_argument("--revoke", type=int, metavar="ID", help="revoke the unused invite with this id (see --list)")
    invite.add_argument("--unit", metavar="UNIT_CODE",
                        help="with --role, required: the unit the role is held in (a residential group for leader, "
                             "a mediation team for mediator, the police department for officer and head, "
                             "a department for member, the ward for admin)")
    invite.add_argument("--person", metavar="REF",
                        help="with --role: the ref of a person of the ward file; the chat account that "
                             "redeems the code becomes that person and gets the role")
    invite.add_argument("--days", metavar="N",
                        help=f"with --role: days until the code expires, 1 to {MAX_DAYS} (default {DEFAULT_DAYS})")
    invite.add_argument("--note", metavar="TEXT", help="with --role: a note kept with the invite, e.g. who it is for")


async def run_invite(settings: Settings, args: argparse.Namespace) -> int:
    """Check the arguments, then the database, then do the one action asked for."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from storage.migrate import DatabaseNotMigrated, require_up_to_date

    try:
        zone = _zone(settings.timezone)
        request = _request(args) if args.role is not None else None
        _refuse_role_options_without_role(args)
        await require_up_to_date(settings.database_url)
        lines = await _act(settings.database_url, args, request, zone, settings.telegram_bot_username)
    except (InviteRefused, DatabaseNotMigrated) as error:
        print(f"hoagiai: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if request is not None and settings.telegram_bot_username is None:
        print(f"hint: set HOAGIAI_TELEGRAM_BOT_USERNAME to the bot's username to print the real link "
              f"instead of {USERNAME_PLACEHOLDER}", file=sys.stderr)
    return 0


def _request(args: argparse.Namespace) -> InviteRequest:
    if args.role not in MEMBERSHIP_ROLES:
        raise InviteRefused(f"unknown role {args.role!r}; the roles are {', '.join(MEMBERSHIP_ROLES)}")
    if not args.unit:
        raise InviteRefused("--role needs --unit UNIT_CODE: the unit the role is held in")
    return InviteRequest(role=args.role, unit_code=args.unit, person_ref=args.person or None,
                         days=_days(args.days), note=args.note or None)


def _days(value: str | None) -> int:
    if value is None:
        return DEFAULT_DAYS
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise InviteRefused(f"--days must be a whole number from 1 to {MAX_DAYS}, not {value!r}")
    return days


def _refuse_role_options_without_role(args: argparse.Namespace) -> None:
    """`--list --unit x` would silently ignore the unit; say so instead."""
    if args.role is None:
        given = [f"--{name}" for name in WITH_ROLE_ONLY if getattr(args, name) is not None]
        if given:
            raise InviteRefused(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for use with --role only")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InviteRefused(f"unknown time zone {name!r} (HOAGIAI_TIMEZONE)") from None


async def _act(url: str, args: argparse.Namespace, request: InviteRequest | None, zone: ZoneInfo,
               username: str | None) -> list[str]:
    """One transaction; committed only when the action succeeded."""
    from storage.engine import create_engine
    from storage.uow import make_uow_factory

    now = datetime.now(timezone.utc)
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            if request is not None:
                created = await create_invite(uow, request, now)
                lines = created_lines(created, request, zone, username)
            elif args.list:
                return await usable_invite_lines(uow, now, zone)
            else:
                lines = [await revoke_invite(uow, args.revoke, now, zone)]
            await uow.commit()
            return lines
    finally:
        await engine.dispose()


# --- create ---------------------------------------------------------------------------------


async def create_invite(uow: SqlUnitOfWork, request: InviteRequest, now: datetime) -> CreatedInvite:
    from handlers.domain.invites import hash_code, new_code

    unit = await uow.units.by_code(request.unit_code)
    if unit is None:
        raise InviteRefused(f"no unit with code {request.unit_code!r}")
    problem = role_unit_problem(request.role, unit)
    if problem is not None:
        raise InviteRefused(problem)
    person_id = await _person_holding(uow, request, unit) if request.person_ref else None
    code = new_code()
    expires_at = now + timedelta(days=request.days)
    invite_id = await uow.staff.add_invite(code_hash=hash_code(code), role=request.role, unit_id=unit.id,
                                           person_id=person_id, note=request.note, expires_at=expires_at, now=now)
    return CreatedInvite(id=invite_id, code=code, unit=unit, expires_at=expires_at)


def role_unit_problem(role: str, unit: Unit) -> str | None:
    """Why `role` cannot be held in `unit` (roles.ROLE_UNIT_KINDS; police roles in the police), or None."""
    from storage.ward_file import KIND_NOUNS

    wanted = ROLE_UNIT_KINDS[role]
    if unit.kind != wanted:
        return f"{_a(role)} is held in {_a(KIND_NOUNS[wanted])}, and {unit.code!r} is {_a(KIND_NOUNS[unit.kind])}"
    if role in POLICE_ROLES and unit.function != POLICE:
        what = f"the {unit.function} department" if unit.function else "a department with no function"
        return f"{_a(role)} is held in the police department, and {unit.code!r} is {what}"
    return None


async def _person_holding(uow: SqlUnitOfWork, request: InviteRequest, unit: Unit) -> int:
    """The ward-file person's id; redeeming links the account to that person and grants the role."""
    assert request.person_ref is not None
    person_id = await uow.staff.person_id_by_ref(request.person_ref)
    if person_id is None:
        raise InviteRefused(f"no person with ref {request.person_ref!r} in the ward file")
    return person_id


def created_lines(created: CreatedInvite, request: InviteRequest, zone: ZoneInfo, username: str | None) -> list[str]:
    who = f" for {request.person_ref}" if request.person_ref else ""
    return [
        f"invite {created.id}: {request.role} in {created.unit.code} ({created.unit.name}){who}",
        *([f"note:    {request.note}"] if request.note else []),
        f"code:    {created.code}",
        f"link:    {deep_link(username, created.code)}",
        f"expires: {_local(created.expires_at, zone)} ({zone.key})",
        "The code is shown only this once (only its hash is stored); it works once.",
    ]


def deep_link(username: str | None, code: str) -> str:
    return f"https://t.me/{username or USERNAME_PLACEHOLDER}?start={code}"


# --- list and revoke ------------------------------------------------------------------------


async def usable_invite_lines(uow: SqlUnitOfWork, now: datetime, zone: ZoneInfo) -> list[str]:
    invites = await uow.staff.invites(now)
    if not invites:
        return ["no usable invites"]
    labels = await uow.staff.invite_labels([invite.id for invite in invites])
    rows = [("id", "role", "unit", "person", f"expires ({zone.key})", "note")]
    rows += [_invite_row(invite, labels[invite.id], zone) for invite in invites]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]).rstrip() for row in rows]


def _invite_row(invite: Invite, label: tuple[str, str | None, str | None], zone: ZoneInfo) -> tuple[str, ...]:
    unit_code, person_ref, note = label
    return (str(invite.id), invite.role, unit_code, person_ref or "-", _local(invite.expires_at, zone), note or "")


async def revoke_invite(uow: SqlUnitOfWork, invite_id: int, now: datetime, zone: ZoneInfo) -> str:
    state = await uow.staff.invite_state(invite_id)
    if state is None:
        raise InviteRefused(f"no invite with id {invite_id}")
    used_at, revoked_at = state
    if used_at is not None:
        raise InviteRefused(f"invite {invite_id} was used on {_local(used_at, zone)}; it cannot be revoked")
    if revoked_at is not None:
        raise InviteRefused(f"invite {invite_id} was already revoked on {_local(revoked_at, zone)}")
    if not await uow.staff.revoke_invite(invite_id, now):
        raise InviteRefused(f"invite {invite_id} was used or revoked meanwhile")
    return f"invite {invite_id} revoked"


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime(TIME_FORMAT)


def _a(noun: str) -> str:
    if noun == "ward":
        return "the ward"  # there is one
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"
