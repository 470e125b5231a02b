"""Monthly updates of residential groups: one row per group and month, every revision kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.domain.model import MonthlyReport
from handlers.ports import ConcurrencyConflict
from storage.repositories import conflict_on_unique_violation
from storage.tables import MonthlyReportRevisionRow, MonthlyReportRow

REPORTS = MonthlyReportRow.__table__
CONTENT = ("nothing_new", "counts", "risks", "notes", "differences")


class SqlMonthlyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_unit_id: int, period: str) -> MonthlyReport | None:
        row = (await self.session.execute(select(REPORTS).where(
            REPORTS.c.group_unit_id == group_unit_id, REPORTS.c.period == period))).first()
        return _report(row) if row is not None else None

    async def save(self, group_unit_id: int, period: str, values: dict[str, Any], *, by: int | None,
                   now: datetime, late: bool, version: int | None) -> MonthlyReport:
        """Submit (version None: none yet) or edit (the version the person saw) the group's update,
        and keep the revision. A version that changed meanwhile raises ConcurrencyConflict."""
        content = {key: values[key] for key in CONTENT}
        if version is None:
            row = MonthlyReportRow(group_unit_id=group_unit_id, period=period, submitted_by=by, submitted_at=now,
                                   updated_at=now, late=late, version=1, **content)
            self.session.add(row)
            async with conflict_on_unique_violation():
                await self.session.flush()
            report_id, new_version = row.id, 1
        else:
            result = await self.session.execute(
                update(REPORTS).where(REPORTS.c.group_unit_id == group_unit_id, REPORTS.c.period == period,
                                      REPORTS.c.version == version)
                .values(**content, submitted_by=by, updated_at=now, late=late, version=version + 1)
                .returning(REPORTS.c.id))
            report_id = result.scalar_one_or_none()
            if report_id is None:
                raise ConcurrencyConflict(f"monthly report {group_unit_id}/{period} changed (version {version})")
            new_version = version + 1
        self.session.add(MonthlyReportRevisionRow(report_id=report_id, version=new_version, values=content, by=by,
                                                  at=now, late=late))
        saved = await self.get(group_unit_id, period)
        assert saved is not None
        return saved

    async def for_period(self, period: str, group_unit_ids: list[int] | None = None) -> list[MonthlyReport]:
        query = select(REPORTS).where(REPORTS.c.period == period).order_by(REPORTS.c.group_unit_id)
        if group_unit_ids is not None:
            query = query.where(REPORTS.c.group_unit_id.in_(group_unit_ids))
        return [_report(row) for row in await self.session.execute(query)]

    async def record_counts(self, group_unit_id: int, starts: datetime, ends: datetime) -> dict[str, Any]:
        return await record_counts(self.session, group_unit_id, starts, ends)

    async def revisions(self, report_id: int) -> list[dict[str, Any]]:
        query = (select(MonthlyReportRevisionRow.version, MonthlyReportRevisionRow.values, MonthlyReportRevisionRow.by,
                        MonthlyReportRevisionRow.at, MonthlyReportRevisionRow.late)
                 .where(MonthlyReportRevisionRow.report_id == report_id).order_by(MonthlyReportRevisionRow.version))
        return [dict(row._mapping) for row in await self.session.execute(query)]


def _report(row: Any) -> MonthlyReport:
    return MonthlyReport(
        id=row.id, group_unit_id=row.group_unit_id, period=row.period, nothing_new=row.nothing_new,
        counts=dict(row.counts or {}), risks=dict(row.risks or {}), notes=row.notes,
        differences=dict(row.differences or {}), submitted_by=row.submitted_by, submitted_at=row.submitted_at,
        updated_at=row.updated_at, late=row.late, version=row.version)


async def record_counts(session: AsyncSession, group_unit_id: int, starts: datetime, ends: datetime) -> dict[str, Any]:
    """What the case records know of a group's month [starts, ends): new cases by field; mediation
    outcomes recorded (mediated = successful + unsuccessful); cases still open at the end; cases
    referred beyond the ward (transfer or criminal referral chosen) in the month."""
    from storage.tables import CaseEventRow, CaseRow

    cases = CaseRow.__table__
    new = await session.execute(
        select(cases.c.field, func.count()).where(cases.c.group_unit_id == group_unit_id, cases.c.created_at >= starts,
                                                  cases.c.created_at < ends)
        .group_by(cases.c.field))
    still_open = await session.scalar(
        select(func.count()).select_from(cases).where(
            cases.c.group_unit_id == group_unit_id, cases.c.created_at < ends,
            or_(cases.c.closed_at.is_(None), cases.c.closed_at >= ends)))
    events = await session.execute(
        select(CaseEventRow.kind, CaseEventRow.data, cases.c.intervention)
        .join(cases, cases.c.id == CaseEventRow.case_id)
        .where(cases.c.group_unit_id == group_unit_id, CaseEventRow.at >= starts, CaseEventRow.at < ends,
               CaseEventRow.kind.in_(("outcome_recorded", "intervention_chosen"))))
    outcomes = {"successful": 0, "unsuccessful": 0}
    referred = 0
    for kind, data, intervention in events:
        if kind == "outcome_recorded" and intervention == "mediation":
            outcome = (data or {}).get("outcome")
            after = outcome[1] if isinstance(outcome, list) else outcome
            if after in outcomes:
                outcomes[after] += 1
        elif kind == "intervention_chosen":
            chosen = (data or {}).get("intervention")
            after = chosen[1] if isinstance(chosen, list) else chosen
            referred += after in ("transfer", "criminal_referral")
    return {"new": {field: count for field, count in new}, "mediated": sum(outcomes.values()), **outcomes,
            "open": int(still_open or 0), "referred": referred}
