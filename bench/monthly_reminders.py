#!/usr/bin/env python3
"""Monthly-update reminders benchmark: 10,000 residential groups, reminders enqueued by the real
monthly job, then sent by the real outbox sender within Telegram's limits.

Run by hand (not a pytest test); it prints a result block and one JSON line:

    python bench/monthly_reminders.py --groups 500                 # SQLite, quick (about 20 s)
    python bench/monthly_reminders.py --db postgres                # 10,000 groups, about 5 min of sending
    python bench/monthly_reminders.py --db sqlite
    python bench/monthly_reminders.py --messages-limit 300         # enqueue all, send only ~300
    python bench/monthly_reminders.py --wards 1 --messages-limit 0 # one ward of 10,000 groups, no sending

Loaded (Core bulk inserts, the helpers of bench/sweep_reminders.py and bench/rollup.py) into a
fresh database (a SQLite file in a temporary directory, or a PostgreSQL database
hoagiai_bench_<random> on `--pg-url`, dropped afterwards): `--wards` wards, each with a police
department (4 officers and a head); `--groups` residential groups spread evenly over them; one
leader per group, each with a Telegram account of its own (every reminder goes to a different
chat); and this month's update already sent (a monthly_reports row) by a `--submitted` share of
the groups, picked at random (`--seed`), whose leaders must not be reminded.

Time 1, enqueue: the real job (scheduler/monthly.py `monthly_job`, which calls
handlers/monthly_reminders.py `remind_monthly`) at `--at` (default 2026-12-15 08:00 in `--zone`,
a reminder day at the hour reminders start), with its clock injected (a fixed `Clock.now()`).
With no ward code (HOAGIAI_WARD_CODE unset, a province-wide deployment) one run of the job serves
every ward's groups: that one run is timed. Measured: wall time, CPU of this process (and of the run's PostgreSQL backends), the SQL
statements, the outbox rows written. Checked by query: each group that has not sent its update
has exactly one row for its leader's chat, naming the group; the others have none; no row is
held by quiet hours (next_attempt_at is the job's moment). The job then runs again and must
write nothing (the outbox's dedupe keys).

Time 2, send: the real outbox sender (scheduler/outbox.py) with the real Telegram channel
(bot/telegram/outbound.py, PTB's Bot over HTTP on 127.0.0.1, Telegram's limits) delivers the
rows to the fake Bot API of bench/outbox_fanout.py (rate limits on: a send over 30/s overall or
1/s in a chat is answered 429). The sender's clock runs on from the job's moment. Reported: the
rate from the first to the last send against 30/s, the 429 answers (aim 0), the gaps between
sends (and the time lost at the start of each claimed batch and elsewhere, which says where a
rate under the limit goes), each chat's count (every reminded leader exactly once, no
submitter), the outbox rows' statuses, wall and CPU time, max RSS. `--messages-limit N` stops
after about N sends (the batch under way finishes); 0 skips sending.

Exit status: 0 when every check passed, 1 when one failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from sweep_reminders import (  # noqa: E402  (puts the repository root on sys.path)
    DEFAULT_PG_URL, FixedClock, StatementLog, bulk, make_staff, rss_mb,
)
from rollup import make_groups  # noqa: E402
from outbox_fanout import (  # noqa: E402
    FanoutFake, in_scratch_database, outbox_statuses, run_interruptible,
)
from form_load import machine_times  # noqa: E402

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.telegram.client import make_bot  # noqa: E402
from bot.telegram.limits import TELEGRAM_LIMITS  # noqa: E402
from bot.telegram.outbound import TelegramChannel  # noqa: E402
from handlers.domain.periods import period_code_at  # noqa: E402
from handlers.i18n import CatalogTranslator  # noqa: E402
from handlers.monthly_reminders import SEND_FROM  # noqa: E402
from handlers.services import CoreConfig  # noqa: E402
from scheduler.monthly import monthly_job  # noqa: E402
from scheduler.outbox import OutboxSender  # noqa: E402
from scheduler.rules import load_calendar  # noqa: E402
from storage.engine import create_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.tables import (  # noqa: E402
    IdentityRow, MembershipRow, MonthlyReportRow, OutboxRow, PersonRow, UnitRow,
)
from storage.uow import make_uow_factory  # noqa: E402

FIRST_CHAT = 7_000_001  # leaders' Telegram chats; make_staff's officers use 9,000,000 + person id
DEFAULT_AT = "2026-12-15T08:00"
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
AIM_SHARE = 0.95
UNITS, MEMBERS, IDENTITIES = UnitRow.__table__, MembershipRow.__table__, IdentityRow.__table__
OUTBOX, REPORTS = OutboxRow.__table__, MonthlyReportRow.__table__


class ShiftedClock:
    """The job's moment, running on with the wall clock: the sender sees the rows due."""

    def __init__(self, start: datetime) -> None:
        self.start, self.origin = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to `database` (its process title names
    it): the server's work for this run, not for others sharing the server."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or f" {database} " not in title:
                continue
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class Meter:
    """Wall time, CPU of this process and of this run's PostgreSQL backends, and how busy the
    machine was. A backend that exits during the block is not counted (the pool keeps them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.database = engine.url.database if engine.dialect.name == "postgresql" else None

    def __enter__(self) -> Meter:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.pg = backend_cpu_seconds(self.database) if self.database else {}
        self.busy, self.total = machine_times()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.wall
        self.cpu_s = time.process_time() - self.cpu
        self.pg_cpu_s = None
        if self.database:
            after = backend_cpu_seconds(self.database)
            self.pg_cpu_s = sum(cpu - self.pg.get(pid, 0.0) for pid, cpu in after.items())
        busy, total = machine_times()
        self.machine_busy = (busy - self.busy) / (total - self.total) if total > self.total else 0.0

    def figures(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 2),
                "postgres_cpu_s": None if self.pg_cpu_s is None else round(self.pg_cpu_s, 2),
                "machine_busy": round(self.machine_busy, 3)}


# --- the data -------------------------------------------------------------------------------


async def fill(engine: AsyncEngine, args: argparse.Namespace, moment: datetime, period: str) -> dict[str, Any]:
    """Wards, groups, one leader (and chat) per group, the submitters' updates. Returns the
    groups as {group id: (ward code, group name, chat id, submitted)} and the load's time."""
    started = time.perf_counter()
    loaded_at = moment - timedelta(days=60)
    staff = await make_staff(engine, args.wards, loaded_at)
    per_ward = args.groups // args.wards
    await make_groups(engine, sorted(staff), per_ward)
    async with engine.connect() as connection:
        wards = {ward_id: code for ward_id, code in await connection.execute(
            select(UNITS.c.id, UNITS.c.code).where(UNITS.c.kind == "commune"))}
        units = (await connection.execute(select(UNITS.c.id, UNITS.c.parent_id, UNITS.c.name)
                                          .where(UNITS.c.kind == "group").order_by(UNITS.c.id))).all()
    await bulk(engine, PersonRow.__table__, ({
        "language": "vi", "consent_at": loaded_at, "consent_version": "bench", "created_at": loaded_at,
        "full_name": f"Tổ trưởng {n}", "ref": f"bench-leader-{group_id}"} for n, (group_id, _, _) in enumerate(units)))
    async with engine.connect() as connection:
        person_of = {int(ref.rsplit("-", 1)[1]): person for person, ref in await connection.execute(
            select(PersonRow.id, PersonRow.ref).where(PersonRow.ref.like("bench-leader-%")))}
    chat_of = {group_id: str(FIRST_CHAT + n) for n, (group_id, _, _) in enumerate(units)}
    await bulk(engine, IDENTITIES, ({"person_id": person_of[g], "platform": "telegram", "external_id": chat_of[g],
                                     "display_name": None, "created_at": loaded_at} for g, _, _ in units))
    await bulk(engine, MEMBERS, ({"person_id": person_of[g], "unit_id": g, "role": "leader", "created_at": loaded_at,
                                  "source": "import"} for g, _, _ in units))
    submitted = set(random.Random(args.seed).sample([g for g, _, _ in units], round(len(units) * args.submitted)))
    sent_at = moment - timedelta(days=2)
    await bulk(engine, REPORTS, ({
        "group_unit_id": g, "period": period, "nothing_new": True, "counts": {}, "risks": {}, "notes": None,
        "differences": {}, "submitted_by": person_of[g], "submitted_at": sent_at, "updated_at": sent_at,
        "late": False, "version": 1} for g in sorted(submitted)))
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    groups = {g: (wards[parent], name, chat_of[g], g in submitted) for g, parent, name in units}
    return {"groups": groups, "ward_codes": [wards[w] for w in sorted(wards)], "load_s": round(load_s, 1),
            "vacuum_s": round(time.perf_counter() - started, 1)}


# --- time 1: enqueue ------------------------------------------------------------------------


async def outbox_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(OUTBOX))).scalar_one())


async def run_job(engine: AsyncEngine, uow_factory: Callable[[], Any], config: CoreConfig, moment: datetime,
                  ward_codes: Sequence[str | None]) -> dict[str, Any]:
    """The real job once for each ward code (None: every ward in one run), at `moment`: timed and traced."""
    translator, clock = CatalogTranslator(), FixedClock(moment)
    before = await outbox_count(engine)
    per_ward, handed = [], 0
    with StatementLog(engine) as statements, Meter(engine) as meter:
        for code in ward_codes:
            started = time.perf_counter()
            handed += await monthly_job(uow_factory, translator, clock, replace(config, ward_code=code))
            per_ward.append(time.perf_counter() - started)
    count = sum(len(times) for times in statements.by_statement.values())
    return {
        **meter.figures(), "runs": len(ward_codes), "handed_to_outbox": handed,
        "rows_written": await outbox_count(engine) - before,
        "per_ward_ms": {"median": round(statistics.median(per_ward) * 1000, 2),
                        "max": round(max(per_ward) * 1000, 2), "min": round(min(per_ward) * 1000, 2)},
        "statements": count, "statements_per_run": round(count / len(ward_codes), 1),
        "top_statements": [{"count": n, "total_ms": round(total * 1000, 1), "sql": sql}
                           for n, total, sql in statements.top(6)],
    }


async def check_rows(engine: AsyncEngine, groups: dict[int, tuple[str, str, str, bool]], period: str,
                     moment: datetime) -> dict[str, Any]:
    """By query: outbox rows per group's leader chat, against whether the group sent its update."""
    per_chat = (select(OUTBOX.c.chat_id, func.count().label("rows")).where(OUTBOX.c.channel == "telegram")
                .group_by(OUTBOX.c.chat_id).subquery())
    query = (
        select(UNITS.c.id, REPORTS.c.id.is_not(None).label("submitted"), func.coalesce(per_chat.c.rows, 0))
        .select_from(
            UNITS.join(MEMBERS, (MEMBERS.c.unit_id == UNITS.c.id) & (MEMBERS.c.role == "leader"))
            .join(IDENTITIES, (IDENTITIES.c.person_id == MEMBERS.c.person_id) & (IDENTITIES.c.platform == "telegram"))
            .outerjoin(REPORTS, (REPORTS.c.group_unit_id == UNITS.c.id) & (REPORTS.c.period == period))
            .outerjoin(per_chat, per_chat.c.chat_id == IDENTITIES.c.external_id))
        .where(UNITS.c.kind == "group"))
    async with engine.connect() as connection:
        found = (await connection.execute(query)).all()
        rows = (await connection.execute(select(OUTBOX.c.chat_id, OUTBOX.c.payload))).all()
        held = (await connection.execute(select(func.count()).select_from(OUTBOX)
                                         .where(OUTBOX.c.next_attempt_at > moment))).scalar_one()
    waiting = [n for _, submitted, n in found if not submitted]
    name_of_chat = {chat: name for _, name, chat, _ in groups.values()}
    return {
        "groups_checked": len(found), "expected": len(waiting),
        "with_one_row": sum(1 for n in waiting if n == 1), "without_row": sum(1 for n in waiting if n == 0),
        "with_several": sum(1 for n in waiting if n > 1),
        "submitters_with_rows": sum(1 for _, submitted, n in found if submitted and n),
        "rows_total": len(rows), "rows_to_other_chats": sum(1 for chat, _ in rows if chat not in name_of_chat),
        "rows_not_naming_their_group": sum(1 for chat, payload in rows
                                           if chat in name_of_chat and name_of_chat[chat] not in payload["text"]),
        "held_by_quiet_hours": held,
    }


def enqueue_ok(check: dict[str, Any], second: dict[str, Any]) -> bool:
    return (check["groups_checked"] > 0 and check["with_one_row"] == check["expected"] == check["rows_total"]
            and check["submitters_with_rows"] == 0 and check["rows_to_other_chats"] == 0
            and check["rows_not_naming_their_group"] == 0 and check["held_by_quiet_hours"] == 0
            and second["rows_written"] == 0)


# --- time 2: send ---------------------------------------------------------------------------


async def send(engine: AsyncEngine, uow_factory: Callable[[], Any], args: argparse.Namespace, moment: datetime,
               groups: dict[int, tuple[str, str, str, bool]], queued: int) -> dict[str, Any]:
    expected = queued if args.messages_limit is None else min(queued, args.messages_limit)
    fake = FanoutFake(expected)
    await fake.start()
    bot = None
    try:
        for _, _, chat, _ in groups.values():
            fake.add_chat(chat)  # the submitters' chats too: a reminder sent there would be seen
        bot = make_bot(fake.token, fake.base_url, fake.base_file_url)
        await bot.initialize()
        sender = OutboxSender(uow_factory, {"telegram": TelegramChannel(bot, limits=TELEGRAM_LIMITS)},
                              ShiftedClock(moment), batch_size=args.batch_size)
        stop = asyncio.Event()
        timeout = 2 * expected / (TELEGRAM_LIMITS.overall_per_second or 30) + 60
        with StatementLog(engine) as statements, Meter(engine) as meter:
            sender_task = asyncio.create_task(sender.run(stop), name="outbox")
            try:
                await asyncio.wait_for(fake.all_in.wait(), timeout)
            except TimeoutError:
                pass
            finally:
                stop.set()
                await sender_task
                await sender.idle()
        statuses = await outbox_statuses(engine)
    finally:
        if bot is not None:
            await bot.shutdown()
        await fake.stop()
    per_chat = Counter({chat: len(fake.sent_to(chat)) for _, _, chat, _ in groups.values()})
    times = sorted(message["at"] for _, _, chat, _ in groups.values() for message in fake.sent_to(chat))
    reminded = [chat for _, _, chat, submitted in groups.values() if not submitted]
    span = (fake.last_at - fake.first_at) if fake.first_at is not None and fake.last_at is not None else 0.0
    rate = (fake.received - 1) / span if span > 0 else 0.0
    limit = TELEGRAM_LIMITS.overall_per_second or 0
    return {
        **meter.figures(), "limit": args.messages_limit, "expected": expected, "received": fake.received,
        "chats_once": sum(1 for chat in reminded if per_chat[chat] == 1),
        "missing": sum(1 for chat in reminded if per_chat[chat] == 0),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "to_submitters": sum(per_chat[chat] for _, _, chat, submitted in groups.values() if submitted),
        "too_many_requests": len(fake.flood_answers), "send_span_s": round(span, 2),
        "rate_per_s": round(rate, 2), "limit_per_s": limit, "share_of_limit": round(rate / limit, 4) if limit else None,
        "gaps": gaps(times, args.batch_size, limit), "outbox": statuses,
        "statements": sum(len(times) for times in statements.by_statement.values()),
    }


def gaps(times: Sequence[float], batch_size: int, limit: int) -> dict[str, Any]:
    """Where the rate below the limit goes: the gaps between consecutive sends, and the time
    beyond the limit's spacing lost at the first send of each claimed batch and elsewhere."""
    if len(times) < 2 or not limit:
        return {}
    spacing = 1 / limit
    between = [b - a for a, b in zip(times, times[1:])]
    at_batch = [gap for n, gap in enumerate(between, start=1) if n % batch_size == 0]
    ordered = sorted(between)
    return {"median_ms": round(statistics.median(between) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "lost_at_batch_starts_s": round(sum(max(0.0, gap - spacing) for gap in at_batch), 2),
            "lost_elsewhere_s": round(sum(max(0.0, gap - spacing) for gap in between) -
                                      sum(max(0.0, gap - spacing) for gap in at_batch), 2)}


def send_ok(figures: dict[str, Any], queued: int) -> bool:
    complete = figures["limit"] is None or figures["limit"] >= queued
    return (figures["duplicates"] == 0 and figures["to_submitters"] == 0
            and figures["received"] >= figures["expected"]
            and figures["outbox"].get("sent", 0) == figures["received"]
            and (not complete or (figures["missing"] == 0 and figures["chats_once"] == queued)))


# --- the run --------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    uow_factory = make_uow_factory(engine)
    config = CoreConfig(timezone=args.zone, calendar=load_calendar(args.zone))
    moment = args.at.astimezone(timezone.utc)
    period = period_code_at(moment, config.timezone, config.monthly_first_day)
    figures: dict[str, Any] = {"db": args.db, "wards": args.wards, "groups": args.groups, "submitted": args.submitted,
                               "at": args.at.isoformat(), "at_utc": moment.isoformat(), "period": period,
                               "quiet_at_moment": config.quiet_hours.is_quiet(args.at.time())}
    try:
        loaded = await fill(engine, args, moment, period)
        groups = loaded.pop("groups")
        loaded.pop("ward_codes")
        ward_codes: list[str | None] = [None]  # every ward, in one run
        figures["setup"] = {**loaded, "rss_mb": round(rss_mb(), 1)}
        figures["enqueue"] = await run_job(engine, uow_factory, config, moment, ward_codes)
        figures["enqueue"]["rss_mb"] = round(rss_mb(), 1)
        figures["check"] = await check_rows(engine, groups, period, moment)
        figures["second_run"] = await run_job(engine, uow_factory, config, moment, ward_codes)
        queued = figures["check"]["rows_total"]
        if args.messages_limit == 0:
            figures["send"] = None
        else:
            figures["send"] = await send(engine, uow_factory, args, moment, groups, queued)
    finally:
        await engine.dispose()
    figures["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    enqueued = enqueue_ok(figures["check"], figures["second_run"])
    sent = figures["send"] is None or send_ok(figures["send"], queued)
    aims = figures["send"] is not None and figures["send"]["too_many_requests"] == 0 and \
        (figures["send"]["share_of_limit"] or 0) >= AIM_SHARE
    figures.update(enqueue_ok=enqueued, send_ok=sent, ok=enqueued and sent, aims_met=aims)
    return figures


def _cpu(phase: dict[str, Any]) -> str:
    pg = f", its PostgreSQL backends {phase['postgres_cpu_s']} s" if phase["postgres_cpu_s"] is not None else ""
    return f"CPU this process {phase['cpu_s']} s{pg}; machine {phase['machine_busy']:.0%} busy (2 cores, shared)"


def result_block(f: dict[str, Any]) -> str:
    e, c, s2, s = f["enqueue"], f["check"], f["second_run"], f["send"]
    lines = [
        f"monthly reminders: {f['groups']} groups in {f['wards']} wards, {f['submitted']:.0%} already sent "
        f"{f['period']}, {f['db']}; job at {f['at']} ({f['at_utc']}), quiet hours then: {f['quiet_at_moment']}",
        f"  setup                  load {f['setup']['load_s']} s, vacuum {f['setup']['vacuum_s']} s; "
        f"RSS {f['setup']['rss_mb']} MB",
        "time 1, enqueue (the real monthly_job, one run for every ward)",
        f"  wall                   {e['wall_s'] * 1000:.0f} ms for {e['runs']} run(s) of the job",
        f"  CPU                    {_cpu(e)}",
        f"  statements             {e['statements']} ({e['statements_per_run']} a run); by total time:",
        *(f"    {row['count']:6} x {row['total_ms']:8.1f} ms  {row['sql']}" for row in e["top_statements"]),
        f"  outbox rows written    {e['rows_written']} (handed {e['handed_to_outbox']})",
        f"  check by query         {c['with_one_row']}/{c['expected']} groups without the update have exactly one "
        f"row (none {c['without_row']}, several {c['with_several']}); "
        f"submitters with rows {c['submitters_with_rows']}; "
        f"rows to other chats {c['rows_to_other_chats']}; not naming their group {c['rows_not_naming_their_group']}; "
        f"held by quiet hours {c['held_by_quiet_hours']}",
        f"  second run (dedupe)    {s2['rows_written']} rows written (handed {s2['handed_to_outbox']}), "
        f"{s2['wall_s'] * 1000:.0f} ms, {s2['statements']} statements",
        f"  enqueue correct: {'yes' if f['enqueue_ok'] else 'NO'}",
    ]
    if s is None:
        lines.append("time 2, send: skipped (--messages-limit 0)")
    else:
        share = s["share_of_limit"] or 0
        g = s["gaps"]
        limited = (f" of {s['expected']}" if s["limit"] is None
                   else f" (stopped after {s['limit']}; the batch under way finishes)")
        lines += [
            "time 2, send (OutboxSender + TelegramChannel -> fake Bot API over HTTP, limits enforced)",
            f"  received by the fake   {s['received']}{limited}; chats with exactly one {s['chats_once']}, "
            f"{'not sent (limit)' if s['limit'] is not None else 'missing'} {s['missing']}, "
            f"sent twice {s['duplicates']}, to submitters {s['to_submitters']}",
            f"  rate                   {s['rate_per_s']:.2f}/s over {s['send_span_s']:.1f} s, {share * 100:.1f}% "
            f"of {s['limit_per_s']}/s (aim >= {AIM_SHARE:.0%})",
            f"  429 answers            {s['too_many_requests']} (aim 0)",
            f"  gaps between sends     median {g.get('median_ms')} ms, p99 {g.get('p99_ms')} ms, "
            f"max {g.get('max_ms')} ms "
            f"(1/{s['limit_per_s']} s = {1000 / (s['limit_per_s'] or 30):.1f} ms); time lost beyond that at the "
            f"start of a claimed batch {g.get('lost_at_batch_starts_s')} s, elsewhere {g.get('lost_elsewhere_s')} s",
            f"  wall                   {s['wall_s']:.1f} s, sender start to last send; {s['statements']} statements",
            f"  CPU                    {_cpu(s)}",
            f"  outbox rows            {s['outbox']}",
            f"  send correct: {'yes' if f['send_ok'] else 'NO'}; aims met: {'yes' if f['aims_met'] else 'no'}",
        ]
    lines.append(f"max RSS {f['max_rss_mb']} MB; correct: {'yes' if f['ok'] else 'NO'}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    figures = await in_scratch_database(args, "hoagiai-monthly-", measure)
    print(result_block(figures))
    print(json.dumps(figures, default=str))
    return 0 if figures["ok"] else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--groups", type=int, default=10_000, help="residential groups, each with one leader")
    parser.add_argument("--wards", type=int, default=100, help="wards the groups are spread over (evenly)")
    parser.add_argument("--submitted", type=float, default=0.2, help="share of groups that sent the month's update")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--at", default=DEFAULT_AT, help="local time of the job run (default: %(default)s)")
    parser.add_argument("--zone", default=DEFAULT_ZONE)
    parser.add_argument("--messages-limit", type=int, default=None,
                        help="stop sending after about this many messages (0: do not send)")
    parser.add_argument("--batch-size", type=int, default=OutboxSender.batch_size,
                        help="rows the sender claims at a time (default: %(default)s)")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_URL),
                        help="a PostgreSQL server to create the run's database on (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.wards < 1 or args.groups < args.wards or args.groups % args.wards:
        parser.error("--groups must be a positive multiple of --wards")
    if not 0 <= args.submitted < 1:
        parser.error("--submitted must be in [0, 1)")
    args.at = datetime.fromisoformat(args.at).replace(tzinfo=ZoneInfo(args.zone))
    config = CoreConfig(timezone=args.zone)
    if args.at.day not in config.monthly_reminder_days or args.at.time() < SEND_FROM \
            or args.at.day >= config.monthly_due_day:
        parser.error(f"--at must be on a reminder day {config.monthly_reminder_days} from {SEND_FROM:%H:%M}")
    return args


def main() -> int:
    args = parse_args()
    return run_interruptible("monthly_reminders", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
