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

from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import Case, CaseFilter
from handlers.domain.roles import Actor
from handlers.messages import Choice, Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.casework")

PAGE_SIZE = 8
TIMELINE = 6
# List filters: key -> what it selects for this actor.
LIST_FILTERS = ("new", "urgent", "mine", "all")
PREFIX = "k:"


async def actor_of(conv: Conversation) -> Actor:
    assert conv.person is not None
    return Actor(conv.person.id, await conv.uow.staff.memberships(conv.person.id))


def staff_menu_rows(conv: Conversation, actor: Actor) -> tuple[tuple[Choice, ...], ...]:
    """The buttons each held role adds to the menu."""
    if actor.is_police:
        return (
            (Choice(conv("staff.list.new"), "k:l:new:0"), Choice(conv("staff.list.urgent"), "k:l:urgent:0")),
            (Choice(conv("staff.list.mine"), "k:l:mine:0"), Choice(conv("staff.list.all"), "k:l:all:0")),
        )
    if access.scope_of(actor).empty:
        return ()
    return ((Choice(conv("staff.list.scoped"), "k:l:all:0"),),)


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
        return _refused(conv, actor, "callback", data)
    try:
        if parts[1] == "l" and len(parts) == 4 and parts[2] in LIST_FILTERS:
            return await case_list(conv, actor, parts[2], _page(parts[3]))
        if parts[1] == "o" and len(parts) == 3:
            return await open_case(conv, actor, await conv.uow.casework.get(_number(parts[2])))
        if parts[1] == "a" and len(parts) == 5:
            return await act(conv, actor, parts[2], _number(parts[3]), _number(parts[4]))
    except ValueError:
        pass
    log.warning("staff callback refused as malformed person=%s data=%r", actor.person_id, data)
    return [_say(conv, conv("form.button_unknown"))]


async def open_by_code(conv: Conversation, argument: str) -> list[Outgoing]:
    actor = await actor_of(conv)
    if not argument:
        return [_say(conv, conv("staff.case.usage"))]
    return await open_case(conv, actor, await conv.uow.casework.by_code(argument))


async def history(conv: Conversation, argument: str) -> list[Outgoing]:
    actor = await actor_of(conv)
    case = await conv.uow.casework.by_code(argument) if argument else None
    if not argument:
        return [_say(conv, conv("staff.history.usage"))]
    if case is None or not access.can(actor, access.HISTORY, case):
        return _refused(conv, actor, access.HISTORY, argument)
    await _record_read(conv, actor, case, "history_viewed")
    events = await conv.uow.casework.events(case.id)
    names = await conv.uow.staff.names(sorted({e.actor_id for e in events if e.actor_id}))
    lines = [conv("staff.history.header", code=case.code)]
    lines += [_event_line(conv, e, names) for e in events]
    return [_say(conv, "\n".join(lines), ((Choice(conv("staff.card.open"), f"k:o:{case.id}"),),))]


# --- lists ----------------------------------------------------------------------------------

async def case_list(conv: Conversation, actor: Actor, key: str, page: int) -> list[Outgoing]:
    scope = access.scope_of(actor)
    if scope.empty:
        return _refused(conv, actor, "list", key)
    wanted = {
        "new": CaseFilter(status=wf.STEP_STATUS[wf.CLASSIFY]),
        "urgent": CaseFilter(urgent=True),
        "mine": CaseFilter(assignee_id=actor.person_id),
        "all": CaseFilter(),
    }[key]
    cases, total = await conv.uow.casework.search(scope, wanted, page * PAGE_SIZE, PAGE_SIZE)
    title = conv(f"staff.list.{key}" if actor.is_police else "staff.list.scoped")
    if not cases:
        return [_say(conv, conv("staff.list.empty", title=title))]
    first, last = page * PAGE_SIZE + 1, page * PAGE_SIZE + len(cases)
    text = conv("staff.list.header", title=title, first=first, last=last, total=total)
    rows: list[tuple[Choice, ...]] = [(Choice(_list_label(conv, c), f"k:o:{c.id}"),) for c in cases]
    paging = []
    if page > 0:
        paging.append(Choice(conv("staff.list.previous"), f"k:l:{key}:{page - 1}"))
    if last < total:
        paging.append(Choice(conv("staff.list.next"), f"k:l:{key}:{page + 1}"))
    if paging:
        rows.append(tuple(paging))
    return [_say(conv, text, tuple(rows))]


def _list_label(conv: Conversation, case: Case) -> str:
    mark = "🚨 " if case.urgent else ""
    state = conv("staff.closed") if case.is_closed else conv("staff.step_short", step=case.step)
    return f"{mark}{case.code} · {conv(f'field.{case.field}')} · {state}"


# --- the case card --------------------------------------------------------------------------

async def open_case(conv: Conversation, actor: Actor, case: Case | None, note: str | None = None) -> list[Outgoing]:
    if case is None or not access.can_view(actor, case):
        return _refused(conv, actor, access.VIEW, case.code if case else "?")
    await _record_read(conv, actor, case, "viewed")
    return [await _card(conv, actor, case, note)]


async def _card(conv: Conversation, actor: Actor, case: Case, note: str | None) -> Outgoing:
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
        "",
        case.summary,
    ]
    events = await conv.uow.casework.events(case.id, limit=TIMELINE)
    names = await conv.uow.staff.names(sorted({e.actor_id for e in events if e.actor_id}))
    lines += ["", conv("staff.card.timeline")] + [_event_line(conv, e, names) for e in events]
    return _say(conv, "\n".join(lines), _action_rows(conv, actor, case))


async def _unit_names(conv: Conversation, case: Case) -> dict[int | None, str]:
    names: dict[int | None, str] = {}
    for unit_id in {case.group_unit_id, case.assigned_unit_id, case.lead_unit_id} - {None}:
        unit = await conv.uow.units.get(unit_id)  # type: ignore[arg-type]
        if unit is not None:
            names[unit_id] = unit.name
    return names


# Actions that act at once from the card; the others open a short form (next in the workflow).
QUICK_ACTIONS = (access.ACKNOWLEDGE, access.TAKE)


def _action_rows(conv: Conversation, actor: Actor, case: Case) -> tuple[tuple[Choice, ...], ...]:
    actions = [a for a in access.available_actions(actor, case) if a in QUICK_ACTIONS]
    buttons = [Choice(conv(f"staff.action.{a}"), f"k:a:{a}:{case.id}:{case.version}") for a in actions]
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    rows.append((Choice(conv("staff.card.refresh"), f"k:o:{case.id}"),))
    return tuple(rows)


def _event_line(conv: Conversation, event, names: dict[int, str]) -> str:
    zone = ZoneInfo(conv.config.timezone)
    who = names.get(event.actor_id, "—") if event.actor_id else conv("staff.event.system")
    return conv("staff.event.line", at=event.at.astimezone(zone).strftime("%d/%m %H:%M"), who=who,
                what=conv(f"event.{event.kind}") if f"event.{event.kind}" in _EVENT_KINDS else event.kind)


_EVENT_KINDS = {f"event.{k}" for k in (
    "created", "viewed", "history_viewed", "acknowledged", "taken", "assigned", "classified", "note",
    "party_added", "verified", "intervention_chosen", "session_recorded", "outcome_recorded",
    "commitment_added", "closed", "reopened",
)}


# --- actions --------------------------------------------------------------------------------

async def act(conv: Conversation, actor: Actor, action: str, case_id: int, version: int) -> list[Outgoing]:
    case = await conv.uow.casework.get(case_id)
    if case is None or not access.can_view(actor, case) or action not in QUICK_ACTIONS \
            or not access.can(actor, action, case):
        return _refused(conv, actor, action, str(case_id))
    if case.version != version:
        return [await _card(conv, actor, case, conv("staff.case_changed"))]
    try:
        change = (wf.acknowledge if action == access.ACKNOWLEDGE else wf.take)(case, actor.person_id, conv.now)
    except wf.WorkflowError as error:
        return [await _card(conv, actor, case, conv(error.key, **error.params))]
    updated = await conv.uow.casework.apply(case, change.values, conv.now)
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind=change.event, data=change.data, at=conv.now)
    log.info("case action code=%s action=%s person=%s version=%d", case.code, action, actor.person_id, updated.version)
    return [await _card(conv, actor, updated, conv(f"staff.done.{action}"))]


# --- helpers --------------------------------------------------------------------------------

async def _record_read(conv: Conversation, actor: Actor, case: Case, kind: str) -> None:
    """Every read of a case by staff is part of its history."""
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind=kind, data={}, at=conv.now)


def _refused(conv: Conversation, actor: Actor, action: str, target: str) -> list[Outgoing]:
    log.warning("access refused person=%s action=%s target=%s", actor.person_id, action, target)
    return [_say(conv, conv("staff.not_found"))]


def _say(conv: Conversation, text: str, buttons: tuple[tuple[Choice, ...], ...] = ()) -> Outgoing:
    return conv.reply(Reply(text=text, buttons=buttons))


def _number(text: str) -> int:
    value = int(text)
    if value < 0 or value > 2**62:
        raise ValueError(text)
    return value


def _page(text: str) -> int:
    value = _number(text)
    if value > 10_000:
        raise ValueError(text)
    return value



async def cases_command(conv: Conversation) -> list[Outgoing]:
    """/cases: the open cases the person may see."""
    actor = await actor_of(conv)
    if not actor.is_staff:
        return _refused(conv, actor, "list", "/cases")
    return await case_list(conv, actor, "all", 0)
