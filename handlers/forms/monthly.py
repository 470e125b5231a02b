"""The monthly update of a residential group, from a leader's phone in under two minutes.

Two steps. The first is a short conversation of its own (one question at a time, Back inside
it): what the case records already know for the group and month is shown first, with "Nothing
new this month", "Send these figures" and "Change the figures"; changing asks each count with
the records' value one press away; then the risks of a hot spot and of a mass complaint (how
many people, a note) and free notes. The second is the summary to send. A typed count that
differs from the records is pointed out on the spot and on the summary, and kept as a
difference for the police: never silently accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.forms.engine import Accept, FormContext, FormSpec, Goto, Invalid, StepBack
from handlers.forms.steps import Rows, rows_of, typed_text
from handlers.messages import Choice, Inbound, ShareRequest
from handlers.text import has_letters_or_digits

MONTHLY_FORM_NAME = "monthly"
COUNTS: tuple[str, ...] = ("new", "mediated", "successful", "unsuccessful", "open", "referred")
RECORDS, TYPED = "_records", "counts"  # the records' figures (set at start); what is sent
STAGE, HISTORY = "_stage", "_stages"
NONE_WARNED = "_none_warned"
MAX_COUNT, MAX_PEOPLE, MAX_NOTE = 10_000, 100_000, 1000
YES, NO, SKIP, KEEP = "y", "n", "skip", "keep"


def record_total(records: dict[str, Any], name: str) -> int:
    """A count as the records have it; "new" is the sum over fields."""
    value = records.get(name, 0)
    return sum(value.values()) if isinstance(value, dict) else int(value or 0)


def differences(answers: dict[str, Any]) -> dict[str, list[int]]:
    """{count: [records, typed]} for every count the leader gave otherwise than the records."""
    records, typed = answers.get(RECORDS) or {}, answers.get(TYPED) or {}
    if answers.get("nothing_new"):
        typed = {name: 0 for name in COUNTS}
    return {name: [record_total(records, name), int(typed[name])] for name in COUNTS
            if name in typed and int(typed[name]) != record_total(records, name)}


def figures_text(values: dict[str, Any], ctx: FormContext, records: dict[str, Any] | None = None) -> str:
    """One line per count; a count that differs from the records says so."""
    lines = []
    for name in COUNTS:
        value = record_total(values, name)
        line = ctx(f"monthly.count.{name}") + f": {value}"
        if records is not None and value != record_total(records, name):
            line += " " + ctx("monthly.differs", records=record_total(records, name))
        lines.append(line)
    by_field = values.get("new") if isinstance(values.get("new"), dict) else {}
    if by_field:
        lines.append(ctx("monthly.by_field", fields=", ".join(f"{ctx(f'field.{field}')} {n}"
                                                               for field, n in sorted(by_field.items()))))
    return "\n".join(f"• {line}" for line in lines)


@dataclass(frozen=True)
class UpdateStep:
    """Figures, risks and notes, one question at a time (`_stage`); Back goes to the question
    before (`_stages`)."""

    name: str = "update"
    title_key: str = "monthly.title"
    reset_keys: tuple[str, ...] = (STAGE, HISTORY, NONE_WARNED, TYPED, "nothing_new", "hot_spot", "mass_complaint",
                                   "people", "risk_note", "notes")

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        stage = answers.get(STAGE) or "overview"
        head = ctx("monthly.head", group=answers.get("group_name", ""), period=answers["period_label"],
                   due=answers["due_label"]) + "\n\n"
        if stage == "overview":
            rows = [[Choice(ctx("monthly.nothing_new_anyway" if answers.get(NONE_WARNED) else "monthly.nothing_new"),
                            "none")],
                    [Choice(ctx("monthly.send_records"), "records")], [Choice(ctx("monthly.change"), "edit")]]
            text = ctx("monthly.records", figures=figures_text(answers.get(RECORDS) or {}, ctx))
            return head + text, rows, None
        if stage.startswith("count:"):
            name = stage.split(":")[1]
            records = record_total(answers.get(RECORDS) or {}, name)
            return (head + ctx(f"monthly.ask.{name}"),
                    [[Choice(ctx("monthly.keep", value=records), KEEP)]], None)
        if stage in ("hot_spot", "mass_complaint"):
            return head + ctx(f"monthly.ask.{stage}"), [[Choice(ctx("monthly.yes"), YES), Choice(ctx("monthly.no"), NO)]], None
        if stage == "people":
            return head + ctx("monthly.ask.people"), [[Choice(ctx("monthly.skip"), SKIP)]], None
        if stage == "risk_note":
            return head + ctx("monthly.ask.risk_note"), [[Choice(ctx("monthly.skip"), SKIP)]], None
        return head + ctx("monthly.ask.notes"), [[Choice(ctx("monthly.skip"), SKIP)]], None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        stage = answers.get(STAGE) or "overview"
        if stage == "overview":
            return self._overview(answers, value, ctx)
        if stage.startswith("count:"):
            return self._count(answers, stage.split(":")[1], inbound, value, ctx)
        if stage in ("hot_spot", "mass_complaint"):
            if value not in (YES, NO):
                return Invalid(ctx("monthly.pick_yes_no"))
            updates = {stage: value == YES}
            if stage == "hot_spot":
                return self._to(answers, "mass_complaint", updates)
            risky = answers.get("hot_spot") or value == YES
            return self._to(answers, "people" if risky else "notes", {**updates, "people": None, "risk_note": None})
        if stage == "people":
            if value == SKIP:
                return self._to(answers, "risk_note", {"people": None})
            number = _number(typed_text(inbound) if value is None else None, MAX_PEOPLE)
            if number is None:
                return Invalid(ctx("monthly.need_number", max=MAX_PEOPLE))
            return self._to(answers, "risk_note", {"people": number})
        text = _note(inbound, value)
        if text is not None and not text:
            return Invalid(ctx("monthly.need_text", max=MAX_NOTE))
        if stage == "risk_note":
            return self._to(answers, "notes", {"risk_note": text})
        return Accept({"notes": text})

    def back(self, answers: dict[str, Any]) -> StepBack | None:
        history = list(answers.get(HISTORY) or [])
        if not history:
            return None
        return StepBack({STAGE: history.pop(), HISTORY: history})

    def _overview(self, answers: dict[str, Any], value: str | None, ctx: FormContext):
        records = answers.get(RECORDS) or {}
        if value == "none":
            activity = any(record_total(records, name) for name in COUNTS if name != "open")
            if activity and not answers.get(NONE_WARNED):
                return Accept({NONE_WARNED: True}, advance=False, note=ctx("monthly.none_differs"))
            return Accept({"nothing_new": True, TYPED: {name: 0 for name in COUNTS}, "hot_spot": False,
                           "mass_complaint": False, "people": None, "risk_note": None, "notes": None})
        if value == "records":
            typed = {name: record_total(records, name) for name in COUNTS}
            return self._to(answers, "hot_spot", {"nothing_new": False, TYPED: typed})
        if value == "edit":
            return self._to(answers, f"count:{COUNTS[0]}", {"nothing_new": False, TYPED: {}})
        return Invalid(ctx("monthly.pick_one"))

    def _count(self, answers: dict[str, Any], name: str, inbound: Inbound, value: str | None, ctx: FormContext):
        records = record_total(answers.get(RECORDS) or {}, name)
        number = records if value == KEEP else _number(typed_text(inbound) if value is None else None, MAX_COUNT)
        if number is None:
            return Invalid(ctx("monthly.need_number", max=MAX_COUNT))
        typed = {**(answers.get(TYPED) or {}), name: number}
        position = COUNTS.index(name)
        following = f"count:{COUNTS[position + 1]}" if position + 1 < len(COUNTS) else "hot_spot"
        outcome = self._to(answers, following, {TYPED: typed})
        if number != records:
            return Accept(outcome.updates, advance=False, note=ctx("monthly.differs_now", typed=number, records=records))
        return outcome

    @staticmethod
    def _to(answers: dict[str, Any], stage: str, updates: dict[str, Any]) -> Accept:
        """Ask the next question of this step (the engine shows the step again)."""
        history = [*(answers.get(HISTORY) or []), answers.get(STAGE) or "overview"]
        return Accept({**updates, STAGE: stage, HISTORY: history}, advance=False)


def _number(text: str | None, maximum: int) -> int | None:
    if text is None:
        return None
    digits = text.strip()
    if not digits.isdigit() or int(digits) > maximum:
        return None
    return int(digits)


def _note(inbound: Inbound, value: str | None) -> str | None:
    """None when skipped; "" when the text is unusable; else the cleaned text."""
    if value == SKIP:
        return None
    text = typed_text(inbound) if value is None else None
    if not text or not has_letters_or_digits(text) or len(text) > MAX_NOTE:
        return ""
    return text


@dataclass(frozen=True)
class SendStep:
    """What will be sent, with the differences from the records; Send, or start again."""

    name: str = "send"
    title_key: str = "monthly.summary.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        rows = rows_of([Choice(ctx("monthly.summary.send"), "ok"), Choice(ctx("monthly.summary.again"), "again")], 1)
        return summary_text(answers, ctx), rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "ok":
            return Accept({})
        if value == "again":
            return Goto("update")
        return Invalid(ctx("monthly.pick_one"))


def summary_text(answers: dict[str, Any], ctx: FormContext) -> str:
    lines = [ctx("monthly.head", group=answers.get("group_name", ""), period=answers["period_label"],
                 due=answers["due_label"]), ""]
    if answers.get("nothing_new"):
        lines.append(ctx("monthly.summary.nothing_new"))
    else:
        lines.append(figures_text(answers.get(TYPED) or {}, ctx, answers.get(RECORDS) or {}))
        risks = [ctx(f"monthly.risk.{name}") for name in ("hot_spot", "mass_complaint") if answers.get(name)]
        lines.append(ctx("monthly.summary.risks", risks=", ".join(risks) or ctx("monthly.no")))
        if answers.get("people"):
            lines.append(ctx("monthly.summary.people", people=answers["people"]))
        if answers.get("risk_note"):
            lines.append(ctx("monthly.summary.risk_note", note=answers["risk_note"]))
        if answers.get("notes"):
            lines.append(ctx("monthly.summary.notes", notes=answers["notes"]))
    if differences(answers):
        lines += ["", ctx("monthly.summary.differences")]
    if answers.get("_late"):
        lines += ["", ctx("monthly.summary.late")]
    return "\n".join(lines)


MONTHLY_FORM = FormSpec(name=MONTHLY_FORM_NAME, steps=(UpdateStep(), SendStep()), summary_step="send")
