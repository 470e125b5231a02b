"""Working on cases: load, change under optimistic locking, the records around them, lists.

The repository knows nothing of permissions: services decide (handlers/domain/access.py) and
pass a CaseScope for lists, which becomes part of the query.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import (
    CASE_KIND_TIPOFF, Case, CaseEvent, CaseFilter, CaseScope, Commitment, MediationSession, Party,
)
from handlers.domain.workflow import CRIME, Facts
from handlers.ports import ConcurrencyConflict
from storage.repositories import case_from_row
from handlers.domain.roles import POLICE, POLICE_ROLES
from storage.tables import (
    CaseEventRow, CasePartyRow, CaseRow, CommitmentRow, MediationSessionRow, MembershipRow, UnitRow,
)

CASES = CaseRow.__table__


class SqlCaseWorkRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: int) -> Case | None:
        row = (await self.session.execute(select(CASES).where(CASES.c.id == case_id))).first()
        return case_from_row(row) if row else None

    async def get_many(self, case_ids: list[int]) -> dict[int, Case]:
        """Cases by id, in one query (a sweep's batch)."""
        if not case_ids:
            return {}
        rows = await self.session.execute(select(CASES).where(CASES.c.id.in_(sorted(set(case_ids)))))
        return {row.id: case_from_row(row) for row in rows}

    async def by_code(self, code: str) -> Case | None:
        row = (await self.session.execute(select(CASES).where(CASES.c.code == code.strip().upper()))).first()
        return case_from_row(row) if row else None

    async def apply(self, case: Case, values: dict[str, Any], now: datetime) -> Case:
        """Write `values` if the case is still at `case.version`; else ConcurrencyConflict."""
        new_version = case.version + 1
        if "outcome" in values:  # the roll-ups count outcomes by when they were recorded
            values = {**values, "outcome_at": now if values["outcome"] is not None else None}
        result = await self.session.execute(
            update(CASES).where(CASES.c.id == case.id, CASES.c.version == case.version)
            .values(**values, version=new_version, updated_at=now)
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(f"case {case.code} changed (was version {case.version})")
        fresh = await self.get(case.id)
        assert fresh is not None
        return fresh

    async def facts(self, case_id: int) -> Facts:
        def count(table: Any, *where: Any) -> Any:
            return select(func.count()).select_from(table).where(table.c.case_id == case_id, *where).scalar_subquery()

        events = CaseEventRow.__table__
        row = (await self.session.execute(select(
            count(CasePartyRow.__table__), count(events, events.c.kind == "note"),
            count(MediationSessionRow.__table__), count(CommitmentRow.__table__),
        ))).one()
        return Facts(parties=row[0], notes=row[1], sessions=row[2], commitments=row[3])

    async def add_party(self, case_id: int, *, name: str, role: str, contact: str | None,
                        by: int | None, at: datetime) -> None:
        self.session.add(CasePartyRow(case_id=case_id, name=name, role=role, contact=contact,
                                      created_by=by, created_at=at))

    async def parties(self, case_id: int) -> list[Party]:
        query = select(CasePartyRow).where(CasePartyRow.case_id == case_id).order_by(CasePartyRow.id)
        return [Party(r.id, r.name, r.role, r.contact) for r in await self.session.scalars(query)]

    async def add_session(self, case_id: int, *, held_on: date, place: str, mediators: str,
                          note: str | None, by: int | None, at: datetime) -> None:
        self.session.add(MediationSessionRow(case_id=case_id, held_on=held_on, place=place, mediators=mediators,
                                             note=note, created_by=by, created_at=at))

    async def sessions(self, case_id: int) -> list[MediationSession]:
        query = (select(MediationSessionRow).where(MediationSessionRow.case_id == case_id)
                 .order_by(MediationSessionRow.held_on, MediationSessionRow.id))
        return [MediationSession(r.id, r.held_on, r.place, r.mediators, r.note) for r in await self.session.scalars(query)]

    async def add_commitment(self, case_id: int, *, text: str, check_on: date, by: int | None, at: datetime) -> None:
        self.session.add(CommitmentRow(case_id=case_id, text=text, check_on=check_on, created_by=by, created_at=at))

    async def commitments(self, case_id: int) -> list[Commitment]:
        query = (select(CommitmentRow).where(CommitmentRow.case_id == case_id)
                 .order_by(CommitmentRow.check_on, CommitmentRow.id))
        return [Commitment(r.id, r.text, r.check_on, r.status) for r in await self.session.scalars(query)]

    async def events(self, case_id: int, limit: int | None = None) -> list[CaseEvent]:
        """Oldest first; with `limit`, the newest `limit` of them."""
        query = select(CaseEventRow).where(CaseEventRow.case_id == case_id)
        query = query.order_by(CaseEventRow.at.desc(), CaseEventRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = list(await self.session.scalars(query))
        return [CaseEvent(r.id, r.case_id, r.actor_id, r.kind, dict(r.data or {}), r.at) for r in reversed(rows)]

    async def search(self, scope: CaseScope, wanted: CaseFilter, offset: int, limit: int) -> tuple[list[Case], int]:
        """A page of the cases in `scope` matching `wanted` (urgent first, newest first) and the total."""
        conditions = [_scope_condition(scope), *_filter_conditions(wanted)]
        total = await self.session.scalar(select(func.count()).select_from(CASES).where(*conditions))
        query = (select(CASES).where(*conditions)
                 .order_by(CASES.c.urgent.desc(), CASES.c.created_at.desc(), CASES.c.id.desc())
                 .offset(offset).limit(limit))
        rows = (await self.session.execute(query)).all()
        return [case_from_row(row) for row in rows], int(total or 0)

    async def assignment_targets(self, ward_id: int) -> dict[str, list[tuple[int, str]]]:
        """Who a case of the ward can be assigned to: its police officers (person ids), its
        departments and its mediation teams (unit ids), each with a name, in a stable order."""
        units = UnitRow.__table__
        groups = select(units.c.id).where(units.c.parent_id == ward_id, units.c.kind == "group")
        unit_rows = (await self.session.execute(
            select(units.c.id, units.c.name, units.c.kind)
            .where(or_(and_(units.c.parent_id == ward_id, units.c.kind == "department"),
                       and_(units.c.kind == "team", or_(units.c.parent_id == ward_id, units.c.parent_id.in_(groups)))))
            .order_by(units.c.sort_order, units.c.name, units.c.id)
        )).all()
        police = select(units.c.id).where(units.c.parent_id == ward_id, units.c.function == POLICE)
        officer_ids = sorted(await self.session.scalars(
            select(MembershipRow.person_id).distinct()
            .where(MembershipRow.unit_id.in_(police), MembershipRow.role.in_(sorted(POLICE_ROLES)))))
        return {
            "officer": [(person_id, "") for person_id in officer_ids],
            "department": [(row.id, row.name) for row in unit_rows if row.kind == "department"],
            "team": [(row.id, row.name) for row in unit_rows if row.kind == "team"],
        }


def _scope_condition(scope: CaseScope) -> Any:
    if scope.everything:
        return CASES.c.id.is_not(None)
    parts = []
    if scope.group_ids:
        parts.append(CASES.c.group_unit_id.in_(sorted(scope.group_ids)))
    if scope.team_ids:
        parts.append(CASES.c.assigned_unit_id.in_(sorted(scope.team_ids)))
    if scope.department_ids:
        departments = sorted(scope.department_ids)
        parts.append(CASES.c.lead_unit_id.in_(departments))
        parts.append(CASES.c.assigned_unit_id.in_(departments))
    if not parts:
        return false()
    not_crime = or_(CASES.c.nature.is_(None), CASES.c.nature != CRIME)
    return and_(or_(*parts), not_crime, CASES.c.kind != CASE_KIND_TIPOFF)


def _filter_conditions(wanted: CaseFilter) -> list[Any]:
    conditions = []
    if wanted.open_only:
        conditions.append(CASES.c.closed_at.is_(None))
    if wanted.overdue_at is not None:
        conditions.append(CASES.c.step_due_at < wanted.overdue_at)
    for column, value in (
        (CASES.c.assignee_id, wanted.assignee_id), (CASES.c.status, wanted.status), (CASES.c.urgent, wanted.urgent),
        (CASES.c.step, wanted.step), (CASES.c.field, wanted.field), (CASES.c.group_unit_id, wanted.group_unit_id),
    ):
        if value is not None:
            conditions.append(column == value)
    return conditions
