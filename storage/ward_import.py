"""Writes a checked ward file into the database: its units, its people and their roles.

Units are matched by code and people by ref, so importing the same file again changes
nothing. The roles the file gives are memberships with source "import"; the file is their
only source, so an imported role that the file no longer gives (within this ward) is removed.
Roles taken with an invite code (source "invite") are never touched, and nothing is ever
deleted from another ward. The caller commits: the whole import is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.tables import MembershipRow, PersonRow, UnitRow
from storage.uow import SqlUnitOfWork
from storage.ward_file import PersonSpec, Problem, UnitSpec, WardFile

IMPORT = "import"  # MembershipRow.source of the roles a ward file gives
NEW_PERSON_LANGUAGE = "vi"
# Existing rows are loaded by code in chunks this long: databases limit bound parameters
# (SQLite 32766, PostgreSQL 32767) and a province's groups list can be longer.
IN_CHUNK = 5000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.removed


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do), per kind of record."""

    units: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    roles: Counts = field(default_factory=Counts)

    @property
    def changed(self) -> bool:
        return any(getattr(self, kind.name).changed for kind in fields(self))

    def lines(self) -> list[str]:
        lines = []
        for kind in fields(self):
            c: Counts = getattr(self, kind.name)
            lines.append(f"{kind.name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged, "
                         f"{c.removed} removed")
        return lines


class WardImportError(Exception):
    """The file is right on its own but clashes with the database; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


async def import_ward(uow: SqlUnitOfWork, ward: WardFile, now: datetime) -> ImportSummary:
    """Create or update the ward's units and people and sync their imported roles; not committed."""
    session = uow.session
    existing = {row.code: row for row in await _rows_in(session, UnitRow, UnitRow.code, [u.code for u in ward.units()])}
    commune = existing.get(ward.ward.code)
    ward_ids = set(await session.scalars(_ward_unit_ids(commune.id))) if commune is not None else set()
    problems = _clashes(ward.units(), existing, ward_ids)
    if problems:
        raise WardImportError(problems)
    summary = ImportSummary()
    unit_ids = await _save_units(session, ward, existing, summary.units)
    person_ids = await _save_people(session, ward.people, now, summary.people)
    await _save_roles(session, ward, unit_ids, person_ids, now, summary.roles)
    return summary


def _ward_unit_ids(commune_id: int) -> Select[tuple[int]]:
    """The commune, its groups and departments, and the groups' teams (the tree is that deep)."""
    children = select(UnitRow.id).where(UnitRow.parent_id == commune_id)
    return select(UnitRow.id).where(or_(UnitRow.id == commune_id, UnitRow.id.in_(children),
                                        UnitRow.parent_id.in_(children)))


def _clashes(units: Sequence[UnitSpec], existing: dict[str, UnitRow], ward_ids: set[int]) -> list[Problem]:
    """Codes already used in the database by another ward, or by a unit of another kind."""
    problems = []
    for spec in units:
        row = existing.get(spec.code)
        if row is None:
            continue
        if row.kind != spec.kind:
            problems.append(spec.origin.problem("code", (
                f"{spec.code!r} is a {row.kind} in the database, not a {spec.kind}; a unit's kind cannot change")))
        elif spec.kind != "commune" and row.id not in ward_ids:
            problems.append(spec.origin.problem("code", f"{spec.code!r} is a unit of another ward in the database"))
    return problems


async def _save_units(session: AsyncSession, ward: WardFile, existing: dict[str, UnitRow], counts: Counts) -> dict[str, int]:
    """Units by code, level by level so each parent has its id before its children."""
    ids = {code: row.id for code, row in existing.items()}
    for level in ((ward.ward,), ward.groups + ward.departments, ward.teams):
        new = []
        for spec in level:
            values = _unit_values(spec, existing.get(spec.code), ids, ward.routing)
            values = _update_or_new(existing.get(spec.code), values, counts)
            if values is not None:
                new.append({"code": spec.code, **values})
        ids.update(await _insert(session, UnitRow.code, new))
    await session.flush()
    return ids


def _unit_values(spec: UnitSpec, row: UnitRow | None, ids: dict[str, int], routing: dict[str, str]) -> dict[str, Any]:
    """What the file says a unit's columns are (`ids`: the parents' ids by code)."""
    values: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "sort_order": spec.sort_order,
                              "function": spec.function}
    if spec.kind == "commune":  # its parent (a province) is not the ward file's business
        values["settings"] = _settings(row.settings if row else None, routing)
    else:
        values["parent_id"] = ids[spec.parent] if spec.parent else None
    return values


def _settings(current: dict[str, Any] | None, routing: dict[str, str]) -> dict[str, Any] | None:
    """The commune's settings with the file's routing overrides (only those: defaults live in code)."""
    settings = dict(current or {})
    if routing:
        settings["routing"] = dict(routing)
    else:
        settings.pop("routing", None)
    if not settings and not current:
        return current  # None stays None, {} stays {}
    return settings or None


async def _save_people(session: AsyncSession, people: Sequence[PersonSpec], now: datetime,
                       counts: Counts) -> dict[str, int]:
    """People by ref; a new one gets Vietnamese and no consent (they give it when they join)."""
    existing = {row.ref: row for row in await _rows_in(session, PersonRow, PersonRow.ref, [p.ref for p in people])}
    new = []
    for person in people:
        values = _update_or_new(existing.get(person.ref), {"full_name": person.name, "phone": person.phone}, counts)
        if values is not None:
            new.append({"ref": person.ref, "language": NEW_PERSON_LANGUAGE, "created_at": now, **values})
    ids = await _insert(session, PersonRow.ref, new)
    await session.flush()
    return {**{ref: row.id for ref, row in existing.items()}, **ids}


async def _save_roles(session: AsyncSession, ward: WardFile, unit_ids: dict[str, int], person_ids: dict[str, int],
                      now: datetime, counts: Counts) -> None:
    """Add the roles the file gives; remove the imported roles in this ward that it no longer gives."""
    wanted = dict.fromkeys((person_ids[p.ref], unit_ids[r.unit], r.role) for p in ward.people for r in p.roles)
    query = select(MembershipRow).where(MembershipRow.unit_id.in_(_ward_unit_ids(unit_ids[ward.ward.code])))
    held = {(m.person_id, m.unit_id, m.role): m for m in await session.scalars(query)}
    new = [{"person_id": person_id, "unit_id": unit_id, "role": role, "created_at": now, "source": IMPORT}
           for person_id, unit_id, role in wanted if (person_id, unit_id, role) not in held]
    if new:
        await session.execute(insert(MembershipRow), new)
    counts.created, counts.unchanged = len(new), len(wanted) - len(new)  # unchanged: an earlier import or an invite
    for key, membership in held.items():
        if membership.source == IMPORT and key not in wanted:
            await session.delete(membership)
            counts.removed += 1
    await session.flush()


def _update_or_new(row: Any, values: dict[str, Any], counts: Counts) -> dict[str, Any] | None:
    """Update an existing `row` with `values` (None back), or give the values for a new row; counted."""
    if row is None:
        counts.created += 1
        return values
    if _assign(row, values):
        counts.updated += 1
    else:
        counts.unchanged += 1
    return None


async def _insert(session: AsyncSession, key: InstrumentedAttribute[Any], rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert `rows` in bulk (an executemany, fast on both databases) and return their ids by `key`."""
    if not rows:
        return {}
    entity = key.class_
    await session.execute(insert(entity), rows)
    ids: dict[str, int] = {}
    for chunk in _chunks([row[key.key] for row in rows]):
        ids.update((value, id_) for value, id_ in await session.execute(select(key, entity.id).where(key.in_(chunk))))
    return ids


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; whether any did."""
    changed = [key for key, value in values.items() if getattr(row, key) != value]
    for key in changed:
        setattr(row, key, values[key])
    return bool(changed)


async def _rows_in(session: AsyncSession, entity: type, column: InstrumentedAttribute[Any], values: list[str]) -> list[Any]:
    """The rows whose `column` is one of `values`: one query per IN_CHUNK values."""
    rows: list[Any] = []
    for chunk in _chunks(values):
        rows.extend(await session.scalars(select(entity).where(column.in_(chunk))))
    return rows


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[start:start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK)]
