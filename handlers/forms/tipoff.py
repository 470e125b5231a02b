"""The crime tip-off form (báo tin, tố giác tội phạm): what, when, where, who, evidence, happening now.

The resident chooses anonymous or confidential before the form (handlers/tipoffs.py), so each
mode has its own spec: only a confidential reporter is asked for a phone number, and that
number is sealed with the rest of their identity at submission, never put on the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.forms.dispute import ContactStep, FilesStep, WhereStep, _pairs
from handlers.forms.engine import Accept, FormContext, FormSpec, Goto, Invalid
from handlers.forms.steps import ChoiceStep, Rows, TextStep
from handlers.messages import Choice, Inbound, ShareRequest

ANONYMOUS, CONFIDENTIAL = "anonymous", "confidential"
MODE_KEY = "mode"
MAX_WHAT, MAX_WHEN, MAX_WHO = 2000, 200, 500
YES, NO = "yes", "no"


@dataclass(frozen=True)
class TipoffSummaryStep:
    """The answers, Send, and a button to change each one."""

    editable: tuple[str, ...]
    name: str = "summary"
    title_key: str = "tipoff.step.summary.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        rows: Rows = [[Choice(ctx("tipoff.step.summary.send"), "ok")]]
        rows.extend(_pairs([Choice(ctx(f"tipoff.step.summary.edit.{name}"), f"e{name}") for name in self.editable]))
        return summary_text(answers, ctx), rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "ok":
            return Accept({})
        if value and value.startswith("e") and value[1:] in self.editable:
            return Goto(value[1:])
        return Invalid(ctx("step.summary.invalid"))


def summary_text(answers: dict[str, Any], ctx: FormContext) -> str:
    where = [answers["address"]] if answers.get("address") else []
    if answers.get("latitude") is not None:
        where.append(ctx("summary.location", lat=f"{answers['latitude']:.5f}", lon=f"{answers['longitude']:.5f}"))
    lines = [
        ctx("tipoff.step.summary.prompt"),
        "",
        ctx("tipoff.summary.mode", value=ctx(f"tipoff.mode.{answers[MODE_KEY]}")),
        ctx("tipoff.summary.what", value=answers.get("description", "")),
        ctx("tipoff.summary.when", value=answers.get("when", "")),
        ctx("summary.where", value="; ".join(where)),
        ctx("tipoff.summary.who", value=answers.get("who") or ctx("tipoff.summary.unknown")),
        ctx("summary.files", count=len(answers.get("files") or [])),
        ctx("tipoff.summary.now", value=ctx(f"tipoff.now.{answers.get('happening_now', NO)}")),
    ]
    if answers[MODE_KEY] == CONFIDENTIAL:
        lines.append(ctx("summary.phone", value=answers.get("phone") or ctx("summary.phone_none")))
    return "\n".join(lines)


def _steps(mode: str) -> tuple:
    common = (
        TextStep("what", "tipoff.step.what.title", "tipoff.step.what.prompt", "description", max_length=MAX_WHAT),
        TextStep("when", "tipoff.step.when.title", "tipoff.step.when.prompt", "when", max_length=MAX_WHEN),
        WhereStep(),
        TextStep("who", "tipoff.step.who.title", "tipoff.step.who.prompt", "who", max_length=MAX_WHO, optional=True),
        FilesStep(),
        ChoiceStep("now", "tipoff.step.now.title", "tipoff.step.now.prompt", "happening_now", codes=(YES, NO),
                   label_prefix="tipoff.now."),
    )
    contact = (ContactStep(),) if mode == CONFIDENTIAL else ()
    editable = tuple(step.name for step in common + contact)
    return common + contact + (TipoffSummaryStep(editable=editable),)


ANONYMOUS_FORM = FormSpec(name="tipoff_anonymous", steps=_steps(ANONYMOUS), summary_step="summary")
CONFIDENTIAL_FORM = FormSpec(name="tipoff_confidential", steps=_steps(CONFIDENTIAL), summary_step="summary")
FORM_OF_MODE = {ANONYMOUS: ANONYMOUS_FORM, CONFIDENTIAL: CONFIDENTIAL_FORM}
FORMS: dict[str, FormSpec] = {spec.name: spec for spec in FORM_OF_MODE.values()}
