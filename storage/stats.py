"""The month-by-month figures of /stats (definitions in handlers/domain/stats.py), in two
statements whatever the number of months: each row is put in its month by a CASE over the
months' UTC windows, in a subquery, and the outer query groups by that month's index (grouping
by the CASE itself would repeat its bound parameters, which PostgreSQL does not see as the same
expression).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handlers.domain.periods import Period
from handlers.domain.stats import MonthStats, StatsSeries
from storage.tables import CaseRow

CASES = CaseRow.__table__


def _month_index(column: Any, months: Sequence[Period]) -> ColumnElement[Any]:
    """0..n-1: the month whose window holds `column`; NULL outside all of them."""
    return case(*(((column >= m.starts) & (column < m.ends), index) for index, m in enumerate(months)), else_=None)


def _in_ward(ward_id: int | None) -> ColumnElement[bool]:
    return CASES.c.commune_unit_id == ward_id if ward_id is not None else true()


def _in_months(column: Any, months: Sequence[Period]) -> ColumnElement[bool]:
    return (column >= min(m.starts for m in months)) & (column < max(m.ends for m in months))


async def monthly_stats(session: AsyncSession, ward_id: int | None, months: Sequence[Period]) -> StatsSeries:
    """The figures of each of `months` (e.g. handlers.domain.periods.last_periods) for one ward
    (None: all wards)."""
    if not months:
        return StatsSeries(ward_id)
    if session.get_bind().dialect.name == "postgresql":
        # as in storage/reports.py: a generic plan would ignore the windows and the ward
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    received, still_open = await _received(session, ward_id, months)
    outcomes = await _outcomes(session, ward_id, months)
    return StatsSeries(ward_id, tuple(
        MonthStats(m.code, m.first, m.last, received.get(index, {}), outcomes.get(index, {}), still_open.get(index, 0))
        for index, m in enumerate(months)))


async def _received(session: AsyncSession, ward_id: int | None,
                    months: Sequence[Period]) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """Cases created in each month by field, and how many of them are not closed now."""
    rows = select(_month_index(CASES.c.created_at, months).label("month"), CASES.c.field,
                  case((CASES.c.closed_at.is_(None), 1), else_=0).label("open")) \
        .where(_in_months(CASES.c.created_at, months), _in_ward(ward_id)).subquery()
    query = (select(rows.c.month, rows.c.field, func.count().label("n"), func.sum(rows.c.open).label("open"))
             .where(rows.c.month.is_not(None)).group_by(rows.c.month, rows.c.field))
    by_field: dict[int, dict[str, int]] = {}
    still_open: dict[int, int] = {}
    for row in await session.execute(query):
        by_field.setdefault(row.month, {})[row.field] = int(row.n)
        still_open[row.month] = still_open.get(row.month, 0) + int(row.open or 0)
    return by_field, still_open


async def _outcomes(session: AsyncSession, ward_id: int | None, months: Sequence[Period]) -> dict[int, dict[str, int]]:
    """Current outcomes by the month they were recorded in (`outcome_at`; a reopen clears both)."""
    rows = select(_month_index(CASES.c.outcome_at, months).label("month"), CASES.c.outcome) \
        .where(CASES.c.outcome.is_not(None), _in_months(CASES.c.outcome_at, months), _in_ward(ward_id)).subquery()
    query = (select(rows.c.month, rows.c.outcome, func.count().label("n"))
             .where(rows.c.month.is_not(None)).group_by(rows.c.month, rows.c.outcome))
    outcomes: dict[int, dict[str, int]] = {}
    for row in await session.execute(query):
        outcomes.setdefault(row.month, {})[row.outcome] = int(row.n)
    return outcomes
