"""Acting on a case from its card: quick actions at once, the others through a short form.

Rights are checked when the action is offered, when its form starts and again when it is
written, here in the core, whatever the platform. Moves that change the case row carry the
version the person saw: if someone else changed the case meanwhile, nothing is written and
the person is shown the new state (optimistic locking). Additions that change nothing on the
case (a note, a party, a session, a commitment) only need the move to be valid now.
Every write is a case event; the reporter is told in plain words when the step or status
changes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from handlers import casework, checkins, intake, notify, step_deadlines, urgent
from handlers.domain import access
from handlers.domain import workflow as wf
from handlers.domain.model import Case, FormSession
from handlers.domain.roles import Actor
from handlers.forms import engine
from handlers.forms.case_forms import (
    ASSIGN_FORM, CASE_FORMS, CLASSIFY_FORM, COMMITMENT_FORM, INTERVENTION_OPTIONS, MEDIATION_FLAG, NOTE_FORM,
    OUTCOME_FORM, PARTY_FORM, PLAN_FORM, REOPEN_FORM, SESSION_FORM, TARGETS, YES,
)
from handlers.forms.engine import FormContext, FormSpec
from handlers.forms.steps import CASE_CODE, as_date
from handlers.messages import Outgoing

if TYPE_CHECKING:
    from handlers.services import Conversation

log = logging.getLogger("hoagiai.case_actions")

QUICK_ACTIONS = (access.ACKNOWLEDGE, access.TAKE, access.VERIFY, access.CLOSE)
FORM_OF_ACTION: dict[str, FormSpec] = {
    access.CLASSIFY: CLASSIFY_FORM, access.NOTE: NOTE_FORM, access.PARTY: PARTY_FORM, access.PLAN: PLAN_FORM,
    access.ASSIGN: ASSIGN_FORM, access.SESSION: SESSION_FORM, access.OUTCOME: OUTCOME_FORM,
    access.COMMITMENT: COMMITMENT_FORM, access.REOPEN: REOPEN_FORM,
}
ACTION_OF_FORM = {spec.name: action for action, spec in FORM_OF_ACTION.items()}
FORMS: dict[str, FormSpec] = {spec.name: spec for spec in CASE_FORMS}
CASE_ID, VERSION = "_case", "_version"
TARGET_ICONS = {"officer": "👮", "department": "🏢", "team": "🤝"}
MAX_LABEL = 40


def form_context(conv: Conversation) -> FormContext:
    return FormContext(lang=conv.lang, t=conv.t, now=conv.now, zone=conv.config.timezone)


# --- offering and starting -------------------------------------------------------------------

async def _checked(conv: Conversation, actor: Actor, action: str, case_id: int) -> Case | None:
    """The case if the actor may do `action` on it, else None (the caller refuses and logs)."""
    case = await conv.uow.casework.get(case_id)
    if case is None or not access.can_view(actor, case) or not access.can(actor, action, case):
        return None
    return case


async def quick(conv: Conversation, actor: Actor, action: str, case_id: int, version: int) -> list[Outgoing]:
    """Acknowledge, take, finish verification, close: one press, no form."""
    case = await _checked(conv, actor, action, case_id) if action in QUICK_ACTIONS else None
    if case is None:
        return casework.refused(conv, actor, action, str(case_id))
    if case.version != version:
        return [await casework.card(conv, actor, case, conv("staff.case_changed"))]
    try:
        change = await _quick_change(conv, actor, action, case)
    except wf.WorkflowError as error:
        return [await casework.card(conv, actor, case, conv(error.key, **error.params))]
    return await _write(conv, actor, action, case, change)


async def _quick_change(conv: Conversation, actor: Actor, action: str, case: Case) -> wf.Change:
    if action == access.ACKNOWLEDGE:
        return wf.acknowledge(case, actor.person_id, conv.now)
    if action == access.TAKE:
        return wf.take(case, actor.person_id, conv.now)
    facts = await conv.uow.casework.facts(case.id)
    if action == access.VERIFY:
        return wf.complete_verification(case, facts)
    return wf.close(case, facts, conv.now)


async def start(conv: Conversation, actor: Actor, action: str, case_id: int, version: int) -> list[Outgoing]:
    """Open the action's form on the case the person is looking at."""
    spec = FORM_OF_ACTION.get(action)
    case = await _checked(conv, actor, action, case_id) if spec is not None else None
    if case is None or spec is None:
        return casework.refused(conv, actor, action, str(case_id))
    if case.version != version:
        return [await casework.card(conv, actor, case, conv("staff.case_changed"))]
    if not access.possible(action, case, actor):
        return [await casework.card(conv, actor, case, conv("actions.not_now"))]
    open_form = await conv.uow.forms.active(actor.person_id)
    if open_form is not None and open_form.form not in FORMS and open_form.expires_at > conv.now:
        return [casework.say(conv, conv("actions.finish_report_first"))]
    if open_form is not None:
        await conv.uow.forms.delete(open_form.id)  # type: ignore[arg-type]
    initial = {CASE_CODE: case.code, CASE_ID: case.id, VERSION: case.version, **await _initial(conv, action, case)}
    result = engine.start(spec, secrets.token_hex(3), form_context(conv), initial)
    await conv.uow.forms.save(FormSession(
        id=None, person_id=actor.person_id, form=spec.name, step=result.step, answers=result.answers,
        expires_at=conv.now + conv.config.form_ttl, created_at=conv.now, updated_at=conv.now,
        platform=conv.inbound.platform, chat_id=conv.inbound.chat_id,
    ))
    return [conv.reply(reply) for reply in result.replies]


async def _initial(conv: Conversation, action: str, case: Case) -> dict[str, Any]:
    """What a form shows besides its questions: the current values, the options of this case."""
    if action == access.CLASSIFY:
        return {"_now_field": case.field, "_now_nature": case.nature, "_now_complexity": case.complexity,
                "_now_urgent": YES if case.urgent else "no"}
    if action == access.PLAN:
        allowed = wf.CRIME_INTERVENTIONS if case.nature == wf.CRIME else set(wf.INTERVENTIONS) - {wf.CRIMINAL_REFERRAL}
        return {INTERVENTION_OPTIONS: [[code, conv(f"actions.intervention.{code}")]
                                       for code in wf.INTERVENTIONS if code in allowed],
                "_now_intervention": case.intervention}
    if action == access.ASSIGN:
        return {TARGETS: await _targets(conv, case)}
    if action == access.OUTCOME:
        return {MEDIATION_FLAG: case.intervention == wf.MEDIATION}
    return {}


async def _targets(conv: Conversation, case: Case) -> list[list[str]]:
    """Officers ("p<id>"), departments and mediation teams ("u<id>") of the case's ward."""
    if case.commune_unit_id is None:
        return []
    targets = await conv.uow.casework.assignment_targets(case.commune_unit_id)
    names = await conv.uow.staff.names([person_id for person_id, _ in targets["officer"]])
    options = [[f"p{person_id}", _label("officer", names.get(person_id, f"#{person_id}"))]
               for person_id, _ in targets["officer"]]
    for kind in ("department", "team"):
        options += [[f"u{unit_id}", _label(kind, name)] for unit_id, name in targets[kind]]
    return options


def _label(kind: str, name: str) -> str:
    """A button label short enough for every platform's buttons."""
    text = f"{TARGET_ICONS[kind]} {name}"
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1].rstrip() + "…"


async def card_after_cancel(conv: Conversation, answers: dict[str, Any], note: str) -> list[Outgoing] | None:
    """The card of the case whose form was cancelled, if the person may still see it."""
    actor = await casework.actor_of(conv)
    case = await conv.uow.casework.get(int(answers.get(CASE_ID, 0)))
    if case is None or not access.can_view(actor, case):
        return None
    return [await casework.card(conv, actor, case, note)]


# --- writing a completed form ---------------------------------------------------------------

async def finish(conv: Conversation, form_name: str, answers: dict[str, Any]) -> list[Outgoing]:
    """Check the completed form against the case as it is now, then write it."""
    action = ACTION_OF_FORM[form_name]
    actor = await casework.actor_of(conv)
    case = await _checked(conv, actor, action, int(answers[CASE_ID]))
    if case is None:
        return casework.refused(conv, actor, action, str(answers[CASE_ID]))
    try:
        change = await _form_change(conv, action, case, answers)
        if change.values and case.version != answers[VERSION]:
            return [await casework.card(conv, actor, case, conv("staff.case_changed"))]
    except wf.WorkflowError as error:
        return [await casework.card(conv, actor, case, conv(error.key, **error.params))]
    await _add_records(conv, actor, action, case, answers)
    return await _write(conv, actor, action, case, change)


async def _form_change(conv: Conversation, action: str, case: Case, answers: dict[str, Any]) -> wf.Change:
    if action == access.CLASSIFY:
        change = wf.classify(case, field_=answers["field"], nature=answers["nature"], complexity=answers["complexity"],
                             urgent=answers["urgent"] == YES, people_count=answers.get("people"))
        return await _with_lead_department(conv, case, change)
    if action == access.NOTE:
        return wf.add_note(case, answers["text"])
    if action == access.PARTY:
        return wf.add_party(case, name=answers["name"], role=answers["role"], contact=answers.get("contact"))
    if action == access.PLAN:
        return wf.choose_intervention(case, answers["intervention"], answers.get("transfer_to"))
    if action == access.ASSIGN:
        return _assignment(case, answers)
    if action == access.SESSION:
        return wf.record_session(case)
    if action == access.OUTCOME:
        record = {part: answers.get(part) or "" for part in wf.RECORD_PARTS}
        return wf.record_outcome(case, answers["outcome"], await conv.uow.casework.facts(case.id), record)
    if action == access.COMMITMENT:
        return wf.add_commitment(case, answers["text"])
    return wf.reopen(case, answers["reason"])


async def _with_lead_department(conv: Conversation, case: Case, change: wf.Change) -> wf.Change:
    """A new field may move the lead to another department (routing by field)."""
    if change.values.get("field") == case.field:
        return change
    lead_unit_id = await intake.lead_unit_for(conv, change.values["field"], case.commune_unit_id)
    if lead_unit_id == case.lead_unit_id:
        return change
    return replace(change, values={**change.values, "lead_unit_id": lead_unit_id},
                   data={**change.data, "lead_unit_id": [case.lead_unit_id, lead_unit_id]})


def _assignment(case: Case, answers: dict[str, Any]) -> wf.Change:
    target = answers["target"]
    if target not in {value for value, _ in answers.get(TARGETS) or []}:
        raise wf.WorkflowError("workflow.invalid_choice", what="assignee")
    number = int(target[1:])
    return wf.assign(case, person_id=number) if target[0] == "p" else wf.assign(case, unit_id=number)


async def _add_records(conv: Conversation, actor: Actor, action: str, case: Case, answers: dict[str, Any]) -> None:
    """The rows around the case that some actions add (parties, sessions, commitments)."""
    work, by, at = conv.uow.casework, actor.person_id, conv.now
    if action == access.PARTY:
        await work.add_party(case.id, name=answers["name"], role=answers["role"], contact=answers.get("contact"),
                             by=by, at=at)
    elif action == access.SESSION:
        await work.add_session(case.id, held_on=as_date(answers["held_on"]), place=answers["place"],
                               mediators=answers["mediators"], note=answers.get("note"), by=by, at=at)
    elif action == access.COMMITMENT:
        await work.add_commitment(case.id, text=answers["text"], check_on=as_date(answers["check_on"]), by=by, at=at)


async def _write(conv: Conversation, actor: Actor, action: str, case: Case, change: wf.Change) -> list[Outgoing]:
    """Apply the change (version-checked) with the open step's new deadline, record the event,
    keep the step reminder in line, tell the reporter, show the card."""
    values = change.values
    if values:
        values = {**values, **step_deadlines.deadline_values(conv.config, case, replace(case, **values), conv.now)}
    updated = await conv.uow.casework.apply(case, values, conv.now) if values else case
    await step_deadlines.sync_reminder(conv, case, updated)
    await conv.uow.cases.add_event(case.id, actor_id=actor.person_id, kind=change.event, data=change.data, at=conv.now)
    log.info("case action code=%s action=%s person=%s version=%d", case.code, action, actor.person_id, updated.version)
    replies = await notify.case_changed(conv, case, updated) + await _alerts(conv, actor, case, updated)
    return [await casework.card(conv, actor, updated, conv(f"staff.done.{action}"))] + replies


async def _alerts(conv: Conversation, actor: Actor, before: Case, after: Case) -> list[Outgoing]:
    """A case marked urgent starts its alerts; an acknowledgement stops them; a successful
    mediation schedules its check-ins."""
    if urgent.needs_alert(before, after):
        group = await conv.uow.units.get(after.group_unit_id) if after.group_unit_id is not None else None
        return await urgent.start(conv.uow, conv.t, conv.config, after, group.name if group else "", conv.now)
    if checkins.succeeded(before, after):
        return await checkins.schedule(conv, after)
    if before.acknowledged_at is None and after.acknowledged_at is not None:
        names = await conv.uow.staff.names([actor.person_id])
        return await urgent.acknowledged(conv.uow, conv.t, conv.config, after, names.get(actor.person_id, "—"), conv.now)
    return []
