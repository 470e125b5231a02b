"""Monthly updates of residential groups: one row per group and month, every revision kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
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
