"""The ward police's roll-up report (monthly, quarterly, 6-monthly, yearly; seeds 001, 002, 004):
read-only queries over cases, their events and the groups' monthly updates.

Case figures are counted by the database (GROUP BY, COUNT, EXISTS), so that a year of a large
ward stays one handful of queries; only the few monthly updates of the ward's groups (groups x
months rows) are looked at in Python. The figures come back as a `Rollup`, a plain dataclass
kept in handlers/domain/rollup.py so that the core renders it.

Definitions, all over the UTC window [starts, ends) and one ward (`commune_unit_id`) or all:

- received: cases created in the window, by field, by nature (NULL = not classified yet,
  reported as "unclassified") and how many were urgent;
- resolved: cases with a 'closed' event in the window (each case once, even if closed twice);
  stable: cases whose current `closed_at` is in the window, i.e. closed in the window and not
  reopened since their last close (a reopen clears `closed_at`), as of when the report is made;
- mediation: cases whose intervention is mediation and whose outcome was recorded in the window
  (their last 'outcome_recorded' event is in it). The case columns hold the current round only:
  a reopened case's earlier result is dropped and it is counted again when its new outcome is
  recorded. Rate = successful / (successful + unsuccessful); withdrawn cases are shown apart
  and not in the rate (nobody mediated them to an end). The plans' target is 90-95% (seed 002);
- prolonged: cases open at the end of the window (created before it, not closed before it,
  by their current `closed_at`) and open longer than `prolonged_days` days by then;
- groups: every unit of kind 'group' under the ward, and for each month of the period whether
  its update came (with "nothing new"), and the risks it flagged (hot spot, mass complaint).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, text, true
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


async def rollup(session: AsyncSession, period: ReportPeriod, ward: Ward | None = None,
                 prolonged_days: int = DEFAULT_PROLONGED_DAYS) -> Rollup:
    """Every figure of the report on `period` for `ward` (None: all wards)."""
    starts, ends, months = period.starts, period.ends, period.months
    ward_id = ward.id if ward is not None else None
    if session.get_bind().dialect.name == "postgresql":
        # asyncpg reuses prepared statements; after five runs PostgreSQL may switch them to a
        # generic plan that ignores the window and the ward (measured: 1.5 s became 6-9 s).
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    received = await _received(session, ward_id, starts, ends)
    outcomes = await _mediation(session, ward_id, starts, ends)
    prolonged, prolonged_cases = await _prolonged(session, ward_id, ends, prolonged_days)
    groups, risks = await _groups(session, ward_id, months)
    return Rollup(
        period=period.code, months=months, first=period.first, last=period.last, starts=starts, ends=ends, ward=ward,
        received=sum(received["field"].values()), by_field=received["field"], by_nature=received["nature"],
        urgent=received["urgent"][""], resolved=await _resolved(session, ward_id, starts, ends),
        stable=await _stable(session, ward_id, starts, ends), successful=outcomes.get(SUCCESSFUL, 0),
        unsuccessful=outcomes.get(UNSUCCESSFUL, 0), withdrawn=outcomes.get(WITHDRAWN, 0),
        prolonged_days=prolonged_days, prolonged=prolonged, prolonged_cases=prolonged_cases, groups=groups,
        risks=risks)


def _in_ward(ward_id: int | None) -> ColumnElement[bool]:
    return CASES.c.commune_unit_id == ward_id if ward_id is not None else true()


async def _received(session: AsyncSession, ward_id: int | None, starts: datetime,
                    ends: datetime) -> dict[str, dict[str, int]]:
    """One GROUP BY field, nature: the few (field, nature) pairs are summed up here."""
    query = (select(CASES.c.field, CASES.c.nature, func.count().label("n"),
                    func.sum(case((CASES.c.urgent, 1), else_=0)).label("urgent"))
             .where(CASES.c.created_at >= starts, CASES.c.created_at < ends, _in_ward(ward_id))
             .group_by(CASES.c.field, CASES.c.nature))
    figures: dict[str, dict[str, int]] = {"field": {}, "nature": {}, "urgent": {"": 0}}
    for row in await session.execute(query):
        figures["field"][row.field] = figures["field"].get(row.field, 0) + row.n
        nature = row.nature or UNCLASSIFIED
        figures["nature"][nature] = figures["nature"].get(nature, 0) + row.n
        figures["urgent"][""] += int(row.urgent or 0)
    return figures


async def _resolved(session: AsyncSession, ward_id: int | None, starts: datetime, ends: datetime) -> int:
    events = EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id) if ward_id is not None else EVENTS
    query = (select(func.count(func.distinct(EVENTS.c.case_id))).select_from(events)
             .where(EVENTS.c.kind == "closed", EVENTS.c.at >= starts, EVENTS.c.at < ends, _in_ward(ward_id)))
    return int(await session.scalar(query) or 0)


async def _stable(session: AsyncSession, ward_id: int | None, starts: datetime, ends: datetime) -> int:
    query = (select(func.count()).select_from(CASES)
             .where(CASES.c.status == "closed", CASES.c.closed_at >= starts, CASES.c.closed_at < ends,
                    _in_ward(ward_id)))
    return int(await session.scalar(query) or 0)


def _outcome_event(*conditions: Any) -> Any:
    return exists().where(EVENTS.c.case_id == CASES.c.id, EVENTS.c.kind == "outcome_recorded", *conditions)


async def _mediation(session: AsyncSession, ward_id: int | None, starts: datetime, ends: datetime) -> dict[str, int]:
    """Outcome counts of mediations whose last outcome event is in the window."""
    query = (select(CASES.c.outcome, func.count().label("n"))
             .where(CASES.c.intervention == MEDIATION,
                    CASES.c.outcome.in_((SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN)), _in_ward(ward_id),
                    _outcome_event(EVENTS.c.at >= starts, EVENTS.c.at < ends),
                    ~_outcome_event(EVENTS.c.at >= ends))
             .group_by(CASES.c.outcome))
    return {row.outcome: int(row.n) for row in await session.execute(query)}


async def _prolonged(session: AsyncSession, ward_id: int | None, ends: datetime,
                     days: int) -> tuple[int, tuple[ProlongedCase, ...]]:
    """The count, and the oldest PROLONGED_LISTED of them."""
    condition = and_(CASES.c.created_at < ends - timedelta(days=days),
                     or_(CASES.c.closed_at.is_(None), CASES.c.closed_at >= ends), _in_ward(ward_id))
    count = int(await session.scalar(select(func.count()).select_from(CASES).where(condition)) or 0)
    rows = await session.execute(select(CASES.c.code, CASES.c.field, CASES.c.step, CASES.c.created_at)
                                 .where(condition).order_by(CASES.c.created_at, CASES.c.id).limit(PROLONGED_LISTED))
    listed = tuple(ProlongedCase(row.code, row.field, row.step, (ends - row.created_at).days) for row in rows)
    return count, listed


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
