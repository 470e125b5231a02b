"""Staff screens by chat: role menus, case lists, the case card and its first actions.

Every read and every write checks `handlers.domain.access` here, in the core, whatever the
platform; a refusal is logged and answered like a case that does not exist, so guessed codes
and forged buttons learn nothing. Buttons carry the case version they were drawn for: a press
on an older card is told the case changed and gets the new card (optimistic locking).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import case_actions, case_history, case_lists, duty, tipoff_police, undelivered, ward_reports
from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import Case
from handlers.domain.roles import Actor
from handlers.messages import Choice, Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.casework")

TIMELINE = 6
# The fixed lists (filters by step, field and group are in handlers/case_lists.py).
LIST_FILTERS = case_lists.FIXED_LISTS
PREFIX = "k:"


async def actor_of(conv: Conversation) -> Actor:
    assert conv.person is not None
    return Actor(conv.person.id, await conv.uow.staff.memberships(conv.person.id))


def staff_menu_rows(conv: Conversation, actor: Actor) -> tuple[tuple[Choice, ...], ...]:
    """The buttons each held role adds to the menu."""
    filters = Choice(conv("lists.filters"), case_lists.FILTER_MENU)
    if actor.is_police:
        return (
            (Choice(conv("staff.list.new"), "k:l:new:0"), Choice(conv("staff.list.urgent"), "k:l:urgent:0")),
            (Choice(conv("staff.list.overdue"), "k:l:overdue:0"), Choice(conv("staff.list.mine"), "k:l:mine:0")),
            (Choice(conv("staff.list.all"), "k:l:all:0"), Choice(conv("duty.menu"), duty.SHOW)),
            (filters, Choice(conv("undelivered.menu"), undelivered.CALLBACK)),
            (Choice(conv("monthly.menu.police"), "m:u"),),
            ward_reports.menu_row(conv),
        )
    if access.scope_of(actor).empty:
        return ()
    return ((Choice(conv("staff.list.scoped"), "k:l:all:0"), filters),)


def roles_line(conv: Conversation, actor: Actor) -> str | None:
    staff_roles = [r for r in actor.roles if r != "resident"]
    if not staff_roles:
        return None
    return conv("staff.roles", roles=", ".join(conv(f"role.{r}") for r in staff_roles))


# --- entry points ---------------------------------------------------------------------------

async def handle_callback(conv: Conversation, data: str) -> list[Outgoing]:
    parts = data.split(":")
    actor = await actor_of(conv)
    if not actor.is_staff:
        return refused(conv, actor, "callback", data)
    try:
        if parts[1] == "l" and len(parts) == 4:
            return await case_list(conv, actor, parts[2], case_lists.page_of(parts[3]))
        if parts[1] == "fm" and len(parts) == 2:
            return await filter_menu(conv, actor)
        if parts[1] == "fg" and len(parts) == 3:
            return await group_picker(conv, actor, case_lists.page_of(parts[2]))
        if parts[1] == "o" and len(parts) == 3:
            return await open_case(conv, actor, await conv.uow.casework.get(_number(parts[2])))
        if parts[1] == "a" and len(parts) == 5:
            return await case_actions.quick(conv, actor, parts[2], _number(parts[3]), _number(parts[4]))
        if parts[1] == "f" and len(parts) == 5:
            return await case_actions.start(conv, actor, parts[2], _number(parts[3]), _number(parts[4]))
        if parts[1] == "t" and len(parts) == 4:
            return await tipoff_police.handle_callback(conv, actor, parts[2], _number(parts[3]))
        if data == undelivered.CALLBACK:
            return await undelivered.show(conv, actor)
        if data == ward_reports.STATS:
            return await ward_reports.stats(conv, actor)
        if parts[1] == "r" and len(parts) <= 3:
            return await ward_reports.summary(conv, actor, parts[2] if len(parts) == 3 else "")
        if parts[1] == "d" and len(parts) == 3:
            return await duty.handle_callback(conv, actor, data)
        if parts[1] == "h" and len(parts) == 3:
            case = await conv.uow.casework.get(_number(parts[2]))
            return await history(conv, case.code if case else parts[2])
    except ValueError:
        pass
    log.warning("staff callback refused as malformed person=%s data=%r", actor.person_id, data)
    return [say(conv, conv("form.button_unknown"))]


async def open_by_code(conv: Conversation, argument: str) -> list[Outgoing]:
    actor = await actor_of(conv)
    if not argument:
        return [say(conv, conv("staff.case.usage"))]
    return await open_case(conv, actor, await conv.uow.casework.by_code(argument))


async def history(conv: Conversation, argument: str) -> list[Outgoing]:
    actor = await actor_of(conv)
    case = await conv.uow.casework.by_code(argument) if argument else None
    if not argument:
        return [say(conv, conv("staff.history.usage"))]
    if case is None or not access.can(actor, access.HISTORY, case):
        return refused(conv, actor, access.HISTORY, argument)
    await _record_read(conv, actor, case, "history_viewed")
    events = await conv.uow.casework.events(case.id)
    people_ids, unit_ids = case_history.referenced_ids(events)
    names = await conv.uow.staff.names(sorted({e.actor_id for e in events if e.actor_id} | people_ids))
    units = {unit.id: unit.name for unit_id in sorted(unit_ids) if (unit := await conv.uow.units.get(unit_id))}
    lines = [conv("staff.history.header", code=case.code)]
    for event in events:
        extra = case_history.details(conv, event, names, units)
        lines.append(_event_line(conv, event, names) + (f": {extra}" if extra else ""))
    return [say(conv, "\n".join(lines), ((Choice(conv("staff.card.open"), f"k:o:{case.id}"),),))]


# --- lists ----------------------------------------------------------------------------------

async def case_list(conv: Conversation, actor: Actor, key: str, page: int) -> list[Outgoing]:
    """A list by key and page (handlers/case_lists.py); an unknown key raises ValueError."""
    if access.scope_of(actor).empty:
        return refused(conv, actor, "list", key)
    return await case_lists.case_list(conv, actor, key, page)


async def filter_menu(conv: Conversation, actor: Actor) -> list[Outgoing]:
    if access.scope_of(actor).empty:
        return refused(conv, actor, "list", "filters")
    return case_lists.filter_menu(conv, actor)


async def group_picker(conv: Conversation, actor: Actor, page: int) -> list[Outgoing]:
    if access.scope_of(actor).empty:
        return refused(conv, actor, "list", "groups")
    return await case_lists.group_picker(conv, page)


# --- the case card --------------------------------------------------------------------------

async def open_case(conv: Conversation, actor: Actor, case: Case | None, note: str | None = None) -> list[Outgoing]:
    if case is None or not access.can_view(actor, case):
        return refused(conv, actor, access.VIEW, case.code if case else "?")
    await _record_read(conv, actor, case, "viewed")
    return [await card(conv, actor, case, note)]


async def card(conv: Conversation, actor: Actor, case: Case, note: str | None = None) -> Outgoing:
    """The case card: its state, the people in charge, the summary, the latest events, the actions."""
    zone = ZoneInfo(conv.config.timezone)
    unit_names = await _unit_names(conv, case)
    people = await conv.uow.staff.names([i for i in (case.assignee_id, case.acknowledged_by) if i])
    lines = [note] if note else []
    lines += [
        conv("staff.card.title", code=case.code, urgent="🚨 " if case.urgent else ""),
        conv("staff.card.state", step=case.step, step_name=conv(f"workflow.step.{case.step}"),
             status=conv(f"workflow.status.{wf.CLOSED if case.is_closed else case.status}")),
        conv("staff.card.field", field=conv(f"field.{case.field}"),
             nature=conv(f"workflow.nature.{case.nature}") if case.nature else "—",
             complexity=conv(f"workflow.complexity.{case.complexity}") if case.complexity else "—"),
        conv("staff.card.where", group=unit_names.get(case.group_unit_id, "—"), address=case.address or "—"),
        conv("staff.card.people", assignee=people.get(case.assignee_id, "—") if case.assignee_id else "—",
             unit=unit_names.get(case.assigned_unit_id, "—"), lead=unit_names.get(case.lead_unit_id, "—")),
        conv("staff.card.received", at=case.created_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
             ack=people.get(case.acknowledged_by, "—") if case.acknowledged_by else conv("staff.card.not_acknowledged")),
        await _work_line(conv, case),
        *_due_line(conv, case),
        "",
        case.summary,
    ]
    tipoff_lines, tipoff_rows = await tipoff_police.card_section(conv, actor, case)
    lines += tipoff_lines
    events = await conv.uow.casework.events(case.id, limit=TIMELINE)
    names = await conv.uow.staff.names(sorted({e.actor_id for e in events if e.actor_id}))
    lines += ["", conv("staff.card.timeline")] + [_event_line(conv, e, names) for e in events]
    return say(conv, "\n".join(lines), tipoff_rows + _action_rows(conv, actor, case))


def _due_line(conv: Conversation, case: Case) -> list[str]:
    """When the open step is due (in the ward's zone), marked when it has passed."""
    if case.step_due_at is None or case.is_closed:
        return []
    due = case.step_due_at.astimezone(ZoneInfo(conv.config.timezone)).strftime("%d/%m/%Y %H:%M")
    return [conv("staff.card.overdue" if case.step_due_at < conv.now else "staff.card.due", due=due)]


async def _work_line(conv: Conversation, case: Case) -> str:
    """What the case file holds so far, so the next step's needs are visible at a glance."""
    facts = await conv.uow.casework.facts(case.id)
    return conv("staff.card.work",
                intervention=conv(f"actions.intervention.{case.intervention}") if case.intervention else "—",
                outcome=conv(f"actions.outcome_value.{case.outcome}") if case.outcome else "—",
                parties=facts.parties, notes=facts.notes, sessions=facts.sessions, commitments=facts.commitments)


async def _unit_names(conv: Conversation, case: Case) -> dict[int | None, str]:
    names: dict[int | None, str] = {}
    for unit_id in {case.group_unit_id, case.assigned_unit_id, case.lead_unit_id} - {None}:
        unit = await conv.uow.units.get(unit_id)  # type: ignore[arg-type]
        if unit is not None:
            names[unit_id] = unit.name
    return names


def _action_rows(conv: Conversation, actor: Actor, case: Case) -> tuple[tuple[Choice, ...], ...]:
    """Every action the person may take on the case in its current state, two to a row.
    Each button carries the case version it was drawn for (optimistic locking)."""
    buttons = []
    for action in access.available_actions(actor, case):
        if action == access.HISTORY:
            continue
        kind = "a" if action in case_actions.QUICK_ACTIONS else "f"
        buttons.append(Choice(conv(f"staff.action.{action}"), f"k:{kind}:{action}:{case.id}:{case.version}"))
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    last_row = [Choice(conv("staff.card.refresh"), f"k:o:{case.id}")]
    if access.can(actor, access.HISTORY, case):
        last_row.append(Choice(conv("staff.action.history"), f"k:h:{case.id}"))
    rows.append(tuple(last_row))
    return tuple(rows)


def _event_line(conv: Conversation, event, names: dict[int, str]) -> str:
    zone = ZoneInfo(conv.config.timezone)
    who = names.get(event.actor_id, "—") if event.actor_id else conv("staff.event.system")
    return conv("staff.event.line", at=event.at.astimezone(zone).strftime("%d/%m %H:%M"), who=who,
                what=conv(f"event.{event.kind}") if f"event.{event.kind}" in _EVENT_KINDS else event.kind)


_EVENT_KINDS = {f"event.{k}" for k in (
    "created", "viewed", "history_viewed", "acknowledged", "taken", "assigned", "classified", "note",
    "party_added", "verified", "intervention_chosen", "session_recorded", "outcome_recorded",
    "commitment_added", "closed", "reopened", "overdue", "escalated", "realerted", "checkin_asked", "checkin",
    "flagged", "followup_consent", "tipoff_replied", "tipoff_thread_viewed", "identity_revealed",
    "tipoff_reporter_wrote",
)}


# --- helpers --------------------------------------------------------------------------------

async def _record_read(conv: Conversation, actor: Actor, case: Case, kind: str) -> None:
    """Every read of a case by staff is part of its history."""
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind=kind, data={}, at=conv.now)


def refused(conv: Conversation, actor: Actor, action: str, target: str) -> list[Outgoing]:
    log.warning("access refused person=%s action=%s target=%s", actor.person_id, action, target)
    return [say(conv, conv("staff.not_found"))]


def say(conv: Conversation, text: str, buttons: tuple[tuple[Choice, ...], ...] = ()) -> Outgoing:
    return conv.reply(Reply(text=text, buttons=buttons))


def _number(text: str) -> int:
    value = int(text)
    if value < 0 or value > 2**62:
        raise ValueError(text)
    return value



async def cases_command(conv: Conversation) -> list[Outgoing]:
    """/cases: the open cases the person may see."""
    actor = await actor_of(conv)
    if not actor.is_staff:
        return refused(conv, actor, "list", "/cases")
    return await case_list(conv, actor, "all", 0)
