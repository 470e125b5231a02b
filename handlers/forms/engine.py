"""A pure form engine: (answers, step, input) -> (answers, step, replies).

A form spec is an ordered tuple of steps. The engine owns what every step shares: the
progress header, Back and Cancel, stale or forged buttons, content the step cannot use,
and editing one answer from the summary. Steps only parse their own input. Nothing here
does I/O, so a session restored from the database continues exactly where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from handlers.domain.model import Unit
from handlers.messages import Choice, Inbound, Reply, ShareRequest
from handlers.ports import Translator

TOKEN_KEY = "_t"  # random per form session; stale buttons carry another token
EDIT_KEY = "_edit"  # set while changing one answer from the summary


@dataclass(frozen=True)
class FormContext:
    lang: str
    t: Translator
    now: datetime
    groups: tuple[Unit, ...] = ()
    zone: str = "Asia/Ho_Chi_Minh"  # the ward's time zone, for dates typed or offered

    def __call__(self, key: str, **params: Any) -> str:
        return self.t(key, self.lang, **params)


@dataclass(frozen=True)
class Accept:
    """The answer is taken; `advance` moves to the next step (else the step asks again)."""

    updates: dict[str, Any]
    advance: bool = True
    note: str | None = None  # a translated line shown before the next prompt
    finish: bool = False  # the form is complete here (the remaining steps do not apply)


@dataclass(frozen=True)
class Invalid:
    """The answer cannot be used; the message says why and gives an example."""

    message: str


@dataclass(frozen=True)
class StepBack:
    """The step handles Back itself (a question inside the step), with new answers."""

    updates: dict[str, Any]


@dataclass(frozen=True)
class Goto:
    """Jump to another step to change its answer, then come back to the summary."""

    step: str


Outcome = Accept | Invalid | StepBack | Goto


class Step(Protocol):
    name: str
    title_key: str

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, list[list[Choice]], ShareRequest | None]:
        """The question: text, buttons (value payloads, the engine wraps them), share request."""

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext) -> Outcome:
        """Parse one input; `value` is the pressed button's value, else None."""


@dataclass(frozen=True)
class FormSpec:
    name: str
    steps: tuple[Step, ...]
    summary_step: str  # the last step; editing an answer returns here

    def index(self, step_name: str) -> int:
        for position, step in enumerate(self.steps):
            if step.name == step_name:
                return position
        raise KeyError(step_name)


@dataclass
class EngineResult:
    answers: dict[str, Any]
    step: str
    replies: list[Reply] = field(default_factory=list)
    finished: bool = False
    cancelled: bool = False


# Callback payloads: "f:<token>:<step index>:<value>", at most 64 bytes.
def button(token: str, step_index: int, value: str) -> str:
    return f"f:{token}:{step_index}:{value}"


def parse_button(data: str) -> tuple[str, int, str] | None:
    parts = data.split(":", 3)
    if len(parts) != 4 or parts[0] != "f" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3]


NAV_BACK = "<"
NAV_CANCEL = "x"


def render(spec: FormSpec, answers: dict[str, Any], step_name: str, ctx: FormContext, note: str | None = None) -> Reply:
    """The prompt of `step_name` with its progress header and navigation buttons."""
    position = spec.index(step_name)
    step = spec.steps[position]
    text, rows, share = step.prompt(answers, ctx)
    header = ctx("form.progress", current=position + 1, total=len(spec.steps), title=ctx(step.title_key))
    token = answers[TOKEN_KEY]
    buttons = [
        tuple(Choice(choice.label, button(token, position, choice.data)) for choice in row)
        for row in rows
    ]
    nav: list[Choice] = []
    if position > 0:
        nav.append(Choice(ctx("form.back"), button(token, position, NAV_BACK)))
    nav.append(Choice(ctx("form.cancel"), button(token, position, NAV_CANCEL)))
    buttons.append(tuple(nav))
    body = f"{header}\n\n{text}" if not note else f"{note}\n\n{header}\n\n{text}"
    return Reply(text=body, buttons=tuple(buttons), share=share)


def start(spec: FormSpec, token: str, ctx: FormContext, initial: dict[str, Any] | None = None) -> EngineResult:
    answers = dict(initial or {})
    answers[TOKEN_KEY] = token
    first = spec.steps[0].name
    return EngineResult(answers, first, [render(spec, answers, first, ctx)])


def advance(spec: FormSpec, answers: dict[str, Any], step_name: str, ctx: FormContext, inbound: Inbound) -> EngineResult:
    """Feed one input to the current step and move the form on."""
    position = spec.index(step_name)
    step = spec.steps[position]
    value: str | None = None

    if inbound.callback is not None:
        parsed = parse_button(inbound.callback)
        if parsed is None:
            return _again(spec, answers, step_name, ctx, ctx("form.button_unknown"))
        token, pressed_at, value = parsed
        if token != answers.get(TOKEN_KEY) or pressed_at != position:
            return _again(spec, answers, step_name, ctx, ctx("form.button_stale"))
        if value == NAV_CANCEL:
            return EngineResult(answers, step_name, cancelled=True)
        if value == NAV_BACK:
            return _back(spec, answers, step_name, inbound, ctx)
    elif inbound.unsupported:
        kind = ctx(f"content.{inbound.unsupported}") if inbound.unsupported in UNSUPPORTED_KINDS else ctx("content.other")
        return _again(spec, answers, step_name, ctx, ctx("form.unsupported", kind=kind))

    outcome = step.accept(answers, inbound, value, ctx)
    if isinstance(outcome, Invalid):
        return _again(spec, answers, step_name, ctx, outcome.message)
    if isinstance(outcome, Goto):
        return goto(spec, answers, outcome.step, ctx, editing=True)
    if isinstance(outcome, StepBack):
        new_answers = {**answers, **outcome.updates}
        return EngineResult(new_answers, step_name, [render(spec, new_answers, step_name, ctx)])

    new_answers = {**answers, **outcome.updates}
    if not outcome.advance:
        return EngineResult(new_answers, step_name, [render(spec, new_answers, step_name, ctx, outcome.note)])
    if step_name == spec.summary_step or outcome.finish:
        return EngineResult(new_answers, step_name, finished=True)
    if new_answers.pop(EDIT_KEY, False):
        next_name = spec.summary_step
    else:
        next_name = spec.steps[position + 1].name
    return EngineResult(new_answers, next_name, [render(spec, new_answers, next_name, ctx, outcome.note)])


def goto(spec: FormSpec, answers: dict[str, Any], step_name: str, ctx: FormContext, *, editing: bool) -> EngineResult:
    """Jump to a step (from the summary, to change one answer); the step's answers are asked anew."""
    step = spec.steps[spec.index(step_name)]
    cleared = {key: None for key in getattr(step, "reset_keys", ())}
    new_answers = {**answers, **cleared, EDIT_KEY: editing}
    return EngineResult(new_answers, step_name, [render(spec, new_answers, step_name, ctx)])


def resume(spec: FormSpec, answers: dict[str, Any], step_name: str, ctx: FormContext, note: str | None = None) -> EngineResult:
    """Show the current step again (after /start, /help, a language change or a restart)."""
    return EngineResult(answers, step_name, [render(spec, answers, step_name, ctx, note)])


UNSUPPORTED_KINDS = frozenset(
    {"sticker", "voice", "audio", "video", "video_note", "animation", "poll", "dice", "foreign_contact",
     "file_too_large", "file_unavailable"}
)


def _again(spec: FormSpec, answers: dict[str, Any], step_name: str, ctx: FormContext, message: str) -> EngineResult:
    return EngineResult(answers, step_name, [render(spec, answers, step_name, ctx, message)])


def _back(spec: FormSpec, answers: dict[str, Any], step_name: str, inbound: Inbound, ctx: FormContext) -> EngineResult:
    position = spec.index(step_name)
    inner_back: Callable[..., Outcome | None] | None = getattr(spec.steps[position], "back", None)
    if inner_back is not None:
        outcome = inner_back(answers)
        if outcome is not None:
            new_answers = {**answers, **outcome.updates}
            return EngineResult(new_answers, step_name, [render(spec, new_answers, step_name, ctx)])
    if answers.get(EDIT_KEY):
        new_answers = {**answers, EDIT_KEY: False}
        target = spec.summary_step
    else:
        new_answers = dict(answers)
        target = spec.steps[max(position - 1, 0)].name
    return EngineResult(new_answers, target, [render(spec, new_answers, target, ctx)])
