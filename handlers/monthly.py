"""A leader's monthly update by chat: start the form for their group, then store what they sent.

The month is the latest reporting month that has ended (handlers/domain/periods.py); the update
is on time before the due day (the 20th) in the ward's zone and accepted later, marked late.
Until the deadline the leader may send it again: the new figures replace the old, and every
version is kept. After the deadline a sent update is final (the police have used it).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers import ward_reports
from handlers.domain import periods
from handlers.domain.model import FormSession
from handlers.domain.roles import LEADER, POLICE_ROLES
from handlers.forms import engine
from handlers.forms.engine import FormContext
from handlers.forms.monthly import COUNTS, MONTHLY_FORM, RECORDS, TYPED, differences
from handlers.messages import Choice, Outgoing, Reply

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.monthly")

START = "m:u"  # the menu button, and the monthly reminders' button; "m:u:<group id>" picks a group
DATE = "%d/%m/%Y"


async def begin(conv: Conversation, data: str = START) -> list[Outgoing]:
    """Start the update for the leader's group (asking which, when they lead several); for the
    ward police, the month's overview of every group."""
    assert conv.person is not None
    memberships = await conv.uow.staff.memberships(conv.person.id)  # type: ignore[attr-defined]
    groups = sorted({m.unit_id for m in memberships if m.role == LEADER})
    if not groups and data == START and any(m.role in POLICE_ROLES for m in memberships):
        return [await overview(conv)]
    if not groups:
        log.warning("monthly update refused person=%s: not a leader", conv.person.id)
        return [_say(conv, conv("monthly.leaders_only"))]
    wanted = data.removeprefix(START).removeprefix(":")
    if wanted:
        group_id = int(wanted) if wanted.isdigit() and int(wanted) in groups else None
        if group_id is None:
            log.warning("monthly update refused person=%s group=%r", conv.person.id, wanted)
            return [_say(conv, conv("monthly.leaders_only"))]
    elif len(groups) > 1:
        units = [await conv.uow.units.get(group) for group in groups]
        buttons = tuple((Choice(unit.name, f"{START}:{unit.id}"),) for unit in units if unit is not None)
        return [conv.reply(Reply(conv("monthly.which_group"), buttons))]
    else:
        group_id = groups[0]
    return await _start(conv, group_id)


async def _start(conv: Conversation, group_id: int) -> list[Outgoing]:
    assert conv.person is not None
    config, zone = conv.config, conv.config.timezone
    code = periods.period_code_at(conv.now, zone, config.monthly_first_day)
    month = periods.period(code, zone, config.monthly_first_day)
    due = periods.due_at(code, zone, config.monthly_due_day, config.monthly_first_day)
    late = conv.now >= due
    sent = await conv.uow.monthly.get(group_id, code)  # type: ignore[attr-defined]
    local = ZoneInfo(zone)
    if sent is not None and late:
        return [_say(conv, conv("monthly.closed", period=_label(month), at=sent.updated_at.astimezone(local)
                                .strftime("%H:%M " + DATE)))]
    open_form = await conv.uow.forms.active(conv.person.id)
    if open_form is not None and open_form.expires_at > conv.now:
        return [_say(conv, conv("actions.finish_report_first"))]
    if open_form is not None:
        await conv.uow.forms.delete(open_form.id)  # type: ignore[arg-type]
    group = await conv.uow.units.get(group_id)
    initial: dict[str, Any] = {
        "group_id": group_id, "group_name": group.name if group else "", "period": code,
        "period_label": _label(month), "due_label": (due - timedelta(seconds=1)).astimezone(local).strftime(DATE),
        RECORDS: await conv.uow.monthly.record_counts(group_id, month.starts, month.ends),  # type: ignore[attr-defined]
        "_late": late, "_version": sent.version if sent else None,
    }
    ctx = FormContext(lang=conv.lang, t=conv.t, now=conv.now, zone=zone)
    result = engine.start(MONTHLY_FORM, secrets.token_hex(3), ctx, initial)
    await conv.uow.forms.save(FormSession(
        id=None, person_id=conv.person.id, form=MONTHLY_FORM.name, step=result.step, answers=result.answers,
        expires_at=conv.now + conv.config.form_ttl, created_at=conv.now, updated_at=conv.now,
        platform=conv.inbound.platform, chat_id=conv.inbound.chat_id))
    replies = [conv.reply(reply) for reply in result.replies]
    if sent is not None:
        note = conv("monthly.sent_before", at=sent.updated_at.astimezone(local).strftime("%H:%M " + DATE))
        replies.insert(0, _say(conv, note))
    return replies


async def finish(conv: Conversation, answers: dict[str, Any]) -> list[Outgoing]:
    """Store the update (checked again: still their group; late or not decided now)."""
    assert conv.person is not None
    config, zone = conv.config, conv.config.timezone
    group_id, code = int(answers["group_id"]), answers["period"]
    memberships = await conv.uow.staff.memberships(conv.person.id)  # type: ignore[attr-defined]
    if not any(m.role == LEADER and m.unit_id == group_id for m in memberships):
        log.warning("monthly update refused at send person=%s group=%s", conv.person.id, group_id)
        return [_say(conv, conv("monthly.leaders_only"))]
    late = periods.is_late(code, conv.now, zone, config.monthly_due_day, config.monthly_first_day)
    sent = await conv.uow.monthly.get(group_id, code)  # type: ignore[attr-defined]
    if sent is not None and (late or sent.version != answers.get("_version")):
        return [_say(conv, conv("monthly.changed" if not late else "monthly.closed_now"))]
    typed = answers.get(TYPED) or {}
    values = {
        "nothing_new": bool(answers.get("nothing_new")),
        "counts": {**{name: int(typed.get(name, 0)) for name in COUNTS},
                   "new_by_field": dict((answers.get(RECORDS) or {}).get("new") or {})},
        "risks": {"hot_spot": bool(answers.get("hot_spot")), "mass_complaint": bool(answers.get("mass_complaint")),
                  "people": answers.get("people"), "note": answers.get("risk_note")},
        "notes": answers.get("notes"),
        "differences": differences(answers),
    }
    saved = await conv.uow.monthly.save(group_id, code, values, by=conv.person.id, now=conv.now, late=late,  # type: ignore[attr-defined]
                                        version=sent.version if sent else None)
    log.info("monthly update group=%s period=%s version=%d late=%s nothing_new=%s differences=%d",
             group_id, code, saved.version, late, values["nothing_new"], len(values["differences"]))
    key = "monthly.received_late" if late else ("monthly.received_again" if saved.version > 1 else "monthly.received")
    return [_say(conv, conv(key, group=answers.get("group_name", ""), period=answers["period_label"]))]


async def overview(conv: Conversation) -> Outgoing:
    """Which groups of the ward sent the month's update: on time, late, or not yet; with the
    figures that differ from the records and the risks flagged (police only: the caller checks)."""
    config, zone = conv.config, conv.config.timezone
    code = periods.period_code_at(conv.now, zone, config.monthly_first_day)
    month = periods.period(code, zone, config.monthly_first_day)
    due = periods.due_at(code, zone, config.monthly_due_day, config.monthly_first_day)
    _, groups = await conv.wards.get(conv.uow, config.ward_code, conv.now)
    sent = {report.group_unit_id: report for report in await conv.uow.monthly.for_period(code)}  # type: ignore[attr-defined]
    lines = [conv("monthly.overview.head", period=_label(month), count=len([g for g in groups if g.id in sent]),
                  total=len(groups), due=(due - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).strftime(DATE))]
    for group in groups:
        report = sent.get(group.id)
        if report is None:
            lines.append(conv("monthly.overview.missing", group=group.name))
            continue
        marks = ("⏰" if report.late else "✅") + (" ⚠️" if report.differences else "") + \
            (" 🔥" if report.risks.get("hot_spot") or report.risks.get("mass_complaint") else "")
        what = conv("monthly.summary.nothing_new") if report.nothing_new else conv(
            "monthly.overview.figures", new=report.counts.get("new", 0), successful=report.counts.get("successful", 0),
            open=report.counts.get("open", 0))
        lines.append(f"{marks} {group.name}: {what}")
    lines.append(conv("monthly.overview.legend"))
    report = Choice(conv("ward_reports.month_button", code=code), f"{ward_reports.SUMMARY}:{code}")
    return conv.reply(Reply("\n".join(lines), ((report,),)))


def _label(month: periods.Period) -> str:
    return f"{month.first.strftime('%d/%m')}–{month.last.strftime(DATE)}"


def _say(conv: Conversation, text: str) -> Outgoing:
    from handlers.services import menu_buttons

    return conv.say(text, menu_buttons(conv))
