"""Use cases of a conversation: consent, language, menu, the report form, status.

Every function runs inside the caller's unit of work and returns the replies as `Outgoing`
messages; `dispatch` records the update, writes them to the outbox and commits.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers import (
    case_actions, casework, checkins, duty, intake, monthly, notify, onboarding, privacy, step_deadlines, tipoff_police,
    tipoffs, undelivered, urgent, ward_reports,
)
from handlers.forms import tipoff as tipoff_form
from handlers.forms.monthly import MONTHLY_FORM
from handlers.domain import routing
from handlers.domain.calendar import QuietHours, WorkCalendar
from handlers.domain.deadlines import Rule
from handlers.domain.invites import looks_like_code
from handlers.domain.model import CASE_KIND_DISPUTE, FormSession, NewCase, Person, Unit
from handlers.domain.roles import LEADER, Actor
from handlers.domain.triage import Urgency, assess_urgency
from handlers.forms import engine
from handlers.forms.dispute import (
    ALLOWED_GROUPS, DISPUTE_FORM, DISPUTE_FORMS, ON_BEHALF_FORM, ON_BEHALF_ONE_GROUP_FORM,
)
from handlers.forms.engine import FormContext, FormSpec
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES
from handlers.messages import Choice, FileRef, Inbound, Outgoing, Reply
from handlers.ports import Translator, UnitOfWork

log = logging.getLogger("hoagiai.services")

CONSENT_VERSION = "2026-11"
FORMS: dict[str, FormSpec] = {DISPUTE_FORM.name: DISPUTE_FORM, **case_actions.FORMS}
FORMS.update({form.name: form for form in DISPUTE_FORMS})  # a leader's reports for their group
FORMS[MONTHLY_FORM.name] = MONTHLY_FORM
FORMS.update(tipoff_form.FORMS)  # a resident's crime tip-off, anonymous or confidential
FORMS.update(tipoff_police.FORMS)  # an officer's reply to a tip-off's reporter, the head's reveal


@dataclass(frozen=True)
class CoreConfig:
    form_ttl: timedelta = timedelta(hours=24)
    alert_chat_id: str | None = None
    alert_channel: str = "telegram"
    ward_code: str | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    # Deadline rules and the working-day calendar; loaded from files at the edge (scheduler/rules.py).
    rules: tuple[Rule, ...] = ()
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    # When unasked, non-urgent messages to residents and leaders wait (handlers/quiet.py).
    quiet_hours: QuietHours = QuietHours()
    # Urgent cases: re-alerted this often until someone acknowledges; the head is told from the
    # `urgent_escalate_after`-th re-alert on (handlers/urgent.py).
    # After the overdue notice: who is told next and how many working days later (the rules file's
    # `escalation:`; handlers/reminders.py).
    escalation: tuple[tuple[str, int], ...] = (("officers", 1), ("head", 1))
    urgent_realert: timedelta = timedelta(minutes=10)
    urgent_escalate_after: int = 3
    # Days after a successful mediation when the leader (and the parties who agreed) are asked
    # whether the agreement holds (handlers/checkins.py).
    checkin_days: tuple[int, ...] = (7, 30, 90)
    # An abandoned form is reminded once, this long before it expires (handlers/form_reminders.py).
    form_reminder_before: timedelta = timedelta(hours=3)
    # Residential groups' monthly update (handlers/domain/periods.py): the month runs from
    # `monthly_first_day` of the previous month; due before `monthly_due_day`; leaders who have
    # not sent it are reminded on `monthly_reminder_days` of the month.
    monthly_first_day: int = 15
    monthly_due_day: int = 20
    monthly_reminder_days: tuple[int, ...] = (15, 18, 19)
    # The ward's report: a case open longer than this at the end of the period is prolonged.
    prolonged_days: int = 30
    # Closed cases lose their reporter, contacts and place after this many years (scheduler/retention.py).
    retention_years: int = 5


@dataclass
class WardCache:
    """The ward and its groups change rarely; reading them on every form step is waste."""

    ttl: timedelta = timedelta(seconds=60)
    _entries: dict[str | None, tuple[datetime, Unit | None, tuple[Unit, ...]]] = field(default_factory=dict)

    async def get(self, uow: UnitOfWork, ward_code: str | None, now: datetime) -> tuple[Unit | None, tuple[Unit, ...]]:
        cached = self._entries.get(ward_code)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        ward = await uow.units.ward(ward_code)
        groups = tuple(await uow.units.groups(ward.id)) if ward else ()
        if groups:  # an unconfigured ward is asked again next time
            self._entries[ward_code] = (now + self.ttl, ward, groups)
        return ward, groups


@dataclass(frozen=True)
class Conversation:
    """What one update is about: who, where to answer, and in which language."""

    inbound: Inbound
    uow: UnitOfWork
    t: Translator
    now: datetime
    config: CoreConfig
    person: Person | None
    lang: str
    wards: WardCache = field(default_factory=WardCache)

    def __call__(self, key: str, **params: Any) -> str:
        return self.t(key, self.lang, **params)

    def reply(self, reply: Reply, **options: Any) -> Outgoing:
        return Outgoing(channel=self.inbound.platform, chat_id=self.inbound.chat_id, reply=reply, **options)

    def say(self, text: str, buttons: tuple[tuple[Choice, ...], ...] = ()) -> Outgoing:
        return self.reply(Reply(text=text, buttons=buttons), ephemeral=self.person is None)


# --- before consent: nothing about the person is stored -------------------------------------

def language_picker(conv: Conversation, key: str = "welcome", invite: str = "") -> list[Outgoing]:
    """`invite`: a code from a deep link, carried through the consent buttons until accepted."""
    tail = f":{invite}" if invite else ""
    buttons = ((Choice(conv.t("language.name", "vi"), f"lang:vi{tail}"),
                Choice(conv.t("language.name", "en"), f"lang:en{tail}")),)
    text = "\n\n".join(conv.t(key, lang) for lang in LANGUAGES)
    return [conv.say(text, buttons)]


def consent_notice(conv: Conversation, lang: str, invite: str = "") -> list[Outgoing]:
    tail = f":{invite}" if invite else ""
    buttons = ((Choice(conv.t("consent.accept", lang), f"c:y:{lang}{tail}"),
                Choice(conv.t("consent.decline", lang), f"c:n:{lang}")),)
    return [conv.say(conv.t("consent.notice", lang), buttons)]


async def before_consent(conv: Conversation) -> list[Outgoing]:
    data = conv.inbound.callback or ""
    parts = data.split(":")
    if parts[0] == "lang" and len(parts) in (2, 3) and parts[1] in LANGUAGES:
        return consent_notice(conv, parts[1], _invite_part(parts, 2))
    if parts[0] == "c" and len(parts) in (3, 4) and parts[2] in LANGUAGES:
        lang = parts[2]
        if parts[1] == "y":
            return await accept_consent(conv, lang, _invite_part(parts, 3))
        if parts[1] == "n":
            return [conv.say(conv.t("consent.declined", lang))]
    command, argument = command_and_argument(conv.inbound)
    if command == "privacy":
        return await privacy.show(conv)
    return language_picker(conv, invite=argument if command == "start" and looks_like_code(argument) else "")


def _invite_part(parts: list[str], index: int) -> str:
    return parts[index] if len(parts) > index and looks_like_code(parts[index]) else ""


async def accept_consent(conv: Conversation, lang: str, invite_code: str = "") -> list[Outgoing]:
    user = conv.inbound.user
    if invite_code:
        linked = await onboarding.link_new_account(conv, invite_code, lang, CONSENT_VERSION)
        if linked is not None:
            return linked
    person = await conv.uow.people.create(
        platform=user.platform, external_id=user.external_id, display_name=user.display_name,
        language=lang, consent_version=CONSENT_VERSION, now=conv.now,
    )
    conv = _with_person(conv, person)
    if invite_code:
        return await onboarding.redeem(conv, invite_code)
    return await menu(conv, conv("consent.thanks"))


def _with_person(conv: Conversation, person: Person) -> Conversation:
    return replace(conv, person=person, lang=person.language)


# --- after consent --------------------------------------------------------------------------

MENU_ACTIONS = {"m:r": "report", "m:s": "status", "m:h": "help", "m:l": "language", "m:g": "report_group",
                "m:c": "start", "m:x": "cancel", "m:p": "privacy", tipoffs.ENTRY: "tipoff",
                tipoffs.CHECK: "tipoff_check"}
COMMANDS = {"/start": "start", "/report": "report", "/status": "status", "/help": "help",
            "/cancel": "cancel", "/language": "language", "/menu": "start",
            "/cases": "cases", "/case": "case", "/history": "history", "/duty": "duty",
            "/undelivered": "undelivered", "/monthly": "monthly", "/summary": "summary", "/stats": "stats",
            "/privacy": "privacy", "/tipoff": "tipoff", "/tinbao": "tipoff", "/check": "tipoff_check",
            "/tracuu": "tipoff_check"}


def menu_buttons(conv: Conversation) -> tuple[tuple[Choice, ...], ...]:
    return (
        (Choice(conv("menu.report"), "m:r"), Choice(conv("menu.status"), "m:s")),
        (Choice(conv("tipoff.menu.new"), tipoffs.ENTRY), Choice(conv("tipoff.menu.check"), tipoffs.CHECK)),
        (Choice(conv("menu.help"), "m:h"), Choice(conv("menu.language"), "m:l")),
        (Choice(conv("privacy.menu"), "m:p"),),
    )


async def menu(conv: Conversation, note: str | None = None) -> list[Outgoing]:
    """The resident's actions, then those of every other role the person holds."""
    lines = [note] if note else []
    buttons = menu_buttons(conv)
    if conv.person is not None:
        actor = await casework.actor_of(conv)
        if actor.is_staff:
            buttons = casework.staff_menu_rows(conv, actor) + _leader_rows(conv, actor) + buttons
            lines.append(casework.roles_line(conv, actor) or "")
    lines.append(conv("menu.prompt"))
    return [conv.say("\n\n".join(line for line in lines if line), buttons)]


def _leader_rows(conv: Conversation, actor: Actor) -> tuple[tuple[Choice, ...], ...]:
    """A neighbourhood leader reports disputes found in their area for the residents, and sends
    the group's monthly update."""
    if not actor.has(LEADER):
        return ()
    return ((Choice(conv("menu.report_group"), "m:g"), Choice(conv("monthly.menu"), monthly.START)),)


def command_of(inbound: Inbound) -> str | None:
    """The command in a message ("/start@hoagiai_bot payload" -> "start"), or None."""
    return command_and_argument(inbound)[0]


def command_and_argument(inbound: Inbound) -> tuple[str | None, str]:
    """("start", "payload") for "/start@hoagiai_bot payload"; menu buttons count as commands."""
    if inbound.callback is not None:
        return MENU_ACTIONS.get(inbound.callback), ""
    text = (inbound.text or "").strip()
    if not text.startswith("/"):
        return None, ""
    word, _, argument = text.partition(" ")
    return COMMANDS.get(word.split("@")[0].lower(), "unknown"), argument.strip()


async def after_consent(conv: Conversation) -> list[Outgoing]:
    assert conv.person is not None
    session = await conv.uow.forms.active(conv.person.id)
    expired_note = None
    if session is not None and session.expires_at <= conv.now:
        await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
        session, expired_note = None, conv("form.expired")

    data = conv.inbound.callback
    if (data is not None or command_of(conv.inbound) is not None) and not (data or "").startswith(tipoffs.PREFIX):
        session = await tipoffs.end_thread(conv, session)  # any other action ends adding to a tip-off
    if data is not None and data.startswith(tipoffs.PREFIX):
        return await _tipoff_callback(conv, data, session)
    if data is not None and data.startswith("lang:"):
        return await change_language(conv, data.removeprefix("lang:").split(":")[0], session)
    if data is not None and (data == monthly.START or data.startswith(monthly.START + ":")):
        if session is not None and session.form != MONTHLY_FORM.name:
            return await _resume(conv, session, conv("form.already_open"))
        return await monthly.begin(conv, data)
    if data is not None and data.startswith(checkins.ANSWER_PREFIX):
        return await checkins.answer(conv, data)
    if data is not None and data.startswith(checkins.CONSENT_PREFIX):
        return await checkins.consent(conv, data)
    if data is not None and data.startswith("c:"):
        return await menu(conv, expired_note)  # consent was given already; an old notice was pressed
    if data is not None and data.startswith(casework.PREFIX):
        return await casework.handle_callback(conv, data)
    if data is not None and data.startswith(privacy.PREFIX):
        return await privacy.handle_callback(conv, data)

    command, argument = command_and_argument(conv.inbound)
    if command == "start" and argument and looks_like_code(argument):
        return await onboarding.redeem(conv, argument)
    if command == "cases":
        return await casework.cases_command(conv)
    if command == "case":
        return await casework.open_by_code(conv, argument)
    if command == "history":
        return await casework.history(conv, argument)
    if command == "duty":
        return await duty.command(conv, await casework.actor_of(conv))
    if command == "monthly":
        if session is not None and session.form != MONTHLY_FORM.name:
            return await _resume(conv, session, conv("form.already_open"))
        return await monthly.begin(conv)
    if command == "undelivered":
        return await undelivered.show(conv, await casework.actor_of(conv))
    if command == "summary":
        return await ward_reports.summary(conv, await casework.actor_of(conv), argument)
    if command == "stats":
        return await ward_reports.stats(conv, await casework.actor_of(conv))
    if command == "cancel":
        return await cancel_form(conv, session)
    if command == "privacy":
        return await privacy.show(conv)
    if command == "tipoff":
        if session is not None:
            return await _resume(conv, session, conv("form.already_open"))
        return tipoffs.choose_mode(conv)
    if command == "tipoff_check":
        return await tipoffs.check(conv, argument, session) if argument else tipoffs.check_prompt(conv)
    if command == "help":
        return [conv.say(await help_text(conv))] + (await _resume(conv, session) if session else await menu(conv))
    if command == "language":
        return language_picker(conv, "language.choose")
    if command == "status":
        return await status(conv) + (await _resume(conv, session) if session else [])
    if command == "report":
        if session is not None:
            return await _resume(conv, session, conv("form.already_open"))
        return await start_form(conv, DISPUTE_FORM.name)
    if command == "report_group":
        if session is not None:
            return await _resume(conv, session, conv("form.already_open"))
        return await start_report_for_group(conv)
    if command == "start":
        return await _resume(conv, session, conv("form.resumed")) if session else await menu(conv, expired_note)
    if command == "unknown":
        return [conv.say(conv("command.unknown"))] + (await _resume(conv, session) if session else await menu(conv))

    if command is None and data is None and tipoffs.looks_like_receipt(conv.inbound.text) and (
            session is None or session.form == tipoffs.THREAD_FORM):
        return await tipoffs.check(conv, conv.inbound.text or "", session)
    if session is not None and session.form == tipoffs.THREAD_FORM:
        return await tipoffs.thread_input(conv, session)
    if session is not None:
        return await continue_form(conv, session)
    if data is not None:
        key = "form.button_stale" if data.startswith("f:") else "form.button_unknown"
        return await menu(conv, expired_note or conv(key))
    return await menu(conv, expired_note or conv("menu.not_understood"))


async def _tipoff_callback(conv: Conversation, data: str, session: FormSession | None) -> list[Outgoing]:
    """The tip-off's mode buttons, "add information" under a pushed reply, and "done"."""
    if data.startswith(tipoffs.WRITE):
        return await tipoffs.write_from_push(conv, data, session)
    if data == tipoffs.DONE:
        session = await tipoffs.end_thread(conv, session)
        return await _resume(conv, session) if session else [tipoffs.say(conv, conv("tipoff.thread.ended"), menu_buttons(conv))]
    initial = tipoffs.initial_answers(data)
    if initial is None:
        return await menu(conv, conv("form.button_unknown"))
    session = await tipoffs.end_thread(conv, session)
    if session is not None:
        return await _resume(conv, session, conv("form.already_open"))
    return await start_form(conv, tipoff_form.FORM_OF_MODE[initial[tipoff_form.MODE_KEY]].name, initial)


async def help_text(conv: Conversation) -> str:
    """The resident's help, and the staff commands for those who hold a staff role."""
    actor = await casework.actor_of(conv)
    parts = [conv("help"), conv("tipoff.help"), conv("privacy.help")]
    if actor.is_staff:
        parts.append(conv("help.staff"))
    if actor.is_police:
        parts.append(conv("help.police"))
    return "\n\n".join(parts)


async def change_language(conv: Conversation, lang: str, session: FormSession | None) -> list[Outgoing]:
    if lang not in LANGUAGES:
        return [conv.say(conv("form.button_unknown"))] + language_picker(conv, "language.choose")
    assert conv.person is not None
    await conv.uow.people.set_language(conv.person.id, lang)
    conv.person.language = lang
    conv = _with_person(conv, conv.person)
    note = conv("language.changed")
    return await _resume(conv, session, note) if session else await menu(conv, note)


async def cancel_form(conv: Conversation, session: FormSession | None) -> list[Outgoing]:
    if session is None:
        return await menu(conv, conv("form.nothing_to_cancel"))
    await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
    if session.form in case_actions.FORMS:  # back to the case the person was working on
        shown = await case_actions.card_after_cancel(conv, session.answers, conv("form.cancelled"))
        if shown is not None:
            return shown
    return await menu(conv, conv("form.cancelled"))


def _form_context(conv: Conversation, groups: tuple = ()) -> FormContext:
    return FormContext(lang=conv.lang, t=conv.t, now=conv.now, groups=groups, zone=conv.config.timezone)


async def _groups(conv: Conversation) -> tuple[Unit, ...]:
    _, groups = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    return groups


async def _resume(conv: Conversation, session: FormSession | None, note: str | None = None) -> list[Outgoing]:
    """Show the open form's current step again."""
    assert session is not None
    if session.form == tipoffs.THREAD_FORM:
        return tipoffs.thread_prompt(conv, note)
    spec = FORMS[session.form]
    result = engine.resume(spec, session.answers, session.step, _form_context(conv, await _groups(conv)), note)
    return _form_replies(conv, session.form, result.replies)


def _form_replies(conv: Conversation, form: str, replies: list[Reply]) -> list[Outgoing]:
    """A tip-off's form steps are ephemeral (handlers.tipoffs.say): the outbox forgets them once sent."""
    return [conv.reply(r, ephemeral=form in tipoff_form.FORMS) for r in replies]


async def start_form(conv: Conversation, form_name: str, initial: dict[str, Any] | None = None) -> list[Outgoing]:
    """`initial`: answers known before the first step (a leader's group)."""
    assert conv.person is not None
    spec = FORMS[form_name]
    groups = await _groups(conv)
    if not groups:
        return await menu(conv, conv("ward.not_configured"))
    result = engine.start(spec, secrets.token_hex(3), _form_context(conv, groups), initial)
    session = FormSession(
        id=None, person_id=conv.person.id, form=form_name, step=result.step, answers=result.answers,
        expires_at=conv.now + conv.config.form_ttl, created_at=conv.now, updated_at=conv.now,
        platform=conv.inbound.platform, chat_id=conv.inbound.chat_id,
    )
    await conv.uow.forms.save(session)
    return _form_replies(conv, form_name, result.replies)


async def start_report_for_group(conv: Conversation) -> list[Outgoing]:
    """A leader reports for residents of their group: the dispute form after "for whom?", with
    the group filled in, or a choice among only the groups they lead."""
    actor = await casework.actor_of(conv)
    led = [group for group in await _groups(conv) if group.id in actor.units(LEADER)]
    if not led:
        return await menu(conv, conv("report_group.no_group" if actor.has(LEADER) else "form.button_unknown"))
    if len(led) == 1:
        initial = {"group_id": led[0].id, "group_name": led[0].name}
        return await start_form(conv, ON_BEHALF_ONE_GROUP_FORM.name, initial)
    return await start_form(conv, ON_BEHALF_FORM.name, {ALLOWED_GROUPS: [group.id for group in led]})


async def continue_form(conv: Conversation, session: FormSession) -> list[Outgoing]:
    spec = FORMS[session.form]
    groups = await _groups(conv)
    if session.form in tipoff_form.FORMS and conv.inbound.files:  # evidence: metadata removed first
        cleaned = await tipoffs.clean_files(conv, keep_location=session.answers.get("latitude") is not None)
        if isinstance(cleaned, str):
            return await _resume(conv, session, conv(cleaned))
        conv = replace(conv, inbound=cleaned)
    result = engine.advance(spec, session.answers, session.step, _form_context(conv, groups), conv.inbound)
    if result.cancelled:
        return await cancel_form(conv, session)
    if result.finished:
        await conv.uow.forms.delete(session.id)  # type: ignore[arg-type]
        if session.form in case_actions.FORMS:
            return await case_actions.finish(conv, session.form, result.answers)
        if session.form == MONTHLY_FORM.name:
            return await monthly.finish(conv, result.answers)
        if session.form in tipoff_police.FORMS:
            return await tipoff_police.finish(conv, session.form, result.answers)
        if session.form in tipoff_form.FORMS:
            return await tipoffs.submit(conv, result.answers)
        return await submit_dispute(conv, result.answers)
    session.answers = {k: v for k, v in result.answers.items() if v is not None}
    session.step = result.step
    session.updated_at = conv.now
    session.expires_at = conv.now + conv.config.form_ttl
    session.platform, session.chat_id = conv.inbound.platform, conv.inbound.chat_id
    await conv.uow.forms.save(session)
    return _form_replies(conv, session.form, result.replies)


async def submit_dispute(conv: Conversation, answers: dict[str, Any]) -> list[Outgoing]:
    """The case from a finished report form (a resident's, or a leader's for their group), routed
    to its lead department and announced to the ward police."""
    assert conv.person is not None
    ward, _ = await conv.wards.get(conv.uow, conv.config.ward_code, conv.now)
    departments = await intake.departments_of(conv, ward)
    lead = routing.lead_department(answers["field"], ward, departments)
    urgency = assess_urgency(answers["description"], bool(answers.get("danger")))
    local_year = conv.now.astimezone(ZoneInfo(conv.config.timezone)).year
    deadline = step_deadlines.deadline_for(conv.config, kind=CASE_KIND_DISPUTE, step=1, urgent=urgency.urgent,
                                           intervention=None, started_at=conv.now)
    case = await conv.uow.cases.add(NewCase(
        kind=CASE_KIND_DISPUTE, field=answers["field"],
        commune_unit_id=ward.id if ward else None, group_unit_id=answers.get("group_id"),
        address=answers.get("address"), latitude=answers.get("latitude"), longitude=answers.get("longitude"),
        summary=answers["description"], people_count=_people_count(answers.get("people")),
        danger_now=bool(answers.get("danger")), urgent=urgency.urgent, urgency_reasons=list(urgency.reasons),
        reporter_id=conv.person.id, contact_phone=answers.get("phone"), created_at=conv.now,
        code_year=local_year, channel=conv.inbound.platform, lead_unit_id=lead.id if lead else None,
        step_started_at=conv.now, step_due_at=deadline.due_at if deadline else None,
        step_rule=deadline.rule_id if deadline else None,
    ))
    await step_deadlines.sync_reminder(conv, None, case)
    await conv.uow.cases.add_event(case.id, actor_id=conv.person.id, kind="created",
                                   data=_created_data(conv, urgency, answers), at=conv.now)
    log.info("case created code=%s field=%s urgent=%s reasons=%s channel=%s lead=%s on_behalf=%s",
             case.code, case.field, urgency.urgent, ",".join(urgency.reasons), conv.inbound.platform,
             lead.code if lead else None, "for_whom" in answers)
    for file in answers.get("files") or []:
        await conv.uow.cases.add_attachment(case.id, conv.inbound.platform, FileRef(**file), conv.now)
    text = conv("report.received", code=case.code)
    if urgency.urgent:
        text += "\n\n" + conv("report.urgent")
    replies = [conv.say(text, menu_buttons(conv))]
    if urgent.needs_alert(None, case):
        replies += await urgent.start(conv.uow, conv.t, conv.config, case, answers.get("group_name", ""), conv.now)
    return replies + await intake.announce_new_case(conv, case, departments, answers.get("group_name", ""))


def _created_data(conv: Conversation, urgency: Urgency, answers: dict[str, Any]) -> dict[str, Any]:
    """The `created` event's data; a leader's report says for whom they made it."""
    data: dict[str, Any] = {"urgent": urgency.urgent, "reasons": list(urgency.reasons),
                            "channel": conv.inbound.platform}
    if answers.get("for_whom"):
        data["on_behalf"] = answers["for_whom"]
    return data


def _people_count(people: str | None) -> int | None:
    return {"1-2": 2, "3-5": 5, "6-10": 10, "10+": 11}.get(people or "")


async def status(conv: Conversation) -> list[Outgoing]:
    assert conv.person is not None
    cases = await conv.uow.cases.for_reporter(conv.person.id)
    if not cases:
        return [conv.say(conv("status.none"), menu_buttons(conv))]
    zone = ZoneInfo(conv.config.timezone)
    lines = [conv("status.header")]
    for case in cases:  # in the same plain words as the messages of notify.case_changed
        lines.append(conv("notify.status_line", code=case.code, field=conv(f"field.{case.field}"),
                          state=notify.plain_state(conv.t, conv.lang, case),
                          changed=case.updated_at.astimezone(zone).strftime("%d/%m/%Y %H:%M")))
    return [conv.say("\n".join(lines), menu_buttons(conv))]


def group_chat_notice(conv: Conversation) -> list[Outgoing]:
    """The bot works in private chats only: reports must not be made in front of a group."""
    return [conv.reply(Reply(text=conv.t("group.private_only", DEFAULT_LANGUAGE)), ephemeral=True)]


def apology(conv: Conversation) -> list[Outgoing]:
    return [conv.reply(Reply(text=conv("error.sorry")), ephemeral=conv.person is None)]
