"""The dispute report form: eight steps, from the field of the dispute to the summary.

A neighbourhood leader may report for residents of their group: the same steps, after one
that records for whom, and with only the leader's groups offered (no group step when one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from handlers.domain.groups import match_groups
from handlers.domain.model import DISPUTE_FIELDS, Unit
from handlers.forms.engine import Accept, FormContext, FormSpec, Goto, Invalid, StepBack
from handlers.messages import Choice, FileRef, Inbound, ShareRequest
from handlers.text import clean_text, fold, has_letters_or_digits

FORM_NAME = "dispute"
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 2000
MAX_ADDRESS = 300
MAX_FILES = 5
MAX_FOR_WHOM = 200
# On-behalf forms: the ids of the groups the leader leads, set when the form starts.
ALLOWED_GROUPS = "_allowed_groups"
GROUPS_PER_PAGE = 6
PEOPLE_RANGES = ("1-2", "3-5", "6-10", "10+")

Rows = list[list[Choice]]


def _pairs(choices: list[Choice]) -> Rows:
    return [choices[i : i + 2] for i in range(0, len(choices), 2)]


def _typed(inbound: Inbound) -> str | None:
    return clean_text(inbound.text) if inbound.text is not None else None


def _text_problem(text: str | None, ctx: FormContext, example_key: str) -> str | None:
    """A message when typed text is missing, empty or has no words; None when usable."""
    if text is None:
        return ctx("form.expect_text", example=ctx(example_key))
    if not text:
        return ctx("form.empty_text", example=ctx(example_key))
    if not has_letters_or_digits(text):
        return ctx("form.no_words", example=ctx(example_key))
    return None


@dataclass(frozen=True)
class FieldStep:
    name: str = "field"
    title_key: str = "step.field.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        choices = [Choice(ctx(f"field.{code}"), code) for code in DISPUTE_FIELDS]
        return ctx("step.field.prompt"), _pairs(choices), None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value in DISPUTE_FIELDS:
            return Accept({"field": value})
        typed = _typed(inbound)
        if typed and value is None:
            wanted = fold(typed)
            for code in DISPUTE_FIELDS:
                labels = {fold(ctx.t(f"field.{code}", lang)) for lang in ctx.t.languages}
                if wanted in labels:
                    return Accept({"field": code})
        return Invalid(ctx("step.field.invalid", example=ctx("field.land")))


def offered_groups(answers: dict[str, Any], ctx: FormContext) -> tuple[Unit, ...]:
    """The groups this form may choose from: all the ward's, or only those its leader leads."""
    allowed = answers.get(ALLOWED_GROUPS)
    if allowed is None:
        return ctx.groups
    return tuple(g for g in ctx.groups if g.id in allowed)


@dataclass(frozen=True)
class ForWhomStep:
    """A leader reporting on behalf of residents: whom it is for (their names, or the group)."""

    name: str = "for_whom"
    title_key: str = "step.for_whom.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        return ctx("step.for_whom.prompt"), [[Choice(ctx("step.for_whom.residents"), "residents")]], None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "residents":
            return Accept({"for_whom": ctx("for_whom.residents_of_group")})
        typed = _typed(inbound)
        problem = _text_problem(typed, ctx, "step.for_whom.example") if value is None else ctx("form.button_unknown")
        if problem:
            return Invalid(problem)
        if len(typed or "") > MAX_FOR_WHOM:
            return Invalid(ctx("step.for_whom.too_long", max=MAX_FOR_WHOM, length=len(typed or "")))
        return Accept({"for_whom": typed})


@dataclass(frozen=True)
class GroupStep:
    name: str = "group"
    title_key: str = "step.group.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        page = int(answers.get("_group_page", 0))
        groups = list(offered_groups(answers, ctx))
        if answers.get("_group_matches"):
            shown = [g for g in groups if g.id in answers["_group_matches"]]
            rows = _pairs([Choice(g.name, f"g{g.id}") for g in shown])
            return ctx("step.group.which"), rows, None
        pages = max(1, -(-len(groups) // GROUPS_PER_PAGE))
        page = min(page, pages - 1)
        shown = groups[page * GROUPS_PER_PAGE : (page + 1) * GROUPS_PER_PAGE]
        rows = _pairs([Choice(g.name, f"g{g.id}") for g in shown])
        paging: list[Choice] = []
        if page > 0:
            paging.append(Choice(ctx("step.group.previous"), f"p{page - 1}"))
        if page < pages - 1:
            paging.append(Choice(ctx("step.group.more"), f"p{page + 1}"))
        if paging:
            rows.append(paging)
        text = ctx("step.group.prompt")
        if pages > 1:
            text += "\n" + ctx("step.group.page", page=page + 1, pages=pages)
        return text, rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        offered = offered_groups(answers, ctx)
        groups = {g.id: g for g in offered}
        if value and value.startswith("p") and value[1:].isdigit():
            return Accept({"_group_page": int(value[1:])}, advance=False)
        if value and value.startswith("g") and value[1:].isdigit() and int(value[1:]) in groups:
            return _chosen(groups[int(value[1:])])
        typed = _typed(inbound)
        problem = _text_problem(typed, ctx, "step.group.example") if value is None else None
        if value is not None or problem:
            return Invalid(problem or ctx("step.group.invalid", example=ctx("step.group.example")))
        matches = match_groups(typed or "", list(offered))
        if len(matches) == 1:
            return _chosen(matches[0])
        if len(matches) > 1:
            return Accept({"_group_matches": [g.id for g in matches]}, advance=False)
        return Invalid(ctx("step.group.not_found", text=typed, example=ctx("step.group.example")))

    def back(self, answers: dict[str, Any]) -> StepBack | None:
        """Back from "which of these groups?" returns to the full list."""
        return StepBack({"_group_matches": None}) if answers.get("_group_matches") else None


def _chosen(group: Unit) -> Accept:
    return Accept({"group_id": group.id, "group_name": group.name, "_group_matches": None, "_group_page": 0})


@dataclass(frozen=True)
class WhereStep:
    name: str = "where"
    title_key: str = "step.where.title"
    reset_keys: tuple[str, ...] = ("address", "latitude", "longitude")

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        have_address = bool(answers.get("address"))
        have_location = answers.get("latitude") is not None
        rows: Rows = []
        if have_address or have_location:
            text = ctx("step.where.more_address" if have_location else "step.where.more_location")
            rows.append([Choice(ctx("step.next"), "next")])
        else:
            text = ctx("step.where.prompt")
        share = None if have_location else ShareRequest("location", ctx("step.where.share"))
        return text, rows, share

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        have_any = bool(answers.get("address")) or answers.get("latitude") is not None
        if value == "next":
            return Accept({}) if have_any else Invalid(ctx("step.where.need_one", example=ctx("step.where.example")))
        if inbound.location is not None:
            updates = {"latitude": inbound.location.latitude, "longitude": inbound.location.longitude}
            return Accept(updates, advance=bool(answers.get("address")), note=ctx("step.where.got_location"))
        typed = _typed(inbound)
        problem = _text_problem(typed, ctx, "step.where.example") if value is None else ctx("form.button_unknown")
        if problem:
            return Invalid(problem)
        if len(typed or "") > MAX_ADDRESS:
            return Invalid(ctx("step.where.too_long", max=MAX_ADDRESS, length=len(typed or ""), example=ctx("step.where.example")))
        has_location = answers.get("latitude") is not None
        return Accept({"address": typed}, advance=has_location, note=ctx("step.where.got_address"))


@dataclass(frozen=True)
class DescriptionStep:
    name: str = "description"
    title_key: str = "step.description.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        return ctx("step.description.prompt", min=MIN_DESCRIPTION, max=MAX_DESCRIPTION), [], None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        typed = _typed(inbound)
        problem = _text_problem(typed, ctx, "step.description.example") if value is None else ctx("form.button_unknown")
        if problem:
            return Invalid(problem)
        length = len(typed or "")
        if length < MIN_DESCRIPTION:
            return Invalid(ctx("step.description.too_short", min=MIN_DESCRIPTION, length=length, example=ctx("step.description.example")))
        if length > MAX_DESCRIPTION:
            return Invalid(ctx("step.description.too_long", max=MAX_DESCRIPTION, length=length))
        return Accept({"description": typed})


YES_WORDS = frozenset({"co", "yes", "y", "co nguy hiem", "dang nguy hiem"})
NO_WORDS = frozenset({"khong", "no", "n", "ko", "k"})


@dataclass(frozen=True)
class PeopleStep:
    """How many people are involved, then whether anyone is in danger now."""

    name: str = "people"
    title_key: str = "step.people.title"
    reset_keys: tuple[str, ...] = ("people", "danger")

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        if not answers.get("people"):
            choices = [Choice(ctx(f"people.{code}"), code) for code in PEOPLE_RANGES]
            return ctx("step.people.prompt"), [choices], None
        rows = [[Choice(ctx("step.danger.yes"), "y"), Choice(ctx("step.danger.no"), "n")]]
        return ctx("step.danger.prompt"), rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if not answers.get("people"):
            if value in PEOPLE_RANGES:
                return Accept({"people": value}, advance=False)
            typed = _typed(inbound) or ""
            if value is None and re.fullmatch(r"\d{1,5}", typed) and int(typed) > 0:
                return Accept({"people": _people_range(int(typed))}, advance=False)
            return Invalid(ctx("step.people.invalid", example="3"))
        if value in ("y", "n"):
            return Accept({"danger": value == "y"})
        typed = fold(_typed(inbound) or "")
        if value is None and typed in YES_WORDS:
            return Accept({"danger": True})
        if value is None and typed in NO_WORDS:
            return Accept({"danger": False})
        return Invalid(ctx("step.danger.invalid"))

    def back(self, answers: dict[str, Any]) -> StepBack | None:
        """Back from the danger question returns to the number of people."""
        return StepBack({"people": None}) if answers.get("people") and answers.get("danger") is None else None


def _people_range(count: int) -> str:
    if count <= 2:
        return "1-2"
    if count <= 5:
        return "3-5"
    if count <= 10:
        return "6-10"
    return "10+"


@dataclass(frozen=True)
class FilesStep:
    name: str = "files"
    title_key: str = "step.files.title"
    reset_keys: tuple[str, ...] = ("files",)

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        count = len(answers.get("files") or [])
        if count:
            text = ctx("step.files.received", count=count, max=MAX_FILES)
            return text, [[Choice(ctx("step.files.done"), "done")]], None
        return ctx("step.files.prompt", max=MAX_FILES), [[Choice(ctx("step.files.skip"), "done")]], None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "done":
            return Accept({})
        if not inbound.files:
            return Invalid(ctx("step.files.invalid"))
        files = list(answers.get("files") or [])
        known = {f["sha256"] for f in files}
        for file in inbound.files:
            if len(files) >= MAX_FILES:
                return Accept({"files": files}, note=ctx("step.files.limit", max=MAX_FILES))
            if file.sha256 not in known:
                files.append(_file_answer(file))
                known.add(file.sha256)
        return Accept({"files": files}, advance=len(files) >= MAX_FILES)


def _file_answer(file: FileRef) -> dict[str, Any]:
    return {
        "kind": file.kind, "file_id": file.file_id, "sha256": file.sha256, "size": file.size,
        "mime_type": file.mime_type, "file_name": file.file_name,
    }


PHONE_RE = re.compile(r"(?:\+?84|0)(\d{9,10})")


def normalise_phone(text: str) -> str | None:
    """A Vietnamese phone number as +84…, or None; spaces, dots and dashes are ignored."""
    digits = re.sub(r"[\s.\-()]", "", text)
    match = PHONE_RE.fullmatch(digits)
    return f"+84{match.group(1)}" if match else None


@dataclass(frozen=True)
class ContactStep:
    name: str = "contact"
    title_key: str = "step.contact.title"

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        rows = [[Choice(ctx("step.contact.no"), "no")]]
        return ctx("step.contact.prompt"), rows, ShareRequest("phone", ctx("step.contact.share"))

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "no":
            return Accept({"phone": None})
        raw = inbound.phone if inbound.phone is not None else (None if value else _typed(inbound))
        phone = normalise_phone(raw) if raw else None
        if phone:
            return Accept({"phone": phone})
        return Invalid(ctx("step.contact.invalid", example="0912 345 678"))


SUMMARY_EDITABLE = ("field", "group", "where", "description", "people", "files", "contact")
ON_BEHALF_EDITABLE = ("for_whom", *SUMMARY_EDITABLE)


@dataclass(frozen=True)
class SummaryStep:
    name: str = "summary"
    title_key: str = "step.summary.title"
    editable: tuple[str, ...] = SUMMARY_EDITABLE  # the steps whose answer can be changed from here

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        rows: Rows = [[Choice(ctx("step.summary.send"), "ok")]]
        edits = [Choice(ctx(f"step.summary.edit.{name}"), f"e{name}") for name in self.editable]
        rows.extend(_pairs(edits))
        return summary_text(answers, ctx), rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == "ok":
            return Accept({})
        if value and value[1:] in self.editable and value.startswith("e"):
            return Goto(value[1:])
        return Invalid(ctx("step.summary.invalid"))


def summary_text(answers: dict[str, Any], ctx: FormContext) -> str:
    where = [answers["address"]] if answers.get("address") else []
    if answers.get("latitude") is not None:
        where.append(ctx("summary.location", lat=f"{answers['latitude']:.5f}", lon=f"{answers['longitude']:.5f}"))
    for_whom = [ctx("summary.for_whom", value=answers["for_whom"])] if answers.get("for_whom") else []
    lines = [
        ctx("step.summary.prompt"),
        "",
        *for_whom,
        ctx("summary.field", value=ctx(f"field.{answers['field']}")),
        ctx("summary.group", value=answers.get("group_name", "")),
        ctx("summary.where", value="; ".join(where)),
        ctx("summary.description", value=answers.get("description", "")),
        ctx("summary.people", value=ctx(f"people.{answers.get('people')}")),
        ctx("summary.danger", value=ctx("yes" if answers.get("danger") else "no")),
        ctx("summary.files", count=len(answers.get("files") or [])),
        ctx("summary.phone", value=answers.get("phone") or ctx("summary.phone_none")),
    ]
    return "\n".join(lines)


DISPUTE_FORM = FormSpec(
    name=FORM_NAME,
    steps=(FieldStep(), GroupStep(), WhereStep(), DescriptionStep(), PeopleStep(), FilesStep(), ContactStep(), SummaryStep()),
    summary_step="summary",
)
# A leader of several groups chooses among them; a leader of one group has it filled in.
ON_BEHALF_FORM = FormSpec(
    name="dispute_on_behalf",
    steps=(ForWhomStep(), FieldStep(), GroupStep(), WhereStep(), DescriptionStep(), PeopleStep(), FilesStep(),
           ContactStep(), SummaryStep(editable=ON_BEHALF_EDITABLE)),
    summary_step="summary",
)
ON_BEHALF_ONE_GROUP_FORM = FormSpec(
    name="dispute_on_behalf_1",
    steps=(ForWhomStep(), FieldStep(), WhereStep(), DescriptionStep(), PeopleStep(), FilesStep(), ContactStep(),
           SummaryStep(editable=tuple(name for name in ON_BEHALF_EDITABLE if name != "group"))),
    summary_step="summary",
)
# Every form whose answers make a dispute case (services.submit_dispute).
DISPUTE_FORMS: tuple[FormSpec, ...] = (DISPUTE_FORM, ON_BEHALF_FORM, ON_BEHALF_ONE_GROUP_FORM)
