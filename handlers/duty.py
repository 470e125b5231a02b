"""Who is on duty: officers of the ward police start and end their shift by chat (/duty).

Urgent alerts and the escalation chain go to the officers on duty now. A ward police station
keeps a 24-hour duty (trực ban) handed over in the morning, so a shift started by chat runs to
the next handover; the officer may end it sooner. With nobody on duty, alerts go to every
officer of the ward police, so an urgent case is never told to no one.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.domain import routing
from handlers.domain.model import Case
from handlers.domain.roles import HEAD, OFFICER, Actor
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import UnitOfWork

if TYPE_CHECKING:
    from handlers.services import Conversation, CoreConfig

log = logging.getLogger("hoagiai.duty")

HANDOVER = time(7, 30)  # local time the duty changes hands
MIN_SHIFT = timedelta(hours=1)  # a shift started just before the handover runs to the next one
START, END, SHOW = "k:d:on", "k:d:off", "k:d:show"


def shift_end(now: datetime, zone: str) -> datetime:
    """The next handover at least MIN_SHIFT after `now`, in UTC."""
    local = now.astimezone(ZoneInfo(zone))
    end = datetime.combine(local.date(), HANDOVER, local.tzinfo)
    while end - local < MIN_SHIFT:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


async def ward_police(uow: UnitOfWork, config: CoreConfig, commune_unit_id: int | None) -> list[int]:
    """The ids of the police units of a ward (the configured ward when none is given)."""
    ward_id = commune_unit_id
    if ward_id is None:
        ward = await uow.units.ward(config.ward_code)
        ward_id = ward.id if ward is not None else None
    if ward_id is None:
        return []
    return [unit.id for unit in routing.police_departments(await uow.units.departments(ward_id))]


async def officers_on_duty(uow: UnitOfWork, config: CoreConfig, case: Case, now: datetime) -> list[int]:
    """Who of the case's ward police is on duty now; every officer when nobody is (the head is
    the next rung of every chain, not the stand-in for an empty roster)."""
    police = await ward_police(uow, config, case.commune_unit_id)
    if not police:
        return []
    on_duty = await uow.duty.on_duty(police, now)  # type: ignore[attr-defined]
    if on_duty:
        return on_duty
    log.warning("nobody on duty case=%s: telling every officer", case.code)
    return await uow.staff.holders(police, [OFFICER])  # type: ignore[attr-defined]


# --- /duty by chat --------------------------------------------------------------------------

async def _own_police(conv: Conversation, actor: Actor) -> list[int]:
    """The configured ward's police units in which the actor is an officer or the head."""
    mine = actor.units(OFFICER) | actor.units(HEAD)
    return [unit for unit in await ward_police(conv.uow, conv.config, None) if unit in mine]


async def command(conv: Conversation, actor: Actor) -> list[Outgoing]:
    """Whether the officer is on duty, who else is, and the button to start or end a shift."""
    police = await _own_police(conv, actor)
    if not police:
        log.warning("duty refused person=%s: not ward police", actor.person_id)
        return [_say(conv, conv("duty.police_only"))]
    return [await _status(conv, actor, police)]


async def handle_callback(conv: Conversation, actor: Actor, data: str) -> list[Outgoing]:
    """Show (k:d:show), start (k:d:on) or end (k:d:off) the officer's own shift."""
    police = await _own_police(conv, actor)
    if not police or data not in (START, END, SHOW):
        log.warning("duty refused person=%s data=%r", actor.person_id, data)
        return [_say(conv, conv("duty.police_only"))]
    if data == SHOW:
        return [await _status(conv, actor, police)]
    duty = conv.uow.duty  # type: ignore[attr-defined]
    if data == START:
        ends = shift_end(conv.now, conv.config.timezone)
        await duty.start(actor.person_id, police[0], conv.now, ends, conv.now)
        log.info("duty started person=%s until=%s", actor.person_id, ends.isoformat())
        return [await _status(conv, actor, police, conv("duty.started"))]
    await duty.end(actor.person_id, conv.now)
    log.info("duty ended person=%s", actor.person_id)
    return [await _status(conv, actor, police, conv("duty.ended"))]


async def _status(conv: Conversation, actor: Actor, police: list[int], note: str | None = None) -> Outgoing:
    duty = conv.uow.duty  # type: ignore[attr-defined]
    zone = ZoneInfo(conv.config.timezone)
    ends = await duty.shift_end(actor.person_id, conv.now)
    others = [person for person in await duty.on_duty(police, conv.now) if person != actor.person_id]
    names = await conv.uow.staff.names(others)  # type: ignore[attr-defined]
    lines = [note] if note else []
    if ends is not None:
        lines.append(conv("duty.on", until=ends.astimezone(zone).strftime("%H:%M %d/%m")))
        button = Choice(conv("duty.end"), END)
    else:
        lines.append(conv("duty.off"))
        button = Choice(conv("duty.start", until=shift_end(conv.now, conv.config.timezone).astimezone(zone)
                             .strftime("%H:%M %d/%m")), START)
    lines.append(conv("duty.others", names=", ".join(names.get(p, f"#{p}") for p in others) or "—"))
    return _say(conv, "\n".join(lines), ((button,),))


def _say(conv: Conversation, text: str, buttons: tuple[tuple[Choice, ...], ...] = ()) -> Outgoing:
    return conv.reply(Reply(text=text, buttons=buttons))
