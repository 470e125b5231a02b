"""The ward's roll-up report and statistics in chat, for the ward police (seeds 001, 002, 004).

`/summary` (or the menu's "📊 Ward report") offers the latest reporting month and the quarter,
half-year and year it belongs to; `/summary 2026-Q3` asks for any period. The answer is one
message: the short text, the chart as a picture and the XLSX file for the Party committee's
report. `/stats` draws the last 12 reporting months by field and by outcome. Charts and
spreadsheets are drawn in a worker thread: the event loop keeps answering others meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from handlers.domain import periods
from handlers.domain.roles import Actor
from handlers.domain.rollup import Ward
from handlers.messages import Choice, OutFile, Outgoing, Reply
from handlers.report_output import Labels, text, xlsx_bytes

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.ward_reports")

SUMMARY = "k:r"  # the period picker; "k:r:<period code>" makes the report
STATS = "k:st"
PNG, XLSX = "image/png", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATS_MONTHS = 12


def menu_row(conv: Conversation) -> tuple[Choice, ...]:
    return (Choice(conv("ward_reports.menu"), SUMMARY), Choice(conv("ward_reports.stats_menu"), STATS))


async def summary(conv: Conversation, actor: Actor, code: str = "") -> list[Outgoing]:
    """The period picker, or the report on `code`; police only."""
    if not actor.is_police:
        log.warning("ward report refused person=%s", actor.person_id)
        return [conv.reply(Reply(conv("ward_reports.police_only")))]
    if not code.strip():
        return [conv.reply(Reply(conv("ward_reports.choose"), _period_buttons(conv)))]
    config = conv.config
    try:
        period = periods.report_period(code, config.timezone, config.monthly_first_day)
    except ValueError:
        return [conv.reply(Reply(conv("ward_reports.bad_period", given=code.strip()[:20]), _period_buttons(conv)))]
    ward = await _ward(conv)
    if ward is None:
        return [conv.reply(Reply(conv("ward_reports.no_ward")))]
    rollup = await conv.uow.reports.rollup(period, ward, config.prolonged_days)  # type: ignore[attr-defined]
    labels = Labels(conv.t, conv.lang)
    due = periods.report_due_date(period.code)
    from handlers.report_charts import rollup_chart

    chart, sheet = await asyncio.gather(asyncio.to_thread(rollup_chart, rollup, labels),
                                        asyncio.to_thread(xlsx_bytes, rollup, labels, due))
    files = (await _file(conv, "photo", chart, PNG, f"bao-cao-{period.code}.png"),
             await _file(conv, "document", sheet, XLSX, f"bao-cao-{period.code}.xlsx"))
    log.info("ward report person=%s period=%s received=%d", actor.person_id, period.code, rollup.received)
    return [conv.reply(Reply(text(rollup, labels, due), files=files))]


async def stats(conv: Conversation, actor: Actor) -> list[Outgoing]:
    """The last STATS_MONTHS reporting months as a chart, with the totals in words; police only."""
    if not actor.is_police:
        log.warning("ward stats refused person=%s", actor.person_id)
        return [conv.reply(Reply(conv("ward_reports.police_only")))]
    ward = await _ward(conv)
    if ward is None:
        return [conv.reply(Reply(conv("ward_reports.no_ward")))]
    config = conv.config
    months = periods.last_periods(conv.now, config.timezone, STATS_MONTHS, config.monthly_first_day)
    series = await conv.uow.reports.monthly_stats(ward.id, months)  # type: ignore[attr-defined]
    from handlers.report_charts import stats_chart

    chart = await asyncio.to_thread(stats_chart, series, Labels(conv.t, conv.lang))
    photo = await _file(conv, "photo", chart, PNG, f"thong-ke-{months[-1].code}.png")
    caption = conv("ward_reports.stats", first=months[0].code, last=months[-1].code, ward=ward.name)
    log.info("ward stats person=%s months=%s..%s", actor.person_id, months[0].code, months[-1].code)
    return [conv.reply(Reply(caption, files=(photo,)))]


def _period_buttons(conv: Conversation) -> tuple[tuple[Choice, ...], ...]:
    """The latest reporting month that has ended, and the quarter, half and year it is in."""
    month = periods.period_code_at(conv.now, conv.config.timezone, conv.config.monthly_first_day)
    year, number = month[:4], int(month[5:])
    codes = (("month", month), ("quarter", f"{year}-Q{(number - 1) // 3 + 1}"),
             ("half", f"{year}-H{(number - 1) // 6 + 1}"), ("year", year))
    return tuple((Choice(conv(f"ward_reports.period.{kind}", code=code), f"{SUMMARY}:{code}"),) for kind, code in codes)


async def _ward(conv: Conversation) -> Ward | None:
    unit, _ = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    return Ward(unit.id, unit.code, unit.name) if unit is not None else None


async def _file(conv: Conversation, kind: str, data: bytes, mime_type: str, name: str) -> OutFile:
    """Stored with the outbox row that names it, in the same transaction."""
    sha256 = await conv.uow.blobs.put(data, mime_type, conv.now)  # type: ignore[attr-defined]
    return OutFile(kind=kind, sha256=sha256, file_name=name, mime_type=mime_type)  # type: ignore[arg-type]
