"""What an event changed, in words, for `/history`: from and to, and why.

Events store codes and ids ({column: [old, new]}, a reason, a note); officers read names and
labels. Only police roles see the history, so notes and parties' names may appear here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.domain.model import CaseEvent

if TYPE_CHECKING:
    from handlers.services import Conversation

# Columns whose values are codes with catalog labels: column -> label key prefix.
CODED = {
    "field": "field.", "nature": "workflow.nature.", "complexity": "workflow.complexity.",
    "status": "workflow.status.", "intervention": "actions.intervention.", "outcome": "actions.outcome_value.",
}
PEOPLE_COLUMNS = ("assignee_id", "acknowledged_by")
UNIT_COLUMNS = ("assigned_unit_id", "lead_unit_id")
SHOWN = ("step", *CODED, "urgent", "people_count", *PEOPLE_COLUMNS, *UNIT_COLUMNS, "transfer_to")
TEXTS = ("reason", "text", "name")
MAX_TEXT = 200


def referenced_ids(events: list[CaseEvent]) -> tuple[set[int], set[int]]:
    """The people and units the events' changes mention, to look their names up once."""
    people: set[int] = set()
    units: set[int] = set()
    for event in events:
        for column, pair in _pairs(event.data):
            ids = {v for v in pair if isinstance(v, int)}
            if column in PEOPLE_COLUMNS:
                people |= ids
            elif column in UNIT_COLUMNS:
                units |= ids
    return people, units


def details(conv: Conversation, event: CaseEvent, people: dict[int, str], units: dict[int, str]) -> str:
    """"field: Land → Family; step: 1 → 2 — reason: it happened again" (empty when nothing to add)."""
    parts = [conv("history.change", what=conv(f"history.column.{column}"),
                  old=_value(conv, column, old, people, units), new=_value(conv, column, new, people, units))
             for column, (old, new) in _pairs(event.data)]
    texts = [_short(str(event.data[key])) for key in TEXTS if event.data.get(key)]
    line = "; ".join(parts)
    if texts:
        line = (line + " — " if line else "") + " · ".join(texts)
    return line


def _pairs(data: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [(column, data[column]) for column in SHOWN
            if isinstance(data.get(column), list) and len(data[column]) == 2]


def _value(conv: Conversation, column: str, value: Any, people: dict[int, str], units: dict[int, str]) -> str:
    if value is None:
        return "—"
    if column in CODED:
        return conv(f"{CODED[column]}{value}")
    if column in PEOPLE_COLUMNS:
        return people.get(value, f"#{value}")
    if column in UNIT_COLUMNS:
        return units.get(value, f"#{value}")
    if column == "urgent":
        return conv("actions.answer.yes" if value else "actions.answer.no")
    return _short(str(value))


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1].rstrip() + "…"
