"""The ward police's roll-up report (monthly, quarterly, 6-monthly, yearly; seeds 001, 002, 004):
read-only queries over cases, their events and the groups' monthly updates.

Case figures are counted by the database in one pass over the cases (COUNT ... FILTER), read
from one covering index for a ward, so that a year of a large ward stays a few queries; only the few monthly updates of the ward's groups (groups x
months rows) are looked at in Python. The figures come back as a `Rollup`, a plain dataclass
kept in handlers/domain/rollup.py so that the core renders it.

Definitions, all over the UTC window [starts, ends) and one ward (`commune_unit_id`) or all:

- received: cases created in the window, by field, by nature (NULL = not classified yet,
  reported as "unclassified") and how many were urgent;
- resolved: cases with a 'closed' event in the window (each case once, even if closed twice);
  stable: cases whose current `closed_at` is in the window, i.e. closed in the window and not
  reopened since their last close (a reopen clears `closed_at`), as of when the report is made;
- mediation: cases whose intervention is mediation and whose outcome was recorded in the window
  (`outcome_at`, set when the outcome is recorded and cleared on reopen). The case columns hold the current round only:
  a reopened case's earlier result is dropped and it is counted again when its new outcome is
  recorded. Rate = successful / (successful + unsuccessful); withdrawn cases are shown apart
  and not in the rate (nobody mediated them to an end). The plans' target is 90-95% (seed 002);
- prolonged: cases open at the end of the window (created before it, not closed before it,
  by their current `closed_at`) and open longer than `prolonged_days` days by then;
- groups: every unit of kind 'group' under the ward, and for each month of the period whether
  its update came (with "nothing new"), and the risks it flagged (hot spot, mass complaint).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handlers.domain.periods import ReportPeriod
from handlers.domain.rollup import (
    DEFAULT_PROLONGED_DAYS, MEDIATION, PROLONGED_LISTED, RISK_KINDS, SUCCESSFUL, UNCLASSIFIED, UNSUCCESSFUL,
    WITHDRAWN, GroupMonths, ProlongedCase, Risk, Rollup, Ward,
)
from storage.tables import CaseEventRow, CaseRow, MonthlyReportRow, UnitRow

CASES = CaseRow.__table__
EVENTS = CaseEventRow.__table__
UNITS = UnitRow.__table__
MONTHLY = MonthlyReportRow.__table__

class UnknownWard(LookupError):
    """No commune/ward unit has the code given."""


async def find_ward(session: AsyncSession, code: str) -> Ward:
    row = (await session.execute(select(UNITS.c.id, UNITS.c.code, UNITS.c.name)
                                 .where(UNITS.c.code == code, UNITS.c.kind == "commune"))).first()
    if row is None:
        raise UnknownWard(f"no ward (commune unit) has the code {code!r}")
    return Ward(row.id, row.code, row.name)


ROLLUP_STAGES = ("cases", "reopened", "prolonged", "groups")


async def rollup(session: AsyncSession, period: ReportPeriod, ward: Ward | None = None,
                 prolonged_days: int = DEFAULT_PROLONGED_DAYS,
                 stage: Callable[[str], None] = lambda name: None) -> Rollup:
    """Every figure of the report on `period` for `ward` (None: all wards); `stage` is told
    each of ROLLUP_STAGES as it starts (the command line's progress bar)."""
    starts, ends, months = period.starts, period.ends, period.months
    ward_id = ward.id if ward is not None else None
    if session.get_bind().dialect.name == "postgresql":
        # asyncpg reuses prepared statements; after five runs PostgreSQL may switch them to a
        # generic plan that ignores the window and the ward (measured: 1.5 s became 6-9 s).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    stage("cases")
    figures = await _case_figures(session, ward_id, starts, ends, ends - timedelta(days=prolonged_days))
    stage("reopened")
    resolved_again = await _resolved_again(session, ward_id, starts, ends)
    stage("prolonged")
    prolonged_cases = await _prolonged_cases(session, ward_id, ends, prolonged_days)
    stage("groups")
    groups, risks = await _groups(session, ward_id, months)
    return Rollup(
        period=period.code, months=months, first=period.first, last=period.last, starts=starts, ends=ends, ward=ward,
        received=sum(figures["field"].values()), by_field=figures["field"], by_nature=figures["nature"],
        urgent=figures["count"]["urgent"],
        resolved=figures["count"]["stable"] + resolved_again,
        stable=figures["count"]["stable"], successful=figures["count"][SUCCESSFUL],
        unsuccessful=figures["count"][UNSUCCESSFUL], withdrawn=figures["count"][WITHDRAWN],
        prolonged_days=prolonged_days, prolonged=figures["count"]["prolonged"],
        prolonged_cases=prolonged_cases, groups=groups, risks=risks)


def _in_ward(ward_id: int | None) -> ColumnElement[bool]:
    return CASES.c.commune_unit_id == ward_id if ward_id is not None else true()


def _between(column: Any, starts: datetime, ends: datetime) -> ColumnElement[bool]:
    return and_(column >= starts, column < ends)


async def _case_figures(session: AsyncSession, ward_id: int | None, starts: datetime, ends: datetime,
                        prolonged_before: datetime) -> dict[str, dict[str, int]]:
    """One pass over the cases created before the window's end, every count a FILTER of it,
    grouped by (field, nature) for the received figures. All the columns it reads are in
    ix_cases_rollup, so one ward's report never reads the table itself."""
    mediated = and_(CASES.c.intervention == MEDIATION, _between(CASES.c.outcome_at, starts, ends))
    received = CASES.c.created_at >= starts
    counts = {
        "received": received,
        "urgent": and_(received, CASES.c.urgent),
        "stable": _between(CASES.c.closed_at, starts, ends),
        **{outcome: and_(mediated, CASES.c.outcome == outcome) for outcome in (SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN)},
        "prolonged": and_(CASES.c.created_at < prolonged_before,
                          or_(CASES.c.closed_at.is_(None), CASES.c.closed_at >= ends)),
    }
    query = (select(CASES.c.field, CASES.c.nature,
                    *(func.count().filter(condition).label(name) for name, condition in counts.items()))
             .where(_in_ward(ward_id), CASES.c.created_at < ends)
             .group_by(CASES.c.field, CASES.c.nature))
    figures: dict[str, dict[str, int]] = {"field": {}, "nature": {}, "count": dict.fromkeys(counts, 0)}
    for row in await session.execute(query):
        for name in counts:
            figures["count"][name] += int(getattr(row, name) or 0)
        if row.received:
            figures["field"][row.field] = figures["field"].get(row.field, 0) + row.received
            nature = row.nature or UNCLASSIFIED
            figures["nature"][nature] = figures["nature"].get(nature, 0) + row.received
    return figures


async def _resolved_again(session: AsyncSession, ward_id: int | None, starts: datetime, ends: datetime) -> int:
    """Resolved cases that are not stable: closed in the window, then reopened (their current
    `closed_at` is not in it). Only a reopened case can be one, so the partial index of reopened
    cases leads, and each is checked against its 'closed' events."""
    closed_in_window = exists().where(EVENTS.c.case_id == CASES.c.id, EVENTS.c.kind == "closed",
                                      _between(EVENTS.c.at, starts, ends))
    query = (select(func.count()).select_from(CASES)
             .where(CASES.c.reopen_count > 0, _in_ward(ward_id),
                    or_(CASES.c.closed_at.is_(None), ~_between(CASES.c.closed_at, starts, ends)), closed_in_window))
    return int(await session.scalar(query) or 0)


async def _prolonged_cases(session: AsyncSession, ward_id: int | None, ends: datetime,
                           days: int) -> tuple[ProlongedCase, ...]:
    """The oldest PROLONGED_LISTED cases open at the window's end: those open now and those
    closed since, each an index range (an OR of the two would scan every older case)."""
    before = ends - timedelta(days=days)
    columns = (CASES.c.id, CASES.c.code, CASES.c.field, CASES.c.step, CASES.c.created_at)
    rows = []
    for still_open in (CASES.c.closed_at.is_(None), CASES.c.closed_at >= ends):
        rows += (await session.execute(select(*columns).where(_in_ward(ward_id), CASES.c.created_at < before, still_open)
                                       .order_by(CASES.c.created_at, CASES.c.id).limit(PROLONGED_LISTED))).all()
    rows.sort(key=lambda row: (row.created_at, row.id))
    return tuple(ProlongedCase(row.code, row.field, row.step, (ends - row.created_at).days)
                 for row in rows[:PROLONGED_LISTED])


async def _groups(session: AsyncSession, ward_id: int | None,
                  months: tuple[str, ...]) -> tuple[tuple[GroupMonths, ...], tuple[Risk, ...]]:
    """The ward's groups with their updates for `months`, and the risks flagged in them."""
    groups_query = select(UNITS.c.id, UNITS.c.code, UNITS.c.name).where(UNITS.c.kind == "group")
    if ward_id is not None:
        groups_query = groups_query.where(UNITS.c.parent_id == ward_id)
    groups = (await session.execute(groups_query.order_by(UNITS.c.parent_id, UNITS.c.sort_order, UNITS.c.code))).all()
    group_ids = select(groups_query.with_only_columns(UNITS.c.id).subquery().c.id)
    reports = (await session.execute(
        select(MONTHLY.c.group_unit_id, MONTHLY.c.period, MONTHLY.c.nothing_new, MONTHLY.c.late, MONTHLY.c.risks)
        .where(MONTHLY.c.period.in_(months), MONTHLY.c.group_unit_id.in_(group_ids))
        .order_by(MONTHLY.c.period, MONTHLY.c.group_unit_id))).all()
    by_group: dict[int, dict[str, Any]] = {}
    for report in reports:
        by_group.setdefault(report.group_unit_id, {})[report.period] = report
    names = {group.id: group for group in groups}
    risks = tuple(Risk(report.period, kind, names[report.group_unit_id].code, names[report.group_unit_id].name,
                       (report.risks or {}).get("people"), (report.risks or {}).get("note"))
                  for report in reports for kind in RISK_KINDS if (report.risks or {}).get(kind))
    summaries = tuple(_group_months(group.code, group.name, by_group.get(group.id, {}), months) for group in groups)
    return summaries, risks


def _group_months(code: str, name: str, reports: dict[str, Any], months: tuple[str, ...]) -> GroupMonths:
    return GroupMonths(
        code=code, name=name, reported=tuple(m for m in months if m in reports),
        nothing_new=tuple(m for m in months if m in reports and reports[m].nothing_new),
        late=tuple(m for m in months if m in reports and reports[m].late),
        missing=tuple(m for m in months if m not in reports))


class SqlReportsRepo:
    """The reports on the unit of work (`uow.reports`), for the ward police's chat commands."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rollup(self, period: ReportPeriod, ward: Ward | None, prolonged_days: int) -> Rollup:
        return await rollup(self.session, period, ward, prolonged_days)

    async def monthly_stats(self, ward_id: int | None, months: Any) -> Any:
        from storage.stats import monthly_stats

        return await monthly_stats(self.session, ward_id, months)
