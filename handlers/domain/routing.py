"""Which department leads a case of each field by default (DOMAIN.md, "Routing").

Defaults name a department's function, not a unit, so they hold in every ward; a ward file
may override them per field with a department code (kept in the commune's settings).
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.domain.model import Unit
from handlers.domain.roles import POLICE

_DEFAULT_LEAD = {
    "land": "economic",
    "construction": "economic",
    "environment": "economic",
    "family": "culture",
    "labour": "culture",
}


def lead_function(field: str) -> str:
    """The function of the department that leads a case of `field` unless the ward says otherwise."""
    return _DEFAULT_LEAD.get(field, POLICE)


def lead_department(field: str, ward: Unit | None, departments: Sequence[Unit]) -> Unit | None:
    """The ward's department that leads a new case of `field`: the ward file's override, else the
    department with the default function, else the police (who lead and track every case).
    None only when the ward has no department that fits at all."""
    override = routing_overrides(ward).get(field)
    by_code = {unit.code: unit for unit in departments}
    if override in by_code:
        return by_code[override]
    return (first_with_function(departments, lead_function(field))
            or first_with_function(departments, POLICE))


def routing_overrides(ward: Unit | None) -> dict[str, str]:
    """{field: department code} from the ward file, or {} when it gave none."""
    routing = (ward.settings or {}).get("routing") if ward is not None else None
    return dict(routing) if isinstance(routing, dict) else {}


def first_with_function(departments: Sequence[Unit], function: str) -> Unit | None:
    return next((unit for unit in departments if unit.function == function), None)


def police_departments(departments: Sequence[Unit]) -> list[Unit]:
    """The ward police (usually one unit): they receive every new case."""
    return [unit for unit in departments if unit.function == POLICE]
