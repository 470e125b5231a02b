"""Check-ins after a successful mediation: is the agreement kept? (yes / partly / no)

A mediation that succeeded can still fall apart; the ward plans ask leaders to follow up
(DOMAIN.md, step 5). When the outcome "successful" is recorded, one `checkin` reminder per
configured day (7, 30, 90 by default) is written for 09:00 local time on that day, and the
reporter is asked whether they agree to be asked too (their answer is a case event: consent is
recorded with its date, and the latest answer counts). When a check-in falls due, the leader(s)
of the case's residential group, and the reporter if they agreed, get the question with three
buttons. "No" from a leader reopens a closed case (leaders may reopen their group's cases);
any other "no" or "partly" flags the case. Either way the officer in charge is alerted. The
question and the thanks are unasked messages to residents and leaders: they wait out quiet hours.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import duty, quiet, step_deadlines
from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import Case, Reminder
from handlers.domain.roles import LEADER, Actor
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork

if TYPE_CHECKING:
    from handlers.services import Conversation, CoreConfig

log = logging.getLogger("hoagiai.checkins")

CHECKIN = "checkin"
ASK_AT = time(9, 0)  # local time the question goes out on its day
ANSWERS = {"y": "yes", "p": "partly", "n": "no"}
CONSENT_EVENT = "followup_consent"
ANSWER_PREFIX, CONSENT_PREFIX = "ci:", "fu:"


def succeeded(before: Case, after: Case) -> bool:
    """Whether this change recorded a successful mediation."""
    return (after.outcome == wf.SUCCESSFUL and after.intervention == wf.MEDIATION
            and (before.outcome != wf.SUCCESSFUL or before.reopen_count != after.reopen_count))


async def schedule(conv: Conversation, case: Case) -> list[Outgoing]:
    """The check-in reminders of a successful mediation, and the reporter's consent question."""
    zone = ZoneInfo(conv.config.timezone)
    today = conv.now.astimezone(zone).date()
    await conv.uow.reminders.cancel(case.id, CHECKIN, conv.now)  # type: ignore[attr-defined]
    for day in conv.config.checkin_days:
        due = datetime.combine(today + timedelta(days=day), ASK_AT, zone).astimezone(conv.now.tzinfo)
        await conv.uow.reminders.add(case.id, CHECKIN, due_at=due, data={"day": day}, now=conv.now)  # type: ignore[attr-defined]
    log.info("check-ins scheduled case=%s days=%s", case.code, ",".join(map(str, conv.config.checkin_days)))
    if case.reporter_id is None or not conv.config.checkin_days:
        return []
    acting = conv.person is not None and conv.person.id == case.reporter_id
    not_before = None if acting else quiet.not_before(conv.config, conv.now)
    days = ", ".join(map(str, conv.config.checkin_days))
    messages = []
    for contact in await conv.uow.staff.contacts([case.reporter_id]):  # type: ignore[attr-defined]
        lang = contact.language
        buttons = ((Choice(conv.t("checkins.consent.yes", lang), f"{CONSENT_PREFIX}{case.id}:y"),
                    Choice(conv.t("checkins.consent.no", lang), f"{CONSENT_PREFIX}{case.id}:n")),)
        messages.append(Outgoing(contact.platform, contact.chat_id,
                                 Reply(conv.t("checkins.consent.ask", lang, code=case.code, days=days), buttons),
                                 dedupe_key=f"checkin-consent:{case.id}:{case.reopen_count}:{contact.platform}",
                                 not_before=not_before))
    return messages


async def act(uow: UnitOfWork, t: Translator, config: CoreConfig, reminder: Reminder, now: datetime) -> None:
    """A check-in day: ask the group's leaders, and the reporter if they agreed."""
    case = await uow.casework.get(reminder.case_id) if reminder.case_id is not None else None  # type: ignore[attr-defined]
    if case is None or case.outcome != wf.SUCCESSFUL:  # reopened and not (yet) mediated again
        await uow.reminders.finish(reminder.id, "cancelled", now)  # type: ignore[attr-defined]
        return
    day = int(reminder.data.get("day", 0))
    people = await uow.staff.holders([case.group_unit_id], [LEADER]) if case.group_unit_id else []  # type: ignore[attr-defined]
    if case.reporter_id is not None and await _consented(uow, case):
        people = sorted(set(people) | {case.reporter_id})
    not_before = quiet.not_before(config, now)
    asked = 0
    for person in people:
        checkin_id = await uow.checkins.ask(case.id, day, person, now)  # type: ignore[attr-defined]
        if checkin_id is None:
            continue
        asked += 1
        for contact in await uow.staff.contacts([person]):  # type: ignore[attr-defined]
            await uow.outbox.add(_question(t, case, day, checkin_id, contact.language, contact.platform,
                                           contact.chat_id, not_before), now)
    await uow.cases.add_event(case.id, actor_id=None, kind="checkin_asked", data={"day": day, "people": asked}, at=now)
    await uow.reminders.finish(reminder.id, "done", now)  # type: ignore[attr-defined]
    log.info("check-in asked case=%s day=%d people=%d", case.code, day, asked)


async def _consented(uow: UnitOfWork, case: Case) -> bool:
    """The reporter's latest answer to "may we ask you later?" (none: not asked)."""
    events = await uow.casework.events(case.id)  # type: ignore[attr-defined]
    answers = [event for event in events if event.kind == CONSENT_EVENT and event.actor_id == case.reporter_id]
    return bool(answers) and bool(max(answers, key=lambda event: event.at).data.get("agreed"))


def _question(t: Translator, case: Case, day: int, checkin_id: int, lang: str, channel: str, chat_id: str,
              not_before: datetime | None) -> Outgoing:
    buttons = tuple((Choice(t(f"checkins.answer.{answer}", lang), f"{ANSWER_PREFIX}{checkin_id}:{key}"),)
                    for key, answer in ANSWERS.items())
    text = t("checkins.question", lang, code=case.code, day=day)
    return Outgoing(channel, chat_id, Reply(text, buttons), dedupe_key=f"checkin:{checkin_id}:{channel}",
                    not_before=not_before)


# --- answers ----------------------------------------------------------------------------------

async def consent(conv: Conversation, data: str) -> list[Outgoing]:
    """The reporter agrees (or not) to be asked later; recorded as an event with its date."""
    assert conv.person is not None
    try:
        case_id, choice = data.removeprefix(CONSENT_PREFIX).split(":")
        case = await conv.uow.casework.get(int(case_id))  # type: ignore[attr-defined]
    except ValueError:
        case = None
    if case is None or case.reporter_id != conv.person.id or choice not in ("y", "n"):
        log.warning("check-in consent refused person=%s data=%r", conv.person.id, data)
        return [conv.say(conv("form.button_unknown"))]
    await conv.uow.cases.add_event(case.id, actor_id=conv.person.id, kind=CONSENT_EVENT,
                                   data={"agreed": choice == "y"}, at=conv.now)
    return [conv.say(conv("checkins.consent.thanks_yes" if choice == "y" else "checkins.consent.thanks_no"))]


async def answer(conv: Conversation, data: str) -> list[Outgoing]:
    """Record one answer; "no"/"partly" reopen or flag the case and alert the officer."""
    assert conv.person is not None
    try:
        checkin_id, key = data.removeprefix(ANSWER_PREFIX).split(":")
        checkin = await conv.uow.checkins.get(int(checkin_id))  # type: ignore[attr-defined]
    except ValueError:
        checkin = None
    if checkin is None or checkin.person_id != conv.person.id or key not in ANSWERS:
        log.warning("check-in answer refused person=%s data=%r", conv.person.id, data)
        return [conv.say(conv("form.button_unknown"))]
    value = ANSWERS[key]
    if not await conv.uow.checkins.answer(checkin.id, value, conv.now):  # type: ignore[attr-defined]
        return [conv.say(conv("checkins.already"))]
    case = await conv.uow.casework.get(checkin.case_id)  # type: ignore[attr-defined]
    actor = Actor(conv.person.id, await conv.uow.staff.memberships(conv.person.id))  # type: ignore[attr-defined]
    await conv.uow.cases.add_event(case.id, actor_id=conv.person.id, kind="checkin",
                                   data={"day": checkin.day, "answer": value}, at=conv.now)
    log.info("check-in answered case=%s day=%d answer=%s", case.code, checkin.day, value)
    if value == "yes":
        return [conv.say(conv("checkins.thanks"))]
    reopened = value == "no" and case.is_closed and access.can(actor, access.REOPEN, case)
    if reopened:
        await _reopen(conv, actor, case, checkin.day)
    else:
        await conv.uow.cases.add_event(case.id, actor_id=conv.person.id, kind="flagged",
                                       data={"day": checkin.day, "answer": value}, at=conv.now)
    alerts = await _alert_officers(conv, case, checkin.day, value, reopened)
    return [conv.say(conv("checkins.thanks_reopened" if reopened else "checkins.thanks_flagged"))] + alerts


async def _reopen(conv: Conversation, actor: Actor, case: Case, day: int) -> None:
    change = wf.reopen(case, conv("checkins.reopen_reason", day=day))
    values = {**change.values, **step_deadlines.deadline_values(conv.config, case, _after(case, change), conv.now)}
    updated = await conv.uow.casework.apply(case, values, conv.now)  # type: ignore[attr-defined]
    await step_deadlines.sync_reminder(conv, case, updated)
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind=change.event, data=change.data, at=conv.now)


def _after(case: Case, change: wf.Change) -> Case:
    return replace(case, **change.values)


async def _alert_officers(conv: Conversation, case: Case, day: int, value: str, reopened: bool) -> list[Outgoing]:
    """The officer in charge (the assignee, else every officer of the ward police) is told."""
    if case.assignee_id is not None:
        people = [case.assignee_id]
    else:
        people = await duty.officers_on_duty(conv.uow, conv.config, case, conv.now)
    key = "checkins.alert.reopened" if reopened else "checkins.alert.flagged"
    messages = []
    for contact in await conv.uow.staff.contacts(people):  # type: ignore[attr-defined]
        lang = contact.language
        text = conv.t(key, lang, code=case.code, day=day, answer=conv.t(f"checkins.answer.{value}", lang))
        messages.append(Outgoing(contact.platform, contact.chat_id,
                                 Reply(text, ((Choice(conv.t("staff.card.open", lang), f"k:o:{case.id}"),),)),
                                 dedupe_key=f"checkin-alert:{case.id}:{day}:{conv.person.id}:{contact.person_id}:{contact.platform}"))  # type: ignore[union-attr]
    return messages
