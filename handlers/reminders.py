"""Step deadlines, acted on when due: remind the people in charge, then escalate.

A step's reminder row (storage/reminders.py, written by handlers/step_deadlines.py when the
case moves) climbs the ward's chain (`chain_of`) one level each time it falls due; by default:

  0  before the deadline  the people in charge are reminded            next: at the deadline
  1  the deadline passed  the people in charge: overdue (event)        next: 1 working day later
  2  still overdue        the officers on duty (event escalated)       next: 1 working day later
  3  still overdue        the head(s) of the ward police (escalated)   the chain ends

"The people in charge" are the assignee; for a case assigned to a unit (a mediation team, a
department), its members; while nobody has it, the officers and heads of the ward police.
Messages to people who are not police (mediators, leaders) wait out quiet hours. Moving the case on replaces its reminder; one that no longer matches
its case's step and rule is cancelled here, so a stale reminder never speaks. Everything is
written in the caller's transaction (outbox rows, case events, the next level), so a sweep that
fails before commit has done nothing and the next sweep does it all once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import checkins, duty, quiet, urgent
from handlers.domain.calendar import WorkCalendar
from handlers.domain.model import Case, Contact, Reminder
from handlers.domain.roles import HEAD, OFFICER, ROLES
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork

if TYPE_CHECKING:
    from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.reminders")

STEP_DUE = "step_due"
# The kinds act() handles; the sweep claims only these.
KINDS: tuple[str, ...] = (STEP_DUE, urgent.URGENT_ALERT, checkins.CHECKIN)
DONE, CANCELLED = "done", "cancelled"

# Who a level tells.
IN_CHARGE = "in_charge"  # the assignee, else the assigned unit's members, else the ward police
OFFICERS = "officers"  # the officers on duty; see _audience
HEADS = "head"  # the head(s) of the ward police


@dataclass(frozen=True)
class Level:
    """One rung of the chain: who is told, with which message, what the case history records,
    and when the rung falls due: `after_working_days` after the previous one, 0 = at the deadline.
    (The first rung falls due at the rule's reminder time, computed when the step began.)"""

    audience: str
    message: str
    event: str | None = None
    after_working_days: int = 0


# The chain: the reminder and the overdue notice to the people in charge are fixed; the
# escalations after them are the ward's (CoreConfig.escalation, from the rules file's
# `escalation:` list; the default is ESCALATION).
START: tuple[Level, ...] = (
    Level(IN_CHARGE, "reminders.due"),
    Level(IN_CHARGE, "reminders.overdue", event="overdue", after_working_days=0),
)
ESCALATION: tuple[tuple[str, int], ...] = ((OFFICERS, 1), (HEADS, 1))
ESCALATION_AUDIENCES: tuple[str, ...] = (OFFICERS, HEADS)
# Message keys chosen from data (tests/unit/test_catalogs.py checks they exist).
MESSAGE_KEYS: tuple[str, ...] = (*(level.message for level in START),
                                 *(f"reminders.escalated.{audience}" for audience in ESCALATION_AUDIENCES))


def chain_of(config: CoreConfig) -> tuple[Level, ...]:
    """The whole chain of a ward: START, then its escalations."""
    return START + tuple(Level(audience, f"reminders.escalated.{audience}", event="escalated", after_working_days=days)
                         for audience, days in config.escalation)

DATE_FORMAT = "%d/%m/%Y %H:%M"


async def act(uow: UnitOfWork, t: Translator, config: CoreConfig, reminder: Reminder, now: datetime) -> None:
    """Do what a due reminder asks, then move it to its next level, or end it."""
    if reminder.kind == urgent.URGENT_ALERT:
        await urgent.act(uow, t, config, reminder, now)
        return
    if reminder.kind == checkins.CHECKIN:
        await checkins.act(uow, t, config, reminder, now)
        return
    if reminder.kind != STEP_DUE:
        log.warning("reminder kind not handled id=%d kind=%s", reminder.id, reminder.kind)
        return
    case = await uow.casework.get(reminder.case_id) if reminder.case_id is not None else None
    if case is None or not still_applies(case, reminder):
        await uow.reminders.finish(reminder.id, CANCELLED, now)
        log.info("reminder cancelled id=%d case=%s", reminder.id, case.code if case else reminder.case_id)
        return
    deadline = deadline_of(reminder, case)
    number = effective_level(reminder.level, deadline, now)
    chain = chain_of(config)
    if number >= len(chain):  # a chain made shorter since the row was written
        await uow.reminders.finish(reminder.id, DONE, now)
        return
    level = chain[number]
    people, civilians = await _audience(uow, config, case, level.audience, now)
    contacts = await uow.staff.contacts(people)
    who = await _in_charge_name(uow, case) if contacts and level.audience != IN_CHARGE else None
    wait = quiet.not_before(config, now) if civilians else None
    for contact in contacts:
        message = _message(t, config, reminder, level, number, case, contact, deadline, who)
        if contact.person_id in civilians:
            message = replace(message, not_before=wait)
        await uow.outbox.add(message, now)
    if level.event is not None:
        await uow.cases.add_event(case.id, actor_id=None, kind=level.event,
                                  data={"level": number, "to": level.audience}, at=now)
    await _advance(uow, config.calendar, chain, reminder, number, deadline, now)
    log.info("reminder acted id=%d case=%s level=%d people=%d chats=%d",
             reminder.id, case.code, number, len(people), len(contacts))


def still_applies(case: Case, reminder: Reminder) -> bool:
    """A reminder speaks only for the open step (and rule) it was written for."""
    return not case.is_closed and case.step == reminder.step and case.step_rule == reminder.rule_id


def deadline_of(reminder: Reminder, case: Case) -> datetime:
    """The step's deadline as the reminder recorded it (the case's, for an older row)."""
    stored = reminder.data.get("deadline")
    if stored:
        return datetime.fromisoformat(stored)
    return case.step_due_at or reminder.due_at


def effective_level(level: int, deadline: datetime, now: datetime) -> int:
    """A reminder before the deadline that fires once it has passed (a rule with no early
    reminder) says "overdue" at once rather than "due soon"."""
    return 1 if level == 0 and now >= deadline else level


def next_due(chain: tuple[Level, ...], number: int, deadline: datetime, now: datetime,
             calendar: WorkCalendar) -> datetime | None:
    """When the rung after `number` falls due; None when the chain ends with `number`."""
    if number + 1 >= len(chain):
        return None
    following = chain[number + 1]
    if following.after_working_days <= 0:
        return max(deadline, now)
    return calendar.add_working_days(now, following.after_working_days)


async def _advance(uow: UnitOfWork, calendar: WorkCalendar, chain: tuple[Level, ...], reminder: Reminder,
                   number: int, deadline: datetime, now: datetime) -> None:
    due = next_due(chain, number, deadline, now, calendar)
    if due is None:
        await uow.reminders.finish(reminder.id, DONE, now)
    else:
        await uow.reminders.reschedule(reminder.id, due, number + 1, now)


async def _audience(uow: UnitOfWork, config: CoreConfig, case: Case, audience: str,
                    now: datetime) -> tuple[list[int], set[int]]:
    """The people a level tells, and those of them who are not police (their messages wait out
    quiet hours). IN_CHARGE: the assignee, else the members of the assigned unit (a mediation
    team, a department), else the ward police. OFFICERS: the officers on duty (every officer
    when nobody is), but not the assignee, who was told at the levels before."""
    if audience == IN_CHARGE and case.assignee_id is not None:
        return [case.assignee_id], set()
    if audience == OFFICERS:
        return [p for p in await duty.officers_on_duty(uow, config, case, now) if p != case.assignee_id], set()
    police = await duty.ward_police(uow, config, case.commune_unit_id)
    if audience == IN_CHARGE and case.assigned_unit_id is not None:
        members = await uow.staff.holders([case.assigned_unit_id], list(ROLES))
        if members:
            officers = set(await uow.staff.holders(police, [OFFICER, HEAD])) if police else set()
            return members, set(members) - officers
    if not police:
        return [], set()
    roles = [OFFICER, HEAD] if audience == IN_CHARGE else [HEAD]
    return await uow.staff.holders(police, roles), set()


async def _in_charge_name(uow: UnitOfWork, case: Case) -> str | None:
    """Who took the case (or the unit it was assigned to), for the escalation messages; None
    while nobody has."""
    if case.assignee_id is not None:
        names = await uow.staff.names([case.assignee_id])
        return names.get(case.assignee_id, f"#{case.assignee_id}")
    if case.assigned_unit_id is not None:
        unit = await uow.units.get(case.assigned_unit_id)
        return unit.name if unit is not None else None
    return None


def _message(t: Translator, config: CoreConfig, reminder: Reminder, level: Level, number: int, case: Case,
             contact: Contact, deadline: datetime, who: str | None) -> Outgoing:
    """The case code, its step, the deadline in the ward's zone and an Open button; nothing
    about the reporter."""
    lang = contact.language
    due = deadline.astimezone(ZoneInfo(config.timezone)).strftime(DATE_FORMAT)
    text = t(level.message, lang, code=case.code, step=t(f"workflow.step.{case.step}", lang), due=due,
             who=who or t("reminders.nobody", lang))
    buttons = ((Choice(t("staff.card.open", lang), f"k:o:{case.id}"),),)
    return Outgoing(channel=contact.platform, chat_id=contact.chat_id, reply=Reply(text=text, buttons=buttons),
                    dedupe_key=f"reminder:{reminder.id}:{number}:{contact.person_id}:{contact.platform}")
