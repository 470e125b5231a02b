"""The short forms staff fill in to move a case through the 5 steps (one form per action).

Each form only collects answers; `handlers/case_actions.py` checks them against the workflow
and the person's rights when the form is complete, so a form left open while the case moved
on cannot write anything the case no longer allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.domain import workflow as wf
from handlers.domain.model import DISPUTE_FIELDS
from handlers.forms.engine import Accept, FormContext, FormSpec, Invalid
from handlers.forms.steps import ChoiceStep, DateStep, Rows, TextStep, lead, rows_of
from handlers.messages import Choice, Inbound, ShareRequest

PREFIX = "case."
MEDIATION_FLAG = "_mediation"
TARGETS = "_targets"
INTERVENTION_OPTIONS = "_interventions"
YES, NO = "yes", "no"
# The people count as the resident form offers it, with the number kept for each range.
PEOPLE_CHOICES = (("2", "1-2"), ("5", "3-5"), ("10", "6-10"), ("11", "10+"))
MAX_PEOPLE = 100_000


@dataclass(frozen=True)
class PeopleCountStep:
    """How many people are involved: a range button or a typed number; ends the form."""

    name: str = "people"
    title_key: str = "actions.classify.people.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        choices = [Choice(ctx(f"people.{label}"), value) for value, label in PEOPLE_CHOICES]
        return lead(answers, ctx) + ctx("actions.classify.people.prompt"), rows_of(choices, 4), None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value in {v for v, _ in PEOPLE_CHOICES}:
            return Accept({"people": int(value)})
        typed = (inbound.text or "").strip() if value is None else ""
        if re.fullmatch(r"\d{1,6}", typed) and 1 <= int(typed) <= MAX_PEOPLE:
            return Accept({"people": int(typed)})
        return Invalid(ctx("actions.classify.people.invalid", example="4"))


def _not_a_successful_mediation(answers: dict[str, Any]) -> bool:
    return not (answers.get("outcome") == wf.SUCCESSFUL and answers.get(MEDIATION_FLAG))


def _not_a_transfer(answers: dict[str, Any]) -> bool:
    return answers.get("intervention") != wf.TRANSFER


def _text(name: str, form: str, max_length: int = 1000, optional: bool = False) -> TextStep:
    return TextStep(name, f"actions.{form}.{name}.title", f"actions.{form}.{name}.prompt", name,
                    max_length=max_length, optional=optional)


CLASSIFY_FORM = FormSpec(
    name=PREFIX + "classify",
    steps=(
        ChoiceStep("field", "actions.classify.field.title", "actions.classify.field.prompt", "field",
                   codes=DISPUTE_FIELDS, label_prefix="field."),
        ChoiceStep("nature", "actions.classify.nature.title", "actions.classify.nature.prompt", "nature",
                   codes=wf.NATURES, label_prefix="workflow.nature.", columns=1),
        ChoiceStep("complexity", "actions.classify.complexity.title", "actions.classify.complexity.prompt",
                   "complexity", codes=wf.COMPLEXITIES, label_prefix="workflow.complexity."),
        ChoiceStep("urgent", "actions.classify.urgent.title", "actions.classify.urgent.prompt", "urgent",
                   codes=(YES, NO), label_prefix="actions.answer."),
        PeopleCountStep(),
    ),
    summary_step="people",
)

NOTE_FORM = FormSpec(name=PREFIX + "note", steps=(_text("text", "note"),), summary_step="text")

PARTY_FORM = FormSpec(
    name=PREFIX + "party",
    steps=(
        _text("name", "party", max_length=200),
        ChoiceStep("role", "actions.party.role.title", "actions.party.role.prompt", "role",
                   codes=wf.PARTY_ROLES, label_prefix="actions.party_role."),
        _text("contact", "party", max_length=200, optional=True),
    ),
    summary_step="contact",
)

PLAN_FORM = FormSpec(
    name=PREFIX + "plan",
    steps=(
        ChoiceStep("intervention", "actions.plan.intervention.title", "actions.plan.intervention.prompt",
                   "intervention", options_key=INTERVENTION_OPTIONS, columns=1, finish_when=_not_a_transfer),
        _text("transfer_to", "plan", max_length=500),
    ),
    summary_step="transfer_to",
)

ASSIGN_FORM = FormSpec(
    name=PREFIX + "assign",
    steps=(ChoiceStep("target", "actions.assign.target.title", "actions.assign.target.prompt", "target",
                      options_key=TARGETS),),
    summary_step="target",
)

SESSION_FORM = FormSpec(
    name=PREFIX + "session",
    steps=(
        DateStep("held_on", "actions.session.held_on.title", "actions.session.held_on.prompt", "held_on",
                 quick=(0, -1), earliest=-365, latest=90),
        _text("place", "session", max_length=300),
        _text("mediators", "session", max_length=300),
        _text("note", "session", optional=True),
    ),
    summary_step="note",
)

OUTCOME_FORM = FormSpec(
    name=PREFIX + "outcome",
    steps=(
        ChoiceStep("outcome", "actions.outcome.outcome.title", "actions.outcome.outcome.prompt", "outcome",
                   codes=wf.OUTCOMES, label_prefix="actions.outcome_value.", columns=1,
                   finish_when=_not_a_successful_mediation),
        # The record of successful mediation, Luật Hòa giải ở cơ sở 2013, Điều 24.
        *(_text(part, "outcome") for part in wf.RECORD_PARTS),
    ),
    summary_step=wf.RECORD_PARTS[-1],
)

COMMITMENT_FORM = FormSpec(
    name=PREFIX + "commitment",
    steps=(
        _text("text", "commitment"),
        DateStep("check_on", "actions.commitment.check_on.title", "actions.commitment.check_on.prompt",
                 "check_on", quick=(7, 30, 90), earliest=1, latest=730),
    ),
    summary_step="check_on",
)

REOPEN_FORM = FormSpec(name=PREFIX + "reopen", steps=(_text("reason", "reopen"),), summary_step="reason")

CASE_FORMS: tuple[FormSpec, ...] = (
    CLASSIFY_FORM, NOTE_FORM, PARTY_FORM, PLAN_FORM, ASSIGN_FORM, SESSION_FORM, OUTCOME_FORM,
    COMMITMENT_FORM, REOPEN_FORM,
)
