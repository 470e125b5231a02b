"""Urgent cases: alerted at once, re-alerted until someone acknowledges, then escalated.

When a case is urgent (at creation, or marked so later while nobody has acknowledged it) the
alert group gets an alert with an Acknowledge button (the officers got the new case with theirs),
and an `urgent_alert` reminder is written for `urgent_realert` later. Each time it falls due
while the case is still unacknowledged, the officers on duty and the alert group are alerted
again; from the `urgent_escalate_after`-th re-alert on the head(s) of the ward police are told
too (event `escalated`). Acknowledging (from a private chat or the alert group) records who and
when, cancels the re-alerts and tells the alert group. Urgent messages ignore quiet hours.
Alerts carry the case code, field, reasons and a preview, never the reporter's contact.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers import duty, intake
from handlers.domain import workflow as wf
from handlers.domain.model import Case, Reminder
from handlers.domain.roles import HEAD, Actor
from handlers.i18n import DEFAULT_LANGUAGE
from handlers.messages import Choice, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork

if TYPE_CHECKING:
    from handlers.services import Conversation, CoreConfig

log = logging.getLogger("hoagiai.urgent")

URGENT_ALERT = "urgent_alert"
ACKNOWLEDGE_PREFIX = "k:a:acknowledge:"


def needs_alert(before: Case | None, after: Case) -> bool:
    """Whether a change makes an open, unacknowledged case urgent (or creates one)."""
    became_urgent = after.urgent and (before is None or not before.urgent)
    return became_urgent and not after.is_closed and after.acknowledged_at is None


async def start(uow: UnitOfWork, t: Translator, config: CoreConfig, case: Case, group_name: str,
                now: datetime) -> list[Outgoing]:
    """The alert group's alert now, and the first re-alert due `urgent_realert` later."""
    await uow.reminders.schedule(case.id, URGENT_ALERT, due_at=now + config.urgent_realert,  # type: ignore[attr-defined]
                                 level=1, data={"since": now.isoformat()}, now=now)
    log.info("urgent alert started case=%s", case.code)
    if not config.alert_chat_id:
        return []
    return [_group_alert(t, config, case, group_name, f"alert:case:{case.id}", t("alert.urgent.title", DEFAULT_LANGUAGE))]


async def act(uow: UnitOfWork, t: Translator, config: CoreConfig, reminder: Reminder, now: datetime) -> None:
    """A re-alert falls due: alert again (and the head from the escalation on), or stop."""
    case = await uow.casework.get(reminder.case_id) if reminder.case_id is not None else None  # type: ignore[attr-defined]
    if case is None or case.is_closed or not case.urgent or case.acknowledged_at is not None:
        await uow.reminders.finish(reminder.id, "cancelled", now)  # type: ignore[attr-defined]
        return
    number = reminder.level
    since = datetime.fromisoformat(reminder.data.get("since") or case.created_at.isoformat())
    minutes = max(1, round((now - since).total_seconds() / 60))
    people = await duty.officers_on_duty(uow, config, case, now)
    escalate = number >= config.urgent_escalate_after
    if escalate:
        police = await duty.ward_police(uow, config, case.commune_unit_id)
        people = sorted(set(people) | set(await uow.staff.holders(police, [HEAD])))  # type: ignore[attr-defined]
    for contact in await uow.staff.contacts(people):  # type: ignore[attr-defined]
        text = t("alert.urgent.again", contact.language, code=case.code, minutes=minutes,
                 field=t(f"field.{case.field}", contact.language), summary=intake.preview(case.summary))
        buttons = intake.case_buttons(t, contact.language, case)
        await uow.outbox.add(Outgoing(contact.platform, contact.chat_id, Reply(text, buttons),
                                      dedupe_key=f"urgent:{reminder.id}:{number}:{contact.person_id}:{contact.platform}",
                                      urgent=True), now)
    if config.alert_chat_id:
        title = t("alert.urgent.again_title", DEFAULT_LANGUAGE, minutes=minutes)
        await uow.outbox.add(_group_alert(t, config, case, "", f"urgent:{reminder.id}:{number}:group", title), now)
    kind = "escalated" if number == config.urgent_escalate_after else "realerted"
    await uow.cases.add_event(case.id, actor_id=None, kind=kind,
                              data={"level": number, "to": "head" if escalate else "on_duty"}, at=now)
    await uow.reminders.reschedule(reminder.id, now + config.urgent_realert, number + 1, now)  # type: ignore[attr-defined]
    log.info("urgent re-alert case=%s level=%d people=%d escalated=%s", case.code, number, len(people), escalate)


async def acknowledged(uow: UnitOfWork, t: Translator, config: CoreConfig, case: Case, who: str,
                       now: datetime) -> list[Outgoing]:
    """Someone acknowledged: no more re-alerts, and the alert group learns who and when."""
    stopped = await uow.reminders.cancel(case.id, URGENT_ALERT, now)  # type: ignore[attr-defined]
    if not case.urgent or not config.alert_chat_id:
        return []
    log.info("urgent alert acknowledged case=%s re_alerts_stopped=%d", case.code, stopped)
    at = now.astimezone(ZoneInfo(config.timezone)).strftime("%H:%M %d/%m")
    text = t("alert.urgent.acknowledged", DEFAULT_LANGUAGE, code=case.code, who=who, at=at)
    return [Outgoing(config.alert_channel, config.alert_chat_id, Reply(text),
                     dedupe_key=f"alert:ack:{case.id}", urgent=True)]


# --- the Acknowledge button in the alert group ---------------------------------------------------

def is_group_acknowledge(conv: Conversation) -> bool:
    data = conv.inbound.callback or ""
    return (data.startswith(ACKNOWLEDGE_PREFIX) and conv.config.alert_chat_id is not None
            and conv.inbound.chat_id == conv.config.alert_chat_id)


async def acknowledge_from_group(conv: Conversation) -> list[Outgoing]:
    """A press in the alert group: only a police officer or head may acknowledge; the answer
    goes to the group, in Vietnamese (the group is shared)."""
    lang = DEFAULT_LANGUAGE
    uow, user = conv.uow, conv.inbound.user
    person = await uow.people.by_identity(user.platform, user.external_id)
    actor = Actor(person.id, await uow.staff.memberships(person.id)) if person else None  # type: ignore[attr-defined]
    if actor is None or not actor.is_police:
        log.warning("group acknowledge refused user=%s", user.external_id)
        return [conv.reply(Reply(conv.t("alert.urgent.police_only", lang)))]
    try:
        case_id = int((conv.inbound.callback or "").split(":")[3])
    except (IndexError, ValueError):
        return [conv.reply(Reply(conv.t("form.button_unknown", lang)))]
    case = await uow.casework.get(case_id)  # type: ignore[attr-defined]
    if case is None:
        return [conv.reply(Reply(conv.t("form.button_unknown", lang)))]
    names = await uow.staff.names([actor.person_id])  # type: ignore[attr-defined]
    if case.acknowledged_at is not None or case.is_closed:
        who = (await uow.staff.names([case.acknowledged_by]))  # type: ignore[attr-defined]
        at = (case.acknowledged_at or case.updated_at).astimezone(ZoneInfo(conv.config.timezone)).strftime("%H:%M %d/%m")
        return [conv.reply(Reply(conv.t("alert.urgent.already", lang, code=case.code,
                                        who=who.get(case.acknowledged_by, "—"), at=at)))]
    change = wf.acknowledge(case, actor.person_id, conv.now)
    updated = await uow.casework.apply(case, change.values, conv.now)  # type: ignore[attr-defined]
    await uow.cases.add_event(case.id, actor_id=actor.person_id, kind=change.event,
                              data={**change.data, "from": "alert_group"}, at=conv.now)
    log.info("case action code=%s action=acknowledge person=%s from=alert_group", case.code, actor.person_id)
    return await acknowledged(uow, conv.t, conv.config, updated, names.get(actor.person_id, "—"), conv.now)


def _group_alert(t: Translator, config: CoreConfig, case: Case, group_name: str, dedupe_key: str,
                 title: str) -> Outgoing:
    lang = DEFAULT_LANGUAGE
    reasons = ", ".join(t(f"urgency.{reason}", lang) for reason in case.urgency_reasons) or "—"
    text = t("alert.urgent", lang, title=title, code=case.code, field=t(f"field.{case.field}", lang),
             group=group_name or "—", reasons=reasons, summary=intake.preview(case.summary))
    buttons = ((Choice(t("staff.action.acknowledge", lang), f"{ACKNOWLEDGE_PREFIX}{case.id}:{case.version}"),),)
    return Outgoing(config.alert_channel, config.alert_chat_id or "", Reply(text, buttons), dedupe_key=dedupe_key,
                    urgent=True)

