#!/usr/bin/env python3
"""Roll-up report benchmark: the ward's yearly report over 1,000,000 cases (aim on PostgreSQL: <= 1 s).

Run by hand (not a pytest test); it prints a result block and one JSON line:

    python bench/rollup.py --db postgres                 # 1,000,000 cases, a few minutes to load
    python bench/rollup.py --db sqlite
    python bench/rollup.py --cases 100000 --runs 3       # quicker
    python bench/rollup.py --db postgres --export        # and `hoagiai export cases` of them all

The database (a SQLite file in a temporary directory, or a PostgreSQL database
hoagiai_bench_<random> created for the run and dropped afterwards) is migrated and filled with
Core bulk inserts (the helpers of bench/sweep_reminders.py): `--wards` wards, each with a police
department (4 officers and a head) and `--groups` residential groups; `--cases` cases created
uniformly over 2025-12-01..2026-12-31 (UTC) across the wards and their groups, with every field
and nature (a quarter not classified yet), 10% urgent, about 60% closed (closed_at after
created_at), 5% of those reopened once (half of them closed again), an intervention for the
classified ones (about half of them mediation) and an outcome (successful / unsuccessful /
withdrawn) for the closed ones that had one. Each case has its events: 'created', then
'outcome_recorded' and 'closed' (and 'reopened', and a second round) at the right times, about
2.2 events a case. Most groups (90%) sent their monthly update for each month of 2025-12..2026-12,
some "nothing new", some late, some flagging risks (hot spot, mass complaint). PostgreSQL gets
VACUUM ANALYZE after the load, as autovacuum would; SQLite is left as loaded (no ANALYZE).

Timed: storage.reports.rollup for `--period` (default the year 2026, in NĐ 09/2019 reporting
months in `--zone`) for one ward and for every ward (ward=None), `--runs` times each, each in a
fresh unit of work (as `hoagiai report` does), after one untimed warm-up run. One more run of each
is traced: the SQL statements it ran with their times (bench/sweep_reminders.py's StatementLog),
and the slowest statement(s) explained (EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY
PLAN on SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from sweep_reminders import (  # noqa: E402  (puts the repository root on sys.path)
    DEFAULT_PG_URL, StatementLog, admin, bulk, chunks, fix_sequences, make_staff, rss_mb, summary,
)

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from handlers.domain.model import DISPUTE_FIELDS  # noqa: E402
from handlers.domain.periods import ReportPeriod, report_period  # noqa: E402
from handlers.domain.workflow import INTERVENTIONS, MEDIATION, NATURES, OUTCOMES, status_for  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.reports import Rollup, Ward, rollup  # noqa: E402
from storage.tables import CaseEventRow, CaseRow, MonthlyReportRow, UnitRow  # noqa: E402
from storage.uow import make_uow_factory  # noqa: E402

FIRST = datetime(2025, 12, 1, tzinfo=timezone.utc)
LAST = datetime(2027, 1, 1, tzinfo=timezone.utc)  # cases are created in [FIRST, LAST)
NOW = LAST + timedelta(days=14)  # when the data was made: nothing happens after it
MONTHS = tuple(f"{year}-{month:02d}" for year, month in [(2025, 12)] + [(2026, m) for m in range(1, 13)])
AIM_S = 1.0
OTHER_INTERVENTIONS = tuple(i for i in INTERVENTIONS if i != MEDIATION)


# --- the data -------------------------------------------------------------------------------


async def make_groups(engine: AsyncEngine, wards: Sequence[int], per_ward: int) -> dict[int, list[int]]:
    """`per_ward` residential groups (units of kind 'group') under each ward: ward id -> group ids."""
    groups: dict[int, list[int]] = {}
    async with engine.begin() as connection:
        for number, ward in enumerate(wards):
            rows = [{"code": f"bench-{number}-to-{g:02d}", "name": f"Tổ dân phố {g} phường {number}", "kind": "group",
                     "parent_id": ward, "sort_order": g} for g in range(1, per_ward + 1)]
            result = await connection.execute(insert(UnitRow).returning(UnitRow.id), rows)
            groups[ward] = list(result.scalars())
    return groups


def case_and_events(n: int, rng: random.Random, ward: int, group: int, police: int,
                    officers: Sequence[int]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `n`th case as it stands now, and its events."""
    span = (LAST - FIRST).total_seconds()
    created = FIRST + timedelta(seconds=int(rng.random() * span))
    nature = rng.choice(NATURES) if rng.random() < 0.75 else None
    intervention = None
    if nature is not None and rng.random() < 0.9:
        intervention = MEDIATION if rng.random() < 0.55 else rng.choice(OTHER_INTERVENTIONS)
    officer = officers[n % len(officers)]
    events = [{"case_id": n, "actor_id": None, "kind": "created", "data": {}, "at": created}]
    closed_at, outcome, outcome_at, reopens = None, None, None, 0
    step = rng.randint(1, 5) if nature is not None else 1

    def close_round(start: datetime) -> datetime | None:
        """An outcome (when there was an intervention) and a close after `start`, if before NOW."""
        nonlocal outcome, outcome_at
        closed = start + timedelta(days=rng.uniform(0.5, 60))
        if closed >= NOW:
            return None
        if intervention is not None:
            outcome = rng.choices(OUTCOMES, weights=(85, 10, 5))[0]
            outcome_at = max(closed - timedelta(hours=rng.uniform(1, 48)), start)
            events.append({"case_id": n, "actor_id": officer, "kind": "outcome_recorded",
                           "data": {"outcome": outcome}, "at": outcome_at})
        events.append({"case_id": n, "actor_id": officer, "kind": "closed", "data": {}, "at": closed})
        return closed

    if nature is not None and rng.random() < 0.8:  # ~60% of all cases closed
        closed_at = close_round(created)
        if closed_at is not None and rng.random() < 0.05:  # reopened once
            reopens = 1
            reopened = closed_at + timedelta(days=rng.uniform(1, 20))
            if reopened < NOW:
                events.append({"case_id": n, "actor_id": None, "kind": "reopened", "data": {}, "at": reopened})
                outcome, outcome_at, closed_at, step = None, None, None, 4
                if rng.random() < 0.5:  # closed again
                    closed_at = close_round(reopened)
            else:
                reopens = 0
    status = status_for(step, closed=closed_at is not None)
    taken = nature is not None
    case = {
        "id": n, "code": f"HG-R-{n:07d}", "kind": "dispute", "field": rng.choice(DISPUTE_FIELDS), "nature": nature,
        "urgent": rng.random() < 0.1, "urgency_reasons": [], "danger_now": False, "step": 5 if closed_at else step,
        "status": status, "commune_unit_id": ward, "group_unit_id": group,
        "summary": "Tranh chấp ranh giới đất giữa hai hộ liền kề.", "confidential": False, "channel": "telegram",
        "lead_unit_id": police, "assignee_id": officer if taken else None,
        "assigned_unit_id": police if taken else None, "intervention": intervention, "outcome": outcome,
        "outcome_at": outcome_at, "closed_at": closed_at, "reopen_count": reopens, "step_started_at": created,
        "step_due_at": None if closed_at else created + timedelta(days=7), "step_rule": None,
        "created_at": created, "updated_at": max(event["at"] for event in events), "version": 1 + len(events),
    }
    return case, events


def cases_with_events(count: int, seed: int, staff: dict[int, tuple[int, list[int]]],
                      groups: dict[int, list[int]]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    rng = random.Random(seed)
    wards = sorted(staff)
    for n in range(1, count + 1):
        ward = wards[n % len(wards)]
        police, officers = staff[ward]
        yield case_and_events(n, rng, ward, rng.choice(groups[ward]), police, officers)


async def bulk_cases(engine: AsyncEngine, pairs: Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    """Cases and their events, one transaction per chunk of cases; the number of events."""
    events = 0
    for batch in chunks(pairs):  # type: ignore[arg-type]
        async with engine.begin() as connection:
            await connection.execute(insert(CaseRow.__table__), [case for case, _ in batch])
            rows = [event for _, case_events in batch for event in case_events]
            await connection.execute(insert(CaseEventRow.__table__), rows)
            events += len(rows)
    return events


def monthly_rows(groups: dict[int, list[int]], seed: int) -> Iterator[dict[str, Any]]:
    """90% of the groups' updates for each month; 30% "nothing new", 10% late, some with risks."""
    rng = random.Random(seed + 1)
    for ward_groups in groups.values():
        for group in ward_groups:
            for month in MONTHS:
                if rng.random() >= 0.9:
                    continue
                year, number = int(month[:4]), int(month[5:])
                submitted = datetime(year, number, 14, 3, tzinfo=timezone.utc) + timedelta(days=rng.uniform(0, 5))
                nothing_new = rng.random() < 0.3
                risks: dict[str, Any] = {"hot_spot": False, "mass_complaint": False, "people": None, "note": None}
                if not nothing_new and rng.random() < 0.08:
                    kind = "hot_spot" if rng.random() < 0.6 else "mass_complaint"
                    risks.update({kind: True, "people": rng.randint(5, 80), "note": "Tụ tập đông người ở đầu ngõ."})
                yield {"group_unit_id": group, "period": month, "nothing_new": nothing_new,
                       "counts": {} if nothing_new else {"new": {"land": rng.randint(0, 3)}, "mediated": 1,
                                                         "successful": 1, "unsuccessful": 0, "open": 1, "referred": 0},
                       "risks": risks, "notes": None, "differences": {}, "submitted_by": None,
                       "submitted_at": submitted, "updated_at": submitted, "late": rng.random() < 0.1, "version": 1}


async def fill(engine: AsyncEngine, args: argparse.Namespace) -> dict[str, Any]:
    seconds: dict[str, Any] = {}
    started = time.perf_counter()
    staff = await make_staff(engine, args.wards, FIRST)
    groups = await make_groups(engine, sorted(staff), args.groups)
    seconds["events"] = await bulk_cases(engine, cases_with_events(args.cases, args.seed, staff, groups))
    seconds["cases_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await bulk(engine, MonthlyReportRow.__table__, monthly_rows(groups, args.seed))
    seconds["monthly_s"] = time.perf_counter() - started
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        await fix_sequences(engine)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    elif args.sqlite_analyze:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")  # fresh sqlite_stat1 (the application's is from when it migrated)
    seconds["vacuum_s"] = time.perf_counter() - started
    async with engine.connect() as connection:
        seconds["counts"] = {table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                             for table in ("cases", "case_events", "monthly_reports", "units")}
    return seconds


# --- the measures ---------------------------------------------------------------------------


class FullStatementLog(StatementLog):
    """StatementLog, keeping also each statement's full text and parameters (to explain it)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.full: dict[str, tuple[str, Any]] = {}

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        super()._after(conn, cursor, statement, parameters, *rest)
        self.full[" ".join(statement.split())[:110]] = (statement, parameters)


async def time_rollup(uow_factory: Callable[[], Any], period: ReportPeriod, ward: Ward | None) -> tuple[float, Rollup]:
    started = time.perf_counter()
    async with uow_factory() as uow:
        result = await rollup(uow.session, period, ward)
    return time.perf_counter() - started, result


async def explain(engine: AsyncEngine, statement: str, parameters: Any, generic: bool = False) -> list[str]:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        if generic:
            await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        result = await connection.exec_driver_sql(prefix + statement, parameters)
        lines = [" | ".join(str(value) for value in row) for row in result]
        await connection.rollback()
    return lines


def figures_of(result: Rollup) -> dict[str, Any]:
    return {"received": result.received, "urgent": result.urgent, "by_nature": result.by_nature,
            "resolved": result.resolved, "stable": result.stable, "successful": result.successful,
            "unsuccessful": result.unsuccessful, "withdrawn": result.withdrawn, "success_rate": result.success_rate,
            "prolonged": result.prolonged, "groups": len(result.groups),
            "missing_updates": sum(len(group.missing) for group in result.groups), "risks": len(result.risks)}


async def measure_scope(engine: AsyncEngine, uow_factory: Callable[[], Any], period: ReportPeriod, ward: Ward | None,
                        args: argparse.Namespace) -> dict[str, Any]:
    warm_up, result = await time_rollup(uow_factory, period, ward)
    times = [(await time_rollup(uow_factory, period, ward))[0] for _ in range(args.runs)]
    with FullStatementLog(engine) as statements:
        traced, _ = await time_rollup(uow_factory, period, ward)
    top = statements.top(12)
    plans = []
    for _, total, key in top[:args.explain]:
        statement, parameters = statements.full[key]
        plans.append({"sql": key, "ms": round(total * 1000, 1), "plan": await explain(engine, statement, parameters)})
        if engine.dialect.name == "postgresql":  # asyncpg prepares statements: from the 6th run PG may go generic
            plans.append({"sql": key + " [generic plan]", "ms": round(total * 1000, 1),
                          "plan": await explain(engine, statement, parameters, generic=True)})
    return {"ward": ward.code if ward else None, "warm_up_ms": round(warm_up * 1000, 1), **summary(times),
            "traced_ms": round(traced * 1000, 1),
            "statements": [{"count": count, "total_ms": round(total * 1000, 1), "sql": sql} for count, total, sql in top],
            "plans": plans, "figures": figures_of(result)}


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    uow_factory = make_uow_factory(engine)
    period = report_period(args.period, args.zone)
    try:
        setup = await fill(engine, args)
        rss_after_fill = rss_mb()
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT id, code, name FROM units WHERE kind = 'commune' "
                                                 "ORDER BY id LIMIT 1"))).one()
        ward = Ward(row.id, row.code, row.name)
        one = await measure_scope(engine, uow_factory, period, ward, args)
        every = await measure_scope(engine, uow_factory, period, None, args)
        exported = await time_export(url) if args.export else None
    finally:
        await engine.dispose()
    counts = setup.pop("counts")
    return {
        "db": args.db, "cases": args.cases, "wards": args.wards, "groups_per_ward": args.groups, "period": period.code,
        "window": [period.starts.isoformat(), period.ends.isoformat()], "rows": counts,
        "setup": {key: round(value, 1) for key, value in setup.items()},
        "one_ward": one, "all_wards": every, "aim_ms": AIM_S * 1000, "export": exported,
        "rss_after_fill_mb": round(rss_after_fill, 1), "rss_end_mb": round(rss_mb(), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def time_export(url: str) -> dict[str, Any]:
    """`hoagiai export cases` of every case, as an admin runs it (in this process, in a thread
    since it runs its own event loop): time, size, rows, and the memory it added."""
    from bot.cli import main as hoagiai

    folder = Path(tempfile.mkdtemp(prefix="hoagiai-export-"))
    try:
        path = folder / "cases.csv"
        os.environ["HOAGIAI_DATABASE_URL"] = url
        rss_before, max_before = rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu = time.perf_counter(), time.process_time()
        code = await asyncio.to_thread(hoagiai, ["export", "cases", "--output", str(path)])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = sum(1 for _ in csv.reader(file)) - 1
        return {"exit": code, "seconds": round(seconds, 1), "cpu_s": round(cpu_seconds, 1), "rows": rows,
                "mb": round(path.stat().st_size / 2**20, 1), "rss_before_mb": round(rss_before, 1),
                "max_rss_before_mb": round(max_before, 1),
                "max_rss_after_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scope_block(name: str, scope: dict[str, Any], aim_ms: float) -> list[str]:
    f = scope["figures"]
    lines = [
        f"  {name:<22}median {scope['median_ms']} ms, p95 {scope['p95_ms']} ms (min {scope['min_ms']}, max "
        f"{scope['max_ms']}, {scope['runs']} runs; warm-up {scope['warm_up_ms']} ms; aim <= {aim_ms:.0f} ms: "
        f"{'met' if scope['median_ms'] <= aim_ms else 'NOT met'})",
        f"    figures: received {f['received']} (urgent {f['urgent']}), resolved {f['resolved']}, stable {f['stable']}, "
        f"mediation {f['successful']}/{f['unsuccessful']}/{f['withdrawn']} ({f['success_rate']}%), prolonged "
        f"{f['prolonged']}, {f['groups']} groups, {f['missing_updates']} updates missing, {f['risks']} risks",
        f"    statements of one traced run ({scope['traced_ms']} ms), by time:",
        *(f"    {row['count']:4} x {row['total_ms']:8.1f} ms  {row['sql']}" for row in scope["statements"]),
    ]
    for plan in scope["plans"]:
        lines.append(f"    plan of the {plan['ms']} ms statement ({plan['sql'][:60]}...):")
        lines.extend(f"      {line}" for line in plan["plan"])
    return lines


def result_block(figures: dict[str, Any]) -> str:
    rows, setup = figures["rows"], figures["setup"]
    lines = [
        f"roll-up report {figures['period']} ({figures['window'][0]} .. {figures['window'][1]}): {rows['cases']} cases, "
        f"{rows['case_events']} events, {rows['monthly_reports']} monthly updates, {figures['wards']} wards x "
        f"{figures['groups_per_ward']} groups, {figures['db']}",
        f"  setup                 cases+events {setup['cases_s']} s, monthly {setup['monthly_s']} s, "
        f"vacuum analyze {setup['vacuum_s']} s",
        *scope_block(f"one ward ({figures['one_ward']['ward']})", figures["one_ward"], figures["aim_ms"]),
        *scope_block("all wards", figures["all_wards"], figures["aim_ms"]),
        *([f"  export cases          {e['rows']} rows, {e['mb']} MB in {e['seconds']} s ({e['cpu_s']} s CPU), exit "
            f"{e['exit']}; max RSS {e['max_rss_before_mb']} MB before, {e['max_rss_after_mb']} MB after"]
          if (e := figures["export"]) else []),
        f"  memory                RSS after the load {figures['rss_after_fill_mb']} MB, at the end "
        f"{figures['rss_end_mb']} MB; max RSS {figures['max_rss_mb']} MB",
    ]
    return "\n".join(lines)


# --- the databases --------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="hoagiai-rollup-"))
    database = f"hoagiai_bench_{uuid.uuid4().hex[:12]}"
    try:
        if args.db == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'rollup.db'}"
        else:
            await admin(args.pg_url, f'CREATE DATABASE "{database}"')
            url = make_url(args.pg_url).set(database=database).render_as_string(hide_password=False)
        figures = await measure(args, url)
    finally:
        if args.db == "postgres":
            await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
    print(result_block(figures))
    print(json.dumps(figures, default=str))
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--wards", type=int, default=10)
    parser.add_argument("--groups", type=int, default=15, help="residential groups per ward")
    parser.add_argument("--period", default="2026", help="the report's period (default: the year 2026)")
    parser.add_argument("--zone", default="Asia/Ho_Chi_Minh")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each roll-up")
    parser.add_argument("--explain", type=int, default=1, help="explain the N slowest statements of each roll-up")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE on SQLite after the load (the application runs it when it migrates, "
                             "i.e. before this load; without fresh statistics the mediation query may pick "
                             "ix_case_events_kind_at and take hours at 1,000,000 cases)")
    parser.add_argument("--export", action="store_true",
                        help="also time `hoagiai export cases` of every case (the national software's CSV)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help="a PostgreSQL server to create hoagiai_bench_<random> on (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.wards < 1 or args.groups < 1 or args.runs < 1:
        parser.error("--cases, --wards, --groups and --runs must be 1 or more")
    return args


def main() -> int:
    args = parse_args()
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("rollup: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
