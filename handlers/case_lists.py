"""Staff case lists: the fixed lists, filters by step, field and residential group, and paging.

A list is named by a compact key carried in its buttons (`k:l:<key>:<page>`):

    new | urgent | overdue | mine | all   the fixed lists (overdue: the open step is past due)
    s<1-5>                       by workflow step          k:l:s3:0
    f-<field code>               by field of the dispute   k:l:f-land:0
    g<unit id>                   by residential group      k:l:g12:0

plus `k:fm` (the filter menu) and `k:fg:<page>` (the residential-group picker, paged).

Keys and pages arrive from the outside and are parsed strictly: anything else raises
ValueError, which the caller answers as an unknown button. The actor's scope is always part
of the query and a filter only narrows it, so a forged key can never show more than the
actor's own list. Access (an empty scope) is checked by the caller, `handlers.casework`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import CASE_KIND_TIPOFF, DISPUTE_FIELDS, Case, CaseFilter, Unit
from handlers.domain.roles import Actor
from handlers.messages import Choice, Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

PAGE_SIZE = 8
GROUP_PAGE_SIZE = 8
MAX_PAGE = 10_000
# The fixed lists, in menu order.
FIXED_LISTS = ("new", "urgent", "overdue", "mine", "all")
FIELD_PREFIX = "f-"
FILTER_MENU = "k:fm"

_PAGE = re.compile(r"[0-9]{1,5}")
_STEP_KEY = re.compile(r"s([1-5])")
_GROUP_KEY = re.compile(r"g([0-9]{1,12})")

Rows = tuple[tuple[Choice, ...], ...]


# --- parsing what buttons carry -------------------------------------------------------------

def page_of(text: str) -> int:
    """A page number from a button: plain ASCII digits, at most MAX_PAGE; else ValueError."""
    if not _PAGE.fullmatch(text) or int(text) > MAX_PAGE:
        raise ValueError(f"bad page {text!r}")
    return int(text)


async def selection(conv: Conversation, actor: Actor, key: str) -> tuple[CaseFilter, str]:
    """The filter and title a list key stands for; ValueError for a key no button carries."""
    if key in FIXED_LISTS:
        return _fixed_filter(actor, key, conv.now), _fixed_title(conv, actor, key)
    if step := _STEP_KEY.fullmatch(key):
        number = int(step.group(1))
        return CaseFilter(step=number), conv("lists.title.step", step=number,
                                             name=conv(f"workflow.step.{number}"))
    if key.startswith(FIELD_PREFIX) and key[len(FIELD_PREFIX):] in DISPUTE_FIELDS:
        code = key[len(FIELD_PREFIX):]
        return CaseFilter(field=code), conv("lists.title.field", field=conv(f"field.{code}"))
    if group := _GROUP_KEY.fullmatch(key):
        unit = await _ward_group(conv, int(group.group(1)))
        return CaseFilter(group_unit_id=unit.id), unit.name
    raise ValueError(f"unknown list key {key!r}")


def _fixed_filter(actor: Actor, key: str, now: datetime) -> CaseFilter:
    return {
        "new": CaseFilter(status=wf.STEP_STATUS[wf.CLASSIFY]),
        "urgent": CaseFilter(urgent=True),
        "overdue": CaseFilter(overdue_at=now),
        "mine": CaseFilter(assignee_id=actor.person_id),
        "all": CaseFilter(),
    }[key]


def _fixed_title(conv: Conversation, actor: Actor, key: str) -> str:
    """Outside the police, "all" means all of the actor's unit(s), and says so."""
    if key == "all" and not actor.is_police:
        return conv("staff.list.scoped")
    return conv(f"staff.list.{key}")


async def _ward_group(conv: Conversation, unit_id: int) -> Unit:
    """Only the ward's own residential groups can be a filter; any other id is a forged button."""
    for unit in await ward_groups(conv):
        if unit.id == unit_id:
            return unit
    raise ValueError(f"not a residential group of the ward: {unit_id}")


async def ward_groups(conv: Conversation) -> tuple[Unit, ...]:
    _, groups = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    return groups


# --- screens --------------------------------------------------------------------------------

async def case_list(conv: Conversation, actor: Actor, key: str, page: int) -> list[Outgoing]:
    """One page of a list, inside the actor's scope; a page past the end shows the last one."""
    wanted, title = await selection(conv, actor, key)
    scope = access.scope_of(actor)
    cases, total = await conv.uow.casework.search(scope, wanted, page * PAGE_SIZE, PAGE_SIZE)
    if not cases and total:
        page = (total - 1) // PAGE_SIZE
        cases, total = await conv.uow.casework.search(scope, wanted, page * PAGE_SIZE, PAGE_SIZE)
    if not cases:
        return [_say(conv, conv("staff.list.empty", title=title), ((_filters_button(conv),),))]
    first, last = page * PAGE_SIZE + 1, page * PAGE_SIZE + len(cases)
    text = conv("staff.list.header", title=title, first=first, last=last, total=total)
    rows: list[tuple[Choice, ...]] = [(Choice(list_label(conv, c), f"k:o:{c.id}"),) for c in cases]
    rows += _paging(conv, f"k:l:{key}", page, last < total)
    rows.append((_filters_button(conv),))
    return [_say(conv, text, tuple(rows))]


def list_label(conv: Conversation, case: Case) -> str:
    overdue = case.step_due_at is not None and not case.is_closed and case.step_due_at < conv.now
    mark = ("🚨 " if case.urgent else "") + ("⏰ " if overdue else "") + ("🕵 " if case.kind == CASE_KIND_TIPOFF else "")
    state = conv("staff.closed") if case.is_closed else conv("staff.step_short", step=case.step)
    return f"{mark}{case.code} · {conv(f'field.{case.field}')} · {state}"


def filter_menu(conv: Conversation, actor: Actor) -> list[Outgoing]:
    """The fixed lists, a row of steps, the fields, and the way to the group picker."""
    steps = "\n".join(conv("lists.menu.step", step=n, name=conv(f"workflow.step.{n}")) for n in wf.STEPS)
    fixed = [Choice(_fixed_title(conv, actor, key), f"k:l:{key}:0") for key in FIXED_LISTS]
    fields = [Choice(conv(f"field.{code}"), f"k:l:{FIELD_PREFIX}{code}:0") for code in DISPUTE_FIELDS]
    rows: list[tuple[Choice, ...]] = [*_pairs(fixed)]
    rows.append(tuple(Choice(conv("lists.step_button", step=n), f"k:l:s{n}:0") for n in wf.STEPS))
    rows += _pairs(fields)
    rows.append((Choice(conv("lists.by_group"), "k:fg:0"),))
    return [_say(conv, conv("lists.menu.prompt", steps=steps), tuple(rows))]


async def group_picker(conv: Conversation, page: int) -> list[Outgoing]:
    """The ward's residential groups, a page at a time (a ward may have fifty or more)."""
    groups = await ward_groups(conv)
    back = (Choice(conv("lists.back_to_filters"), FILTER_MENU),)
    if not groups:
        return [_say(conv, conv("lists.groups.none"), (back,))]
    page = min(page, (len(groups) - 1) // GROUP_PAGE_SIZE)
    shown = groups[page * GROUP_PAGE_SIZE:(page + 1) * GROUP_PAGE_SIZE]
    first, last = page * GROUP_PAGE_SIZE + 1, page * GROUP_PAGE_SIZE + len(shown)
    rows = _pairs([Choice(unit.name, f"k:l:g{unit.id}:0") for unit in shown])
    rows += _paging(conv, "k:fg", page, last < len(groups))
    rows.append(back)
    text = conv("lists.groups.header", first=first, last=last, total=len(groups))
    return [_say(conv, text, tuple(rows))]


# --- helpers --------------------------------------------------------------------------------

def _paging(conv: Conversation, prefix: str, page: int, more: bool) -> list[tuple[Choice, ...]]:
    """Previous/next buttons that keep whatever `prefix` names (the list key, or the picker)."""
    buttons = []
    if page > 0:
        buttons.append(Choice(conv("staff.list.previous"), f"{prefix}:{page - 1}"))
    if more:
        buttons.append(Choice(conv("staff.list.next"), f"{prefix}:{page + 1}"))
    return [tuple(buttons)] if buttons else []


def _filters_button(conv: Conversation) -> Choice:
    return Choice(conv("lists.filters"), FILTER_MENU)


def _pairs(buttons: list[Choice]) -> list[tuple[Choice, ...]]:
    return [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]


def _say(conv: Conversation, text: str, buttons: Rows = ()) -> Outgoing:
    return conv.reply(Reply(text=text, buttons=buttons))
