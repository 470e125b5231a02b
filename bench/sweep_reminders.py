#!/usr/bin/env python3
"""Reminder sweep benchmark: claim and act on 1,000 due reminders among 100,000 open ones.

Run by hand (not a pytest test); it prints a result block and one JSON line:

    python bench/sweep_reminders.py --db sqlite                   # 1,000,000 cases, a few minutes
    python bench/sweep_reminders.py --db postgres
    python bench/sweep_reminders.py --cases 100000 --reminders 10000 --due 1000   # quicker

The database (a SQLite file in a temporary directory, or a PostgreSQL database created for the
run and dropped afterwards) is migrated and filled with Core bulk inserts: `--wards` wards, each
with a police department of 4 officers and a head who have Telegram accounts; `--cases` cases
spread over the wards (two thirds of them taken by an officer); one pending
step_due reminder per case for `--reminders` of them, of which `--due` are due now, spread
over the table and over the escalation levels 0-3 (so the sweep writes real outbox rows and
case events), the others due within 30 days.

Timed, each over several repetitions with the due set restored in between (untimed):
  claim  lock_due of the due rows in a transaction, rolled back (the aim: <= 50 ms)
  sweep  scheduler.jobs.sweep_reminders: claim, act on each, write outbox rows, events and the
         next level, commit
One more, untimed, sweep is traced: tracemalloc's peak, and the SQL statements it ran (count
and time by statement), which says where a slow sweep spends its time. The claim's query plan
is printed (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) and checked for the
ix_reminders_status_due_at index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import bindparam, delete, event, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from handlers import reminders  # noqa: E402
from handlers.domain.workflow import status_for  # noqa: E402
from handlers.i18n import CatalogTranslator  # noqa: E402
from handlers.services import CoreConfig  # noqa: E402
from scheduler.jobs import sweep_reminders  # noqa: E402
from scheduler.rules import load_calendar, load_rules  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.tables import (  # noqa: E402
    CaseEventRow, CaseRow, IdentityRow, MembershipRow, OutboxRow, PersonRow, ReminderRow, UnitRow,
)
from storage.uow import make_uow_factory  # noqa: E402

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "hoagiai_bench_sweep"
INDEX = "ix_reminders_status_due_at"
CHUNK = 10_000
OFFICERS_PER_WARD = 4
RULE, STEP = "dispute.classify", 1
AIM_CLAIM_MS = 50.0


class FixedClock:
    """The sweep runs at the moment the data was made for, whatever the wall clock says."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


# --- the data -------------------------------------------------------------------------------


def chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def bulk(engine: AsyncEngine, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    """Core executemany, one transaction per chunk."""
    for batch in chunks(rows):
        async with engine.begin() as connection:
            await connection.execute(insert(table), batch)


async def make_staff(engine: AsyncEngine, wards: int, now: datetime) -> dict[int, tuple[int, list[int]]]:
    """Each ward with its police (4 officers, a head, Telegram accounts): ward id -> (police id, officer ids)."""
    staff: dict[int, tuple[int, list[int]]] = {}
    async with engine.begin() as connection:
        for number in range(wards):
            ward = (await connection.execute(insert(UnitRow).returning(UnitRow.id), {
                "code": f"bench-{number}", "name": f"Phường {number}", "kind": "commune", "sort_order": number})).scalar_one()
            police = (await connection.execute(insert(UnitRow).returning(UnitRow.id), {
                "code": f"bench-{number}-ca", "name": f"Công an phường {number}", "kind": "department",
                "parent_id": ward, "sort_order": 100, "function": "police"})).scalar_one()
            officers = []
            for seat in range(OFFICERS_PER_WARD + 1):
                person = (await connection.execute(insert(PersonRow).returning(PersonRow.id), {
                    "language": "vi", "consent_at": now, "consent_version": "bench", "created_at": now,
                    "full_name": f"Cán bộ {number}-{seat}"})).scalar_one()
                await connection.execute(insert(IdentityRow), {
                    "person_id": person, "platform": "telegram", "external_id": str(9_000_000 + person),
                    "display_name": None, "created_at": now})
                role = "head" if seat == OFFICERS_PER_WARD else "officer"
                await connection.execute(insert(MembershipRow), {
                    "person_id": person, "unit_id": police, "role": role, "created_at": now, "source": "import"})
                if role == "officer":
                    officers.append(person)
            staff[ward] = (police, officers)
    return staff


def case_rows(count: int, staff: dict[int, tuple[int, list[int]]], now: datetime) -> Iterator[dict[str, Any]]:
    wards = sorted(staff)
    for n in range(1, count + 1):
        ward = wards[n % len(wards)]
        police, officers = staff[ward]
        assigned = n % 3 != 0  # a third not yet taken: their reminders go to the whole ward police
        yield {
            "id": n, "code": f"HG-B-{n:07d}", "kind": "dispute", "field": "land", "urgent": False,
            "urgency_reasons": [], "danger_now": False, "step": STEP, "status": status_for(STEP),
            "commune_unit_id": ward, "summary": "Tranh chấp ranh giới đất giữa hai hộ liền kề.",
            "confidential": False, "channel": "telegram", "lead_unit_id": police,
            "assignee_id": officers[n % len(officers)] if assigned else None,
            "assigned_unit_id": police if assigned else None, "reopen_count": 0,
            "step_started_at": now - timedelta(days=3), "step_due_at": now + timedelta(days=1), "step_rule": RULE,
            "created_at": now - timedelta(days=3), "updated_at": now - timedelta(days=3), "version": 1,
        }


def due_state(k: int, now: datetime) -> tuple[datetime, int, str]:
    """The `k`th due reminder's (due_at, level, deadline): levels 0-3 in turn, due within the last day."""
    level = k % 4
    due_at = now - timedelta(minutes=1 + k % 1440)
    deadline = now + timedelta(days=1) if level == 0 else due_at - timedelta(days=level - 1)
    return due_at, level, deadline.isoformat()


def reminder_rows(count: int, cases: int, due_every: int, now: datetime) -> Iterator[dict[str, Any]]:
    """One reminder per case for `count` cases spread over the table; every `due_every`th is due."""
    spacing = max(cases // count, 1)
    for n in range(1, count + 1):
        if n % due_every == 0:
            due_at, level, deadline = due_state(n // due_every, now)
        else:
            due_at, level = now + timedelta(hours=1, minutes=n % (30 * 24 * 60)), 0
            deadline = (due_at + timedelta(days=1)).isoformat()
        yield {"id": n, "case_id": n * spacing, "kind": reminders.STEP_DUE, "rule_id": RULE, "step": STEP,
               "due_at": due_at, "level": level, "status": "pending", "attempts": 0, "data": {"deadline": deadline},
               "created_at": now - timedelta(days=3), "updated_at": now - timedelta(days=3)}


async def fill(engine: AsyncEngine, args: argparse.Namespace, now: datetime) -> dict[str, float]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    staff = await make_staff(engine, args.wards, now)
    await bulk(engine, CaseRow.__table__, case_rows(args.cases, staff, now))
    seconds["cases_s"] = time.perf_counter() - started
    started = time.perf_counter()
    await bulk(engine, ReminderRow.__table__, reminder_rows(args.reminders, args.cases, args.due_every, now))
    seconds["reminders_s"] = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        await fix_sequences(engine)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    return seconds


async def fix_sequences(engine: AsyncEngine) -> None:
    """The ids were given; the sequences must follow, or the next insert collides."""
    async with engine.begin() as connection:
        for table in ("cases", "reminders"):
            await connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


async def restore_due(engine: AsyncEngine, args: argparse.Namespace, now: datetime) -> None:
    """Untimed: the due set as it was, and the sweep's outbox rows and events gone."""
    rows = []
    for n in range(args.due_every, args.reminders + 1, args.due_every):
        due_at, level, _ = due_state(n // args.due_every, now)
        rows.append({"wanted": n, "due_at": due_at, "level": level})
    statement = (update(ReminderRow.__table__).where(ReminderRow.__table__.c.id == bindparam("wanted"))
                 .values(status="pending", due_at=bindparam("due_at"), level=bindparam("level")))
    async with engine.begin() as connection:
        await connection.execute(statement, rows)
        await connection.execute(delete(OutboxRow.__table__))
        await connection.execute(delete(CaseEventRow.__table__))


# --- the measures ---------------------------------------------------------------------------


async def time_claim(uow_factory: Callable[[], Any], now: datetime, due: int) -> float:
    started = time.perf_counter()
    async with uow_factory() as uow:
        claimed = await uow.reminders.lock_due(now, due, kinds=reminders.KINDS)
        await uow.rollback()
    elapsed = time.perf_counter() - started
    assert len(claimed) == due, f"claimed {len(claimed)}, expected {due}"
    return elapsed


async def time_sweep(uow_factory: Callable[[], Any], config: CoreConfig, now: datetime, due: int) -> float:
    started = time.perf_counter()
    acted = await sweep_reminders(uow_factory, CatalogTranslator(), FixedClock(now), config, limit=due)
    elapsed = time.perf_counter() - started
    assert acted == due, f"acted on {acted}, expected {due}"
    return elapsed


class StatementLog:
    """Every statement a block ran: how many times, and the time spent in the driver."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.started: dict[int, float] = {}
        self.by_statement: dict[str, list[float]] = defaultdict(list)

    def __enter__(self) -> StatementLog:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        self.started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        key = " ".join(statement.split())[:110]
        self.by_statement[key].append(time.perf_counter() - self.started.pop(id(cursor), time.perf_counter()))

    def top(self, count: int = 8) -> list[tuple[int, float, str]]:
        rows = [(len(times), sum(times), key) for key, times in self.by_statement.items()]
        return sorted(rows, key=lambda row: row[1], reverse=True)[:count]


async def traced_sweep(engine: AsyncEngine, uow_factory: Callable[[], Any], config: CoreConfig, now: datetime,
                       due: int) -> tuple[float, StatementLog]:
    """One more sweep, untimed: tracemalloc's peak (MB), and the statements it ran."""
    with StatementLog(engine) as statements:
        tracemalloc.start()
        try:
            await time_sweep(uow_factory, config, now, due)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak / 2**20, statements


async def claim_plan(engine: AsyncEngine, uow_factory: Callable[[], Any], now: datetime, due: int) -> list[str]:
    """The claim's statement as lock_due sends it, explained by the database."""
    captured: dict[str, Any] = {}

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if "FROM reminders" in statement and "due_at <=" in statement:
            captured.update(statement=statement, parameters=parameters)

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        await time_claim(uow_factory, now, due)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
    explain = ("EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN ")
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(explain + captured["statement"], captured["parameters"])
        lines = [" | ".join(str(value) for value in row) for row in result]
        await connection.rollback()
    return lines


def rss_mb() -> float:
    """Current resident set size, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def summary(times: Sequence[float]) -> dict[str, float]:
    ms = sorted(value * 1000 for value in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2), "min_ms": round(ms[0], 2),
            "max_ms": round(ms[-1], 2), "runs": len(ms)}


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    uow_factory = make_uow_factory(engine)
    config = CoreConfig(rules=load_rules(), calendar=load_calendar())
    now = datetime.now(timezone.utc).replace(microsecond=0)
    try:
        setup = await fill(engine, args, now)
        rss_after_fill = rss_mb()
        plan = await claim_plan(engine, uow_factory, now, args.due)
        claims = [await time_claim(uow_factory, now, args.due) for _ in range(args.repeat_claim)]
        sweeps = []
        for _ in range(args.repeat_sweep):
            await restore_due(engine, args, now)
            sweeps.append(await time_sweep(uow_factory, config, now, args.due))
        async with engine.connect() as connection:
            outbox = (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
            events = (await connection.execute(text("SELECT count(*) FROM case_events"))).scalar_one()
        await restore_due(engine, args, now)
        traced_mb, statements = await traced_sweep(engine, uow_factory, config, now, args.due)
    finally:
        await engine.dispose()
    return {
        "db": args.db, "cases": args.cases, "reminders": args.reminders, "due": args.due, "wards": args.wards,
        "setup": {key: round(value, 1) for key, value in setup.items()},
        "claim": summary(claims), "sweep": summary(sweeps),
        "sweep_per_reminder_ms": round(statistics.median(sweeps) * 1000 / args.due, 3),
        "outbox_rows_per_sweep": outbox, "events_per_sweep": events,
        "statements_per_sweep": sum(len(times) for times in statements.by_statement.values()),
        "top_statements": [{"count": count, "total_ms": round(total * 1000, 1), "sql": sql}
                           for count, total, sql in statements.top()],
        "tracemalloc_peak_mb": round(traced_mb, 1), "rss_after_fill_mb": round(rss_after_fill, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "plan": plan, "plan_uses_index": any(INDEX in line for line in plan),
    }


def result_block(figures: dict[str, Any]) -> str:
    claim, sweep = figures["claim"], figures["sweep"]
    lines = [
        f"reminder sweep: {figures['due']} due of {figures['reminders']} open reminders, "
        f"{figures['cases']} cases, {figures['wards']} wards, {figures['db']}",
        f"  setup                 cases {figures['setup']['cases_s']} s, reminders {figures['setup']['reminders_s']} s",
        f"  claim (lock_due)      median {claim['median_ms']} ms, p95 {claim['p95_ms']} ms "
        f"(min {claim['min_ms']}, max {claim['max_ms']}, {claim['runs']} runs; aim <= {AIM_CLAIM_MS:.0f} ms)",
        f"  whole sweep + commit  median {sweep['median_ms']} ms, p95 {sweep['p95_ms']} ms "
        f"(min {sweep['min_ms']}, max {sweep['max_ms']}, {sweep['runs']} runs); "
        f"{figures['sweep_per_reminder_ms']} ms a reminder",
        f"  written per sweep     {figures['outbox_rows_per_sweep']} outbox rows, {figures['events_per_sweep']} case events",
        f"  statements per sweep  {figures['statements_per_sweep']}; by total time:",
        *(f"    {row['count']:6} x {row['total_ms']:8.1f} ms  {row['sql']}" for row in figures["top_statements"]),
        f"  memory                tracemalloc peak of a sweep {figures['tracemalloc_peak_mb']} MB; RSS after the "
        f"load {figures['rss_after_fill_mb']} MB, at the end {figures['rss_end_mb']} MB; max RSS {figures['max_rss_mb']} MB",
        f"  claim plan ({'uses' if figures['plan_uses_index'] else 'does NOT use'} {INDEX}):",
        *(f"    {line}" for line in figures["plan"]),
    ]
    return "\n".join(lines)


# --- the databases --------------------------------------------------------------------------


async def admin(pg_url: str, sql: str) -> None:
    engine = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="hoagiai-sweep-"))
    try:
        if args.db == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'sweep.db'}"
        else:
            await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            await admin(args.pg_url, f'CREATE DATABASE "{PG_DATABASE}"')
            url = make_url(args.pg_url).set(database=PG_DATABASE).render_as_string(hide_password=False)
        figures = await measure(args, url)
    finally:
        if args.db == "postgres":
            await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
    print(result_block(figures))
    print(json.dumps(figures, default=str))
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--reminders", type=int, default=100_000, help="open (pending) reminders, one per case")
    parser.add_argument("--due", type=int, default=1_000, help="of which due now; one sweep claims them all")
    parser.add_argument("--wards", type=int, default=10)
    parser.add_argument("--repeat-claim", type=int, default=20)
    parser.add_argument("--repeat-sweep", type=int, default=7)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help=f"a PostgreSQL server to create {PG_DATABASE} on (default: %(default)s)")
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.reminders <= args.cases:
        parser.error("need 0 < --due <= --reminders <= --cases")
    if args.reminders % args.due:
        parser.error("--reminders must be a multiple of --due (the due ones are spread evenly)")
    args.due_every = args.reminders // args.due
    return args


def main() -> int:
    args = parse_args()
    # The sweep logs a line per reminder, as in production (INFO); formatted, then thrown away.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"),  # noqa: SIM115
                        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("sweep_reminders: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
