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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
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
    await act_batch(uow, t, config, [reminder], now)


async def act_batch(uow: UnitOfWork, t: Translator, config: CoreConfig, due: list[Reminder], now: datetime) -> None:
    """Act on a sweep's batch. Step reminders (nearly all of them) share a few queries per batch
    rather than several per reminder: a thousand of them would otherwise hold the transaction
    (and on SQLite every writer) for seconds."""
    steps = []
    for reminder in due:
        if reminder.kind == urgent.URGENT_ALERT:
            await urgent.act(uow, t, config, reminder, now)
        elif reminder.kind == checkins.CHECKIN:
            await checkins.act(uow, t, config, reminder, now)
        elif reminder.kind == STEP_DUE:
            steps.append(reminder)
        else:
            log.warning("reminder kind not handled id=%d kind=%s", reminder.id, reminder.kind)
    if steps:
        await _act_steps(uow, t, config, steps, now)


@dataclass(frozen=True)
class _Plan:
    """What one step reminder does at this sweep."""

    reminder: Reminder
    case: Case
    number: int
    level: Level
    deadline: datetime
    people: list[int]
    civilians: set[int]


async def _act_steps(uow: UnitOfWork, t: Translator, config: CoreConfig, due: list[Reminder], now: datetime) -> None:
    cases = await uow.casework.get_many([r.case_id for r in due if r.case_id is not None])
    chain, audiences = chain_of(config), _Audiences(uow, config, now)
    cancelled, done, moves, plans = [], [], [], []
    for reminder in due:
        case = cases.get(reminder.case_id) if reminder.case_id is not None else None
        if case is None or not still_applies(case, reminder):
            cancelled.append(reminder.id)
            log.info("reminder cancelled id=%d case=%s", reminder.id, case.code if case else reminder.case_id)
            continue
        deadline = deadline_of(reminder, case)
        number = effective_level(reminder.level, deadline, now)
        if number >= len(chain):  # a chain made shorter since the row was written
            done.append(reminder.id)
            continue
        people, civilians = await audiences(case, chain[number].audience)
        plans.append(_Plan(reminder, case, number, chain[number], deadline, people, civilians))
        following = next_due(chain, number, deadline, now, config.calendar)
        if following is None:
            done.append(reminder.id)
        else:
            moves.append((reminder.id, following, number + 1))
    messages = await _messages(uow, t, config, plans, now)
    await uow.cases.add_events([{"case_id": plan.case.id, "actor_id": None, "kind": plan.level.event,
                                 "data": {"level": plan.number, "to": plan.level.audience}, "at": now}
                                for plan in plans if plan.level.event is not None])
    for plan in plans:  # the case history has each escalation; the log, the batch
        log.debug("reminder acted id=%d case=%s level=%d people=%d", plan.reminder.id, plan.case.code,
                  plan.number, len(plan.people))
    log.info("step reminders acted=%d cancelled=%d done=%d messages=%d", len(plans), len(cancelled), len(done),
             len(messages))
    await uow.outbox.add_many(messages, now)
    await uow.reminders.advance_many(moves, now)
    await uow.reminders.finish_many(done, DONE, now)
    await uow.reminders.finish_many(cancelled, CANCELLED, now)


async def _messages(uow: UnitOfWork, t: Translator, config: CoreConfig, plans: list[_Plan],
                    now: datetime) -> list[Outgoing]:
    """One message per chat of each person told; contacts and names read once for the batch."""
    contacts: dict[int, list[Contact]] = {}
    for contact in await uow.staff.contacts(sorted({person for plan in plans for person in plan.people})):
        contacts.setdefault(contact.person_id, []).append(contact)
    names = await _in_charge_names(uow, [plan.case for plan in plans if plan.level.audience != IN_CHARGE])
    wait = quiet.not_before(config, now)
    messages = []
    for plan in plans:
        for person in plan.people:
            for contact in contacts.get(person, []):
                message = _message(t, config, plan, contact, names.get(plan.case.id))
                messages.append(replace(message, not_before=wait) if person in plan.civilians else message)
    return messages


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


class _Audiences:
    """Who a level tells, for the cases of one batch; each ward's police, unit and duty roster
    is read once per batch."""

    def __init__(self, uow: UnitOfWork, config: CoreConfig, now: datetime) -> None:
        self.uow, self.config, self.now = uow, config, now
        self._cache: dict[tuple, Any] = {}

    async def _once(self, key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self._cache:
            self._cache[key] = await load()
        return self._cache[key]

    async def __call__(self, case: Case, audience: str) -> tuple[list[int], set[int]]:
        """The people told, and those of them who are not police (their messages wait out quiet
        hours). IN_CHARGE: the assignee, else the members of the assigned unit (a mediation
        team, a department), else the ward police. OFFICERS: the officers on duty (every
        officer when nobody is), but not the assignee, who was told at the levels before."""
        uow = self.uow
        if audience == IN_CHARGE and case.assignee_id is not None:
            return [case.assignee_id], set()
        if audience == OFFICERS:
            on_duty = await self._once(("duty", case.commune_unit_id),
                                       lambda: duty.officers_on_duty(uow, self.config, case, self.now))
            return [person for person in on_duty if person != case.assignee_id], set()
        police = await self._once(("police", case.commune_unit_id),
                                  lambda: duty.ward_police(uow, self.config, case.commune_unit_id))
        if audience == IN_CHARGE and case.assigned_unit_id is not None:
            members = await self._once(("unit", case.assigned_unit_id),
                                       lambda: uow.staff.holders([case.assigned_unit_id], list(ROLES)))
            if members:
                officers = await self._holders(police, (OFFICER, HEAD))
                return members, set(members) - set(officers)
        if not police:
            return [], set()
        return await self._holders(police, (OFFICER, HEAD) if audience == IN_CHARGE else (HEAD,)), set()

    async def _holders(self, units: list[int], roles: tuple[str, ...]) -> list[int]:
        if not units:
            return []
        return await self._once(("holders", tuple(units), roles), lambda: self.uow.staff.holders(units, list(roles)))


async def _in_charge_names(uow: UnitOfWork, cases: list[Case]) -> dict[int, str]:
    """Who took each case (or the unit it was assigned to), for the escalation messages; a case
    nobody has is left out."""
    names = await uow.staff.names(sorted({case.assignee_id for case in cases if case.assignee_id is not None}))
    units: dict[int, str] = {}
    for unit_id in sorted({case.assigned_unit_id for case in cases
                           if case.assignee_id is None and case.assigned_unit_id is not None}):
        unit = await uow.units.get(unit_id)
        if unit is not None:
            units[unit_id] = unit.name
    found: dict[int, str] = {}
    for case in cases:
        if case.assignee_id is not None:
            found[case.id] = names.get(case.assignee_id, f"#{case.assignee_id}")
        elif case.assigned_unit_id in units:
            found[case.id] = units[case.assigned_unit_id]
    return found


def _message(t: Translator, config: CoreConfig, plan: _Plan, contact: Contact, who: str | None) -> Outgoing:
    """The case code, its step, the deadline in the ward's zone and an Open button; nothing
    about the reporter."""
    lang, case = contact.language, plan.case
    due = plan.deadline.astimezone(ZoneInfo(config.timezone)).strftime(DATE_FORMAT)
    text = t(plan.level.message, lang, code=case.code, step=t(f"workflow.step.{case.step}", lang), due=due,
             who=who or t("reminders.nobody", lang))
    buttons = ((Choice(t("staff.card.open", lang), f"k:o:{case.id}"),),)
    return Outgoing(channel=contact.platform, chat_id=contact.chat_id, reply=Reply(text=text, buttons=buttons),
                    dedupe_key=f"reminder:{plan.reminder.id}:{plan.number}:{contact.person_id}:{contact.platform}")
