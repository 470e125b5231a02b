"""/stats' monthly figures (storage/stats.py) on a real database.

"Now" is 20/11/2026 in Ho Chi Minh City time, so the 12 reporting months are 2026-01
(15/12/2025-14/01/2026) to 2026-12 (15/11/2026-14/12/2026, under way); 2026-11 runs from
15/10/2026 00:00 to 15/11/2026 00:00 local time. Every case below says where it counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from handlers.domain.periods import last_periods, report_period
from storage.demo import WARD_CODE, load_demo_ward
from storage.reports import find_ward, rollup
from storage.stats import monthly_stats
from storage.tables import CaseRow, UnitRow

ZONE = "Asia/Ho_Chi_Minh"
OTHER_WARD = "other-ward"
NOW = datetime(2026, 11, 20, 9, tzinfo=ZoneInfo(ZONE))
MINUTE = timedelta(minutes=1)


def local(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)


OPEN: dict = {}
CLOSED = {"status": "closed", "step": 5}

# code, ward, field, created, outcome, outcome recorded, other columns
CASES = [
    # the last minute of 14/11: 2026-11, open
    ("C1", WARD_CODE, "land", local(11, 15) - MINUTE, None, None, OPEN),
    # the first instant of 15/11: 2026-12, open
    ("C2", WARD_CODE, "land", local(11, 15), None, None, OPEN),
    # the first instant of 2026-11, closed; its outcome recorded in the last minute of 2026-11
    ("C3", WARD_CODE, "family", local(10, 15), "successful", local(11, 15) - MINUTE,
     CLOSED | {"closed_at": local(11, 16)}),
    # 2026-11, still open; its outcome recorded at the first instant of 2026-12
    ("C4", WARD_CODE, "family", local(10, 20), "unsuccessful", local(11, 15), {"status": "monitoring", "step": 5}),
    # 2026-10, open; transferred in 2026-11
    ("C5", WARD_CODE, "construction", local(10, 1), "transferred", local(10, 16), {"status": "monitoring", "step": 5}),
    # received on 14/12/2025 (2025-12, before the 12 months); withdrawn at the first instant of 2026-01
    ("C6", WARD_CODE, "environment", local(12, 15, year=2025) - MINUTE, "withdrawn", local(12, 15, year=2025),
     {"status": "monitoring", "step": 5}),
    # on 15/12/2026: 2027-01, after the 12 months
    ("C7", WARD_CODE, "land", local(12, 15), None, None, OPEN),
    # 2026-11 too, reopened: no outcome any more, open
    ("C9", WARD_CODE, "land", local(11, 3), None, None, {"status": "verifying", "step": 2, "reopen_count": 1}),
    # 2026-03, closed, successful in 2026-03
    ("C10", WARD_CODE, "labour", local(3, 5), "successful", local(3, 10), CLOSED | {"closed_at": local(3, 20)}),
    # the other ward: 2026-11, open
    ("D1", OTHER_WARD, "land", local(11, 1), None, None, OPEN),
]


@pytest.fixture
async def wards(uow_factory):
    await load_demo_ward(uow_factory)
    async with uow_factory() as uow:
        session = uow.session
        session.add(UnitRow(code=OTHER_WARD, name="Xã Khác", kind="commune", sort_order=0))
        await session.flush()
        ids = {code: id_ for code, id_ in await session.execute(select(UnitRow.code, UnitRow.id))}
        for code, ward, field, created, outcome, outcome_at, columns in CASES:
            values = {"status": "new", "step": 1} | columns
            session.add(CaseRow(code=code, kind="dispute", field=field, summary=code, commune_unit_id=ids[ward],
                                outcome=outcome, outcome_at=outcome_at, created_at=created, updated_at=created,
                                **values))
        await uow.commit()
    return uow_factory


async def stats(uow_factory, ward: str | None = WARD_CODE, months=None):
    async with uow_factory() as uow:
        ward_id = (await find_ward(uow.session, ward)).id if ward else None
        return await monthly_stats(uow.session, ward_id, last_periods(NOW, ZONE) if months is None else months)


def figures(series) -> dict[str, tuple]:
    """The months with anything in them: (received by field, outcomes, still open)."""
    return {m.code: (m.received, m.outcomes, m.still_open) for m in series.months
            if m.received or m.outcomes or m.still_open}


async def test_a_ward_month_by_month_across_the_boundaries(wards):
    series = await stats(wards)

    assert [m.code for m in series.months] == [f"2026-{n:02d}" for n in range(1, 13)]
    assert (series.months[0].first.isoformat(), series.months[-1].last.isoformat()) == ("2025-12-15", "2026-12-14")
    assert figures(series) == {
        "2026-01": ({}, {"withdrawn": 1}, 0),
        "2026-03": ({"labour": 1}, {"successful": 1}, 0),
        "2026-10": ({"construction": 1}, {}, 1),
        "2026-11": ({"land": 2, "family": 2}, {"successful": 1, "transferred": 1}, 3),  # C1, C9, C3, C4; open C1 C4 C9
        "2026-12": ({"land": 1}, {"unsuccessful": 1}, 1),
    }
    assert not series.is_empty
    assert sum(m.total_received for m in series.months) == 7


async def test_every_ward(wards):
    series = await stats(wards, ward=None)
    assert series.ward_id is None
    november = series.months[10]
    assert (november.code, november.received, november.still_open) == ("2026-11", {"land": 3, "family": 2}, 4)


async def test_the_received_figures_agree_with_the_roll_up(wards):
    async with wards() as uow:
        ward = await find_ward(uow.session, WARD_CODE)
        report = await rollup(uow.session, report_period("2026-11", ZONE), ward)
    november = (await stats(wards)).months[10]
    assert november.received == report.by_field


async def test_two_statements_for_twelve_months(wards, engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with wards() as uow:
            await monthly_stats(uow.session, None, last_periods(NOW, ZONE))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    cases_queries = [s for s in statements if "FROM cases" in s]
    assert len(cases_queries) == 2, statements


async def test_no_months_and_no_cases(uow_factory):
    await load_demo_ward(uow_factory)
    empty = await stats(uow_factory)
    assert len(empty.months) == 12 and empty.is_empty
    assert all((m.received, m.outcomes, m.still_open) == ({}, {}, 0) for m in empty.months)
    assert (await stats(uow_factory, months=())).months == ()
