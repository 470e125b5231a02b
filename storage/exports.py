"""Read-only queries for the two exports of the case records: a mediation team's logbook for a
period, and every case (of a ward, received in a window) for the national dispute software.
They fill the plain dataclasses of handlers/domain/exports.py, which the core renders.

What is never selected: `cases.reporter_id`, `cases.contact_phone`, `case_parties.contact`,
anything of `identities` for a reporter. An export cannot leak what it never read.

The logbook's cases are the team's mediations (`intervention` mediation, `assigned_unit_id` the
team) that the team received in the period, or whose current outcome was recorded in it
(`outcome_at`, as the roll-up counts them: storage/reports.py). The case columns hold the current
round only: a reopened case shows its latest mediation. A team has tens of cases a year, so the
few candidates are checked in Python against their events.

The case list reads in chunks of `CHUNK` cases by id (keyset), each chunk in a transaction of
its own: memory stays flat over a province's million cases, and on SQLite, where every
transaction begins IMMEDIATE (storage/engine.py), the bot's writes still get through between
chunks instead of waiting for the whole export.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handlers.domain.exports import (
    MEDIATION, CaseLine, Logbook, LogbookEntry, PartyName, Promise, SessionHeld, Team, local_date,
)
from handlers.domain.periods import ReportPeriod
from handlers.domain.roles import MEDIATOR
from storage.staff import SqlStaffRepo
from storage.tables import (
    CaseEventRow, CasePartyRow, CaseRow, CommitmentRow, MediationSessionRow, MembershipRow, UnitRow,
)

CASES = CaseRow.__table__
EVENTS = CaseEventRow.__table__
PARTIES = CasePartyRow.__table__
SESSIONS = MediationSessionRow.__table__
COMMITMENTS = CommitmentRow.__table__
MEMBERSHIPS = MembershipRow.__table__
UNITS = UnitRow.__table__
CHUNK = 2000


class UnknownTeam(LookupError):
    """No mediation team (unit of kind team) has the code given."""


async def find_team(session: AsyncSession, code: str) -> Team:
    """The team with the group and ward above it (a team may also sit right under its ward)."""
    parent, grand = UNITS.alias("parent"), UNITS.alias("grand")
    row = (await session.execute(
        select(UNITS.c.id, UNITS.c.code, UNITS.c.name, parent.c.kind.label("parent_kind"),
               parent.c.name.label("parent_name"), grand.c.kind.label("grand_kind"), grand.c.name.label("grand_name"))
        .outerjoin(parent, parent.c.id == UNITS.c.parent_id).outerjoin(grand, grand.c.id == parent.c.parent_id)
        .where(UNITS.c.code == code, UNITS.c.kind == "team"))).first()
    if row is None:
        raise UnknownTeam(f"no mediation team (team unit) has the code {code!r}")
    group = row.parent_name if row.parent_kind == "group" else None
    ward = row.parent_name if row.parent_kind == "commune" else row.grand_name if row.grand_kind == "commune" else None
    return Team(row.id, row.code, row.name, group, ward)


# --- the mediation logbook -------------------------------------------------------------------

async def logbook(session: AsyncSession, team: Team, period: ReportPeriod, zone: str) -> Logbook:
    """The team's logbook for `period`: its entries in the order the team received them."""
    starts, ends = period.starts, period.ends
    candidates = await _team_mediations(session, team.id, starts, ends)
    received = await _received_at(session, team.id, candidates)
    rows = [row for row in candidates if starts <= received[row.id] < ends
            or (row.outcome_at is not None and starts <= row.outcome_at < ends)]
    ids = [row.id for row in rows]
    parties, sessions = await _parties(session, ids), await _sessions(session, ids)
    promises = await _promises(session, ids)
    entries = sorted((_entry(row, received[row.id], parties, sessions, promises, zone) for row in rows),
                     key=lambda entry: (entry.received_on, entry.code))
    return Logbook(team, period.code, period.first, period.last, await _members(session, team.id), tuple(entries))


async def _team_mediations(session: AsyncSession, team_id: int, starts: datetime, ends: datetime) -> list[Any]:
    """The team's mediations that may belong to the window: created before its end and without
    an outcome recorded before its start."""
    query = (select(CASES.c.id, CASES.c.code, CASES.c.created_at, CASES.c.summary, CASES.c.confidential,
                    CASES.c.mediation_record, CASES.c.outcome, CASES.c.outcome_at, CASES.c.closed_at)
             .where(CASES.c.assigned_unit_id == team_id, CASES.c.intervention == MEDIATION,
                    CASES.c.created_at < ends, or_(CASES.c.outcome_at.is_(None), CASES.c.outcome_at >= starts))
             .order_by(CASES.c.id))
    return list((await session.execute(query)).all())


async def _received_at(session: AsyncSession, team_id: int, cases: Sequence[Any]) -> dict[int, datetime]:
    """When the team received each case: the later of its last assignment to the team and the
    last choice of mediation (events 'assigned', 'intervention_chosen'); its creation if neither
    is recorded."""
    if not cases:
        return {}
    created = {row.id: row.created_at for row in cases}
    events = await session.execute(
        select(EVENTS.c.case_id, EVENTS.c.kind, EVENTS.c.data, EVENTS.c.at)
        .where(EVENTS.c.case_id.in_(list(created)), EVENTS.c.kind.in_(("assigned", "intervention_chosen"))))
    found: dict[int, dict[str, datetime]] = {}
    for case_id, kind, data, at in events:
        column, wanted = ("assigned_unit_id", team_id) if kind == "assigned" else ("intervention", MEDIATION)
        change = (data or {}).get(column)  # [old, new] when the event changed it
        if isinstance(change, list) and len(change) == 2 and change[1] == wanted:
            latest = found.setdefault(case_id, {})
            latest[kind] = max(at, latest.get(kind, at))
    return {case_id: max(found[case_id].values()) if case_id in found else created_at
            for case_id, created_at in created.items()}


def _entry(row: Any, received: datetime, parties: dict[int, list[PartyName]], sessions: dict[int, list[SessionHeld]],
           promises: dict[int, list[Promise]], zone: str) -> LogbookEntry:
    return LogbookEntry(
        code=row.code, received_on=local_date(received, zone), summary=row.summary, confidential=row.confidential,
        parties=tuple(parties.get(row.id, ())), sessions=tuple(sessions.get(row.id, ())),
        record=dict(row.mediation_record) if row.mediation_record else None, outcome=row.outcome,
        outcome_on=local_date(row.outcome_at, zone) if row.outcome_at else None,
        commitments=tuple(promises.get(row.id, ())),
        closed_on=local_date(row.closed_at, zone) if row.closed_at else None)


async def _sessions(session: AsyncSession, ids: list[int]) -> dict[int, list[SessionHeld]]:
    by_case: dict[int, list[SessionHeld]] = {}
    if ids:
        rows = await session.execute(
            select(SESSIONS.c.case_id, SESSIONS.c.held_on, SESSIONS.c.place, SESSIONS.c.mediators, SESSIONS.c.note)
            .where(SESSIONS.c.case_id.in_(ids)).order_by(SESSIONS.c.held_on, SESSIONS.c.id))
        for case_id, held_on, place, mediators, note in rows:
            by_case.setdefault(case_id, []).append(SessionHeld(held_on, place, mediators, note))
    return by_case


async def _promises(session: AsyncSession, ids: list[int]) -> dict[int, list[Promise]]:
    by_case: dict[int, list[Promise]] = {}
    if ids:
        rows = await session.execute(
            select(COMMITMENTS.c.case_id, COMMITMENTS.c.text, COMMITMENTS.c.check_on, COMMITMENTS.c.status)
            .where(COMMITMENTS.c.case_id.in_(ids)).order_by(COMMITMENTS.c.check_on, COMMITMENTS.c.id))
        for case_id, text, check_on, status in rows:
            by_case.setdefault(case_id, []).append(Promise(text, check_on, status))
    return by_case


async def _members(session: AsyncSession, team_id: int) -> tuple[str, ...]:
    """The team's mediators' names, as staff screens show them (storage/staff.py)."""
    person_ids = list(await session.scalars(
        select(MEMBERSHIPS.c.person_id).where(MEMBERSHIPS.c.unit_id == team_id, MEMBERSHIPS.c.role == MEDIATOR)
        .order_by(MEMBERSHIPS.c.id)))
    names = await SqlStaffRepo(session).names(person_ids)
    return tuple(names[person_id] for person_id in person_ids)


async def _parties(session: AsyncSession, ids: list[int]) -> dict[int, list[PartyName]]:
    """Names and roles of the cases' parties (never their contact)."""
    if not ids:
        return {}
    return _by_case(await session.execute(_PARTY_NAMES.where(PARTIES.c.case_id.in_(ids))))


_PARTY_NAMES = select(PARTIES.c.case_id, PARTIES.c.name, PARTIES.c.role).order_by(PARTIES.c.case_id, PARTIES.c.id)


def _by_case(rows: Any) -> dict[int, list[PartyName]]:
    by_case: dict[int, list[PartyName]] = {}
    for case_id, name, role in rows:
        by_case.setdefault(case_id, []).append(PartyName(name, role))
    return by_case


# --- every case, for the national dispute software ------------------------------------------

def _case_filter(ward_id: int | None, starts: datetime | None, ends: datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if ward_id is not None:
        conditions.append(CASES.c.commune_unit_id == ward_id)
    if starts is not None:
        conditions.append(CASES.c.created_at >= starts)
    if ends is not None:
        conditions.append(CASES.c.created_at < ends)
    return conditions


async def count_cases(session: AsyncSession, ward_id: int | None = None, starts: datetime | None = None,
                      ends: datetime | None = None) -> int:
    """How many cases `case_lines` will give (for a progress bar)."""
    query = select(func.count()).select_from(CASES).where(*_case_filter(ward_id, starts, ends))
    return int(await session.scalar(query) or 0)


async def case_lines(engine: AsyncEngine, zone: str, ward_id: int | None = None, starts: datetime | None = None,
                     ends: datetime | None = None, chunk: int | None = None) -> AsyncIterator[list[CaseLine]]:
    """Every case of `ward_id` (None: all) received in [starts, ends) (None: open), by id, in
    lists of up to `chunk` (default CHUNK); each list read in a short transaction of its own."""
    size, tz, conditions = chunk or CHUNK, ZoneInfo(zone), _case_filter(ward_id, starts, ends)
    ward, group, lead = UNITS.alias("ward"), UNITS.alias("grp"), UNITS.alias("lead")
    query = (select(CASES.c.id, CASES.c.code, CASES.c.created_at, CASES.c.field, CASES.c.nature, CASES.c.complexity,
                    CASES.c.summary, CASES.c.confidential, CASES.c.intervention, CASES.c.step, CASES.c.status,
                    CASES.c.outcome, CASES.c.outcome_at, CASES.c.closed_at, ward.c.name.label("ward_name"),
                    group.c.name.label("group_name"), lead.c.name.label("lead_name"))
             .outerjoin(ward, ward.c.id == CASES.c.commune_unit_id)
             .outerjoin(group, group.c.id == CASES.c.group_unit_id)
             .outerjoin(lead, lead.c.id == CASES.c.lead_unit_id)
             .where(*conditions).order_by(CASES.c.id).limit(size))
    after = 0
    while True:
        async with engine.connect() as connection:
            rows = (await connection.execute(query.where(CASES.c.id > after))).all()
            parties = await _chunk_parties(connection, rows[0].id, rows[-1].id, conditions) if rows else {}
        if rows:
            yield [_line(row, parties.get(row.id, []), tz) for row in rows]
        if len(rows) < size:
            return
        after = rows[-1].id


async def _chunk_parties(connection: AsyncConnection, first: int, last: int,
                         conditions: list[ColumnElement[bool]]) -> dict[int, list[PartyName]]:
    """The parties of a chunk: the cases from `first` to `last` that pass the filter are exactly
    the chunk, so no list of ids is sent (2,000 bound parameters cost more than the query)."""
    in_range = PARTIES.c.case_id.between(first, last)
    if conditions:
        in_range = and_(in_range, PARTIES.c.case_id.in_(select(CASES.c.id).where(CASES.c.id.between(first, last),
                                                                                  *conditions)))
    return _by_case(await connection.execute(_PARTY_NAMES.where(in_range)))


def _line(row: Any, parties: list[PartyName], tz: ZoneInfo) -> CaseLine:
    return CaseLine(
        code=row.code, received_on=row.created_at.astimezone(tz).date(), ward=row.ward_name, group=row.group_name,
        field=row.field, nature=row.nature, complexity=row.complexity, summary=row.summary,
        confidential=row.confidential, parties=tuple(parties), intervention=row.intervention, step=row.step,
        status=row.status, outcome=row.outcome, outcome_on=_day(row.outcome_at, tz), closed_on=_day(row.closed_at, tz),
        lead_unit=row.lead_name)


def _day(moment: datetime | None, tz: ZoneInfo) -> date | None:
    return moment.astimezone(tz).date() if moment else None

