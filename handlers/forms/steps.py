"""Reusable form steps for the short staff forms: pick one option, type a text, give a date.

Each step keeps its answer under `key`. When the answers hold a case code (`CASE_CODE`), every
prompt starts with it, so an officer working on several cases always sees which one a
question is about, also when the form is shown again after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.forms.engine import Accept, FormContext, Invalid
from handlers.messages import Choice, Inbound, ShareRequest
from handlers.text import clean_text, fold, has_letters_or_digits

CASE_CODE = "_code"
SKIP = "skip"
CURRENT_MARK = "✓ "
Rows = list[list[Choice]]
# Dynamic options: [[value, label], ...] stored in the answers when the form starts.
Options = list[list[str]]


def lead(answers: dict[str, Any], ctx: FormContext) -> str:
    code = answers.get(CASE_CODE)
    return ctx("actions.form.case", code=code) + "\n\n" if code else ""


def rows_of(choices: list[Choice], columns: int) -> Rows:
    return [choices[i:i + columns] for i in range(0, len(choices), columns)]


def typed_text(inbound: Inbound) -> str | None:
    return clean_text(inbound.text) if inbound.text is not None else None


@dataclass(frozen=True)
class ChoiceStep:
    """One option out of a list: fixed codes labelled from the catalog (`label_prefix` + code), or
    options computed when the form started (`options_key` names them in the answers).

    A typed answer matching a label (without diacritics) counts as pressing it. `finish_when`
    ends the form after this step when the rest does not apply (e.g. no record to write).
    """

    name: str
    title_key: str
    prompt_key: str
    key: str
    codes: tuple[str, ...] = ()
    label_prefix: str = ""
    options_key: str | None = None
    columns: int = 2
    finish_when: Callable[[dict[str, Any]], bool] | None = None

    def options(self, answers: dict[str, Any], ctx: FormContext) -> list[tuple[str, str]]:
        if self.options_key is not None:
            return [(str(value), label) for value, label in answers.get(self.options_key) or []]
        return [(code, ctx(f"{self.label_prefix}{code}")) for code in self.codes]

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        current = answers.get(f"_now_{self.key}")
        choices = [Choice((CURRENT_MARK if value == current else "") + label, value)
                   for value, label in self.options(answers, ctx)]
        return lead(answers, ctx) + ctx(self.prompt_key), rows_of(choices, self.columns), None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        options = self.options(answers, ctx)
        chosen = value if value in {v for v, _ in options} else None
        if chosen is None and value is None and inbound.text:
            chosen = self._typed_match(fold(inbound.text), options, ctx)
        if chosen is None:
            return Invalid(ctx("actions.form.pick_one"))
        updates = {self.key: chosen}
        finish = self.finish_when is not None and self.finish_when({**answers, **updates})
        return Accept(updates, finish=finish)

    def _typed_match(self, wanted: str, options: list[tuple[str, str]], ctx: FormContext) -> str | None:
        for value, label in options:
            labels = {fold(label)}
            if self.options_key is None:
                labels |= {fold(ctx.t(f"{self.label_prefix}{value}", lang)) for lang in ctx.t.languages}
            if wanted and wanted in labels:
                return value
        return None


@dataclass(frozen=True)
class TextStep:
    """A typed text, cleaned (NFC, no control characters); `optional` adds a Skip button."""

    name: str
    title_key: str
    prompt_key: str
    key: str
    max_length: int = 1000
    optional: bool = False

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        rows = [[Choice(ctx("actions.form.skip"), SKIP)]] if self.optional else []
        return lead(answers, ctx) + ctx(self.prompt_key), rows, None

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        if value == SKIP and self.optional:
            return Accept({self.key: None})
        text = typed_text(inbound) if value is None else None
        if not text or not has_letters_or_digits(text):
            return Invalid(ctx("actions.form.need_text"))
        if len(text) > self.max_length:
            return Invalid(ctx("actions.form.too_long", max=self.max_length, length=len(text)))
        return Accept({self.key: text})


DATE_FORMATS = (
    re.compile(r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})(?:[/.\-](?P<y>\d{2}|\d{4}))?"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
)


def today_in(ctx: FormContext) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.zone)).date()


def parse_date(text: str, today: date) -> date | None:
    """"25/12/2026", "25-12-26", "25/12" (this year) or "2026-12-25"; None when not a real date."""
    for pattern in DATE_FORMATS:
        match = pattern.fullmatch(text.strip())
        if match is None:
            continue
        year = int(match.group("y") or today.year)
        year = year + 2000 if year < 100 else year
        try:
            return date(year, int(match.group("m")), int(match.group("d")))
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class DateStep:
    """A date: a quick button (days from today in the ward's zone) or typed as dd/mm/yyyy.
    Stored as ISO text; dates outside [today + earliest, today + latest] are refused."""

    name: str
    title_key: str
    prompt_key: str
    key: str
    quick: tuple[int, ...] = (0,)
    earliest: int = -365
    latest: int = 365

    def prompt(self, answers: dict[str, Any], ctx: FormContext) -> tuple[str, Rows, ShareRequest | None]:
        today = today_in(ctx)
        choices = [Choice(self._label(offset, today, ctx), f"d{offset}") for offset in self.quick]
        return lead(answers, ctx) + ctx(self.prompt_key), rows_of(choices, 3), None

    @staticmethod
    def _label(offset: int, today: date, ctx: FormContext) -> str:
        day = (today + timedelta(days=offset)).strftime("%d/%m")
        if offset == 0:
            return ctx("actions.date.today", date=day)
        if offset == -1:
            return ctx("actions.date.yesterday", date=day)
        return ctx("actions.date.in_days", days=offset, date=day)

    def accept(self, answers: dict[str, Any], inbound: Inbound, value: str | None, ctx: FormContext):
        today = today_in(ctx)
        chosen: date | None = None
        if value is not None and value.startswith("d") and value[1:].lstrip("-").isdigit() \
                and int(value[1:]) in self.quick:
            chosen = today + timedelta(days=int(value[1:]))
        elif value is None and inbound.text:
            chosen = parse_date(inbound.text, today)
        if chosen is None:
            return Invalid(ctx("actions.date.invalid", example=today.strftime("%d/%m/%Y")))
        first, last = today + timedelta(days=self.earliest), today + timedelta(days=self.latest)
        if not first <= chosen <= last:
            return Invalid(ctx("actions.date.out_of_range", first=first.strftime("%d/%m/%Y"),
                               last=last.strftime("%d/%m/%Y")))
        return Accept({self.key: chosen.isoformat()})


def as_date(value: str) -> date:
    return date.fromisoformat(value)


def local_date_text(value: datetime | date | str, zone: str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone)).date()
    return value.strftime("%d/%m/%Y")
