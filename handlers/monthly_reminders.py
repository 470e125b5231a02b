"""The monthly update of residential groups: remind the leaders, then tell the police who is missing.

Groups report to the ward police before `monthly_due_day` (seed 001). The scheduler calls
`remind_monthly` every few minutes; it does what is due at that moment and relies on the
outbox's dedupe keys, so a second run (or a second worker) sends nothing twice:

  on each of `monthly_reminder_days`, from 08:00   the leaders of the groups that have not sent
                                                   the month's update (the last day says so)
  the due day, from 08:00                          the ward police's officers on duty (every
                                                   officer when nobody is) get the missing list
  one working day later (end of that day)          the head(s), if some are still missing

With HOAGIAI_WARD_CODE set, the groups of that ward; unset, those of every ward in the database
(a province-wide deployment), each ward's lists to its own police.

A day's reminder is queued only on that local day: after a restart at 10:00 the 08:00 reminder
goes out, but the 15th's reminder is never sent on the 17th, and one queued too late for that
day (quiet hours would hold it to the next morning) is dropped, since "today is the last day"
would then be wrong. The police lists are once per month: late, if the bot was down, but only
while that month is the one being collected (`period_code_at`). A group that sent its update
late is no longer missing. The outbox skips what a previous run stored, so every run after the
due day re-reads the few rows of each ward; that is the price of needing no state of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import quiet
from handlers.domain.model import Contact, Unit
from handlers.domain.periods import due_at, parse_period, period_code_at
from handlers.domain.roles import HEAD, LEADER, OFFICER
from handlers.duty import ward_police
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork
from handlers.ward_reports import SUMMARY

if TYPE_CHECKING:
    from handlers.services import CoreConfig

log = logging.getLogger("hoagiai.monthly_reminders")

SEND_FROM = time(8, 0)  # local: reminders and lists go out from the start of the working morning
UPDATE = "m:u"  # the monthly update form (handlers/monthly.py); "m:u:<group id>" goes straight to the group
MAX_LISTED = 60  # groups named in one list; the rest are counted (a message has a size limit)


async def remind_monthly(uow: UnitOfWork, t: Translator, config: CoreConfig, now: datetime) -> int:
    """Queue what is due at `now` for the current reporting month; returns how many messages
    were handed to the outbox (a dedupe key already stored is skipped there)."""
    zone = ZoneInfo(config.timezone)
    local = now.astimezone(zone)
    code = period_code_at(now, config.timezone, config.monthly_first_day)
    due_day = due_at(code, config.timezone, config.monthly_due_day, config.monthly_first_day).astimezone(zone).date()
    officers_at = datetime.combine(due_day, SEND_FROM, zone)
    leaders_due = (local.day in config.monthly_reminder_days and local.time() >= SEND_FROM
                   and (local.year, local.month) == (due_day.year, due_day.month) and local.day < due_day.day)
    if not leaders_due and now < officers_at:
        return 0  # most runs: nothing to do, no query
    if config.ward_code is not None:
        ward = await uow.units.ward(config.ward_code)
        wards = [ward] if ward is not None else []
    else:  # a province-wide deployment: every ward's groups owe their update
        wards = await uow.units.wards()
    messages: list[Outgoing] = []
    for ward in wards:
        missing = await missing_groups(uow, ward.id, code)
        if not missing:
            continue
        leaders = await _leaders_by_group(uow, [group.id for group in missing])
        if leaders_due:
            messages += await _leader_reminders(uow, t, config, code, local.date(), due_day, missing, leaders, now)
        if now >= officers_at:
            messages += await _police_lists(uow, t, config, code, due_day, ward.id, officers_at, missing, leaders, now)
        log.debug("monthly update period=%s ward=%s missing=%d", code, ward.code, len(missing))
    await uow.outbox.add_many(messages, now)
    return len(messages)


async def _police_lists(uow: UnitOfWork, t: Translator, config: CoreConfig, code: str, due_day: date, ward_id: int,
                        officers_at: datetime, missing: list[Unit], leaders: dict[int, list[int]],
                        now: datetime) -> list[Outgoing]:
    """The ward's officers' list from the due day at 08:00; the head's one working day later."""
    police = await ward_police(uow, config, ward_id)
    messages = await _missing_list(uow, t, code, due_day, "officers", await _officers(uow, police, officers_at),
                                   missing, leaders)
    if now >= config.calendar.add_working_days(officers_at, 1):
        heads = await uow.staff.holders(police, [HEAD]) if police else []  # type: ignore[attr-defined]
        messages += await _missing_list(uow, t, code, due_day, "head", heads, missing, leaders)
    return messages


async def missing_groups(uow: UnitOfWork, ward_id: int, code: str) -> list[Unit]:
    """The ward's residential groups with no update for the month (on time or late): two queries."""
    groups = await uow.units.groups(ward_id)
    reports = await uow.monthly.for_period(code, [group.id for group in groups])  # type: ignore[attr-defined]
    sent = {report.group_unit_id for report in reports}
    return [group for group in groups if group.id not in sent]


async def _leaders_by_group(uow: UnitOfWork, group_ids: list[int]) -> dict[int, list[int]]:
    """The leaders of each group, in one query (a province has tens of thousands of groups)."""
    found: dict[int, list[int]] = await uow.staff.holders_by_unit(group_ids, [LEADER])  # type: ignore[attr-defined]
    return {group_id: list(found.get(group_id, ())) for group_id in group_ids}


async def _officers(uow: UnitOfWork, police: list[int], at: datetime) -> list[int]:
    """Who was on duty when the list fell due (so a later run picks the same people and the
    dedupe keys hold); every officer when nobody was."""
    if not police:
        return []
    on_duty: list[int] = await uow.duty.on_duty(police, at)  # type: ignore[attr-defined]
    return on_duty or await uow.staff.holders(police, [OFFICER])  # type: ignore[attr-defined]


async def _leader_reminders(uow: UnitOfWork, t: Translator, config: CoreConfig, code: str, today: date,
                            due_day: date, missing: list[Unit], leaders: dict[int, list[int]], now: datetime) -> list[Outgoing]:
    """One reminder per leader account of each missing group, waiting out quiet hours, and none
    when quiet hours would push it past today."""
    send_at = quiet.not_before(config, now)
    if send_at is not None and send_at.astimezone(ZoneInfo(config.timezone)).date() != today:
        log.debug("monthly reminders of %s not sent: quiet hours until the next day", today.isoformat())
        return []
    last = today.day == max(day for day in config.monthly_reminder_days if day < due_day.day)
    due = due_day.strftime("%d/%m")
    contacts = _by_person(await uow.staff.contacts(sorted({p for ids in leaders.values() for p in ids})))  # type: ignore[attr-defined]
    messages = []
    for group in missing:
        for person_id in leaders.get(group.id, ()):
            for contact in contacts.get(person_id, ()):
                lang = contact.language
                text = (t("monthly_reminders.reminder.last", lang, group=group.name, month=_month_label(code), due=due) if last
                        else t("monthly_reminders.reminder", lang, group=group.name, month=_month_label(code), due=due))
                buttons = ((Choice(t("monthly_reminders.send", lang), f"{UPDATE}:{group.id}"),),)
                messages.append(Outgoing(
                    contact.platform, contact.chat_id, Reply(text, buttons), not_before=send_at,
                    dedupe_key=f"monthly:{code}:{today.day}:{group.id}:{person_id}:{contact.platform}"))
    return messages


async def _missing_list(uow: UnitOfWork, t: Translator, code: str, due_day: date, audience: str, people: list[int],
                        missing: list[Unit], leaders: dict[int, list[int]]) -> list[Outgoing]:
    """The list of missing groups, with their leaders' names, once per month to each person."""
    if not people:
        log.warning("monthly update period=%s: no %s to tell about %d missing groups", code, audience, len(missing))
        return []
    names = await uow.staff.names(sorted({p for ids in leaders.values() for p in ids}))  # type: ignore[attr-defined]
    contacts = _by_person(await uow.staff.contacts(people))  # type: ignore[attr-defined]
    messages = []
    for person_id in people:
        for contact in contacts.get(person_id, ()):
            lines = _lines(t, contact.language, missing, leaders, names)
            params = {"month": _month_label(code), "due": due_day.strftime("%d/%m"),
                      "count": len(missing), "groups": "\n".join(lines)}
            text = (t("monthly_reminders.missing.head", contact.language, **params) if audience == "head"
                    else t("monthly_reminders.missing.officers", contact.language, **params))
            report = Choice(t("ward_reports.month_button", contact.language, code=code), f"{SUMMARY}:{code}")
            messages.append(Outgoing(contact.platform, contact.chat_id, Reply(text, ((report,),)),
                                     dedupe_key=f"monthly:{code}:missing:{audience}:{person_id}:{contact.platform}"))
    return messages


def _lines(t: Translator, lang: str, missing: list[Unit], leaders: dict[int, list[int]],
           names: dict[int, str]) -> list[str]:
    lines = []
    for group in missing[:MAX_LISTED]:
        who = ", ".join(names.get(p, f"#{p}") for p in leaders.get(group.id, ()))
        lines.append(t("monthly_reminders.missing.line", lang, group=group.name, leader=who) if who
                     else t("monthly_reminders.missing.line_no_leader", lang, group=group.name))
    if len(missing) > MAX_LISTED:
        lines.append(t("monthly_reminders.missing.more", lang, count=len(missing) - MAX_LISTED))
    return lines


def _by_person(contacts: Iterable[Contact]) -> dict[int, list[Contact]]:
    found: dict[int, list[Contact]] = {}
    for contact in contacts:
        found.setdefault(contact.person_id, []).append(contact)
    return found


def _month_label(code: str) -> str:
    year, month = parse_period(code)
    return f"{month:02d}/{year}"
