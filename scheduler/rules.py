"""Loading deadline rules and the ward's calendar from files: the edge of handlers.domain.deadlines.

The defaults (scheduler/rules.yaml, package data) carry DOMAIN.md's legal time limits; a ward's
override file, same format, replaces rules by `id`, adds new ones, or removes one with
`disabled: true`. Everything is validated with pydantic, and an error names the file, the rule
and the field, since a ward's staff edit these files by hand. No I/O happens at import time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from handlers.domain.calendar import DEFAULT_ZONE, UNITS, WorkCalendar
from handlers.domain.deadlines import CONDITIONS, EVENTS, KINDS, Rule
from handlers.domain.workflow import INTERVENTIONS, STEPS
from handlers.reminders import ESCALATION_AUDIENCES

DEFAULTS = "rules.yaml"


class RulesError(ValueError):
    """A rules or days-off file a ward cannot run with; the message says where and why."""


class RuleIn(BaseModel):
    """One rule as written in a file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.\-]+$")  # cases.step_rule holds 64
    kind: str
    step: int | None
    when: dict[str, bool | str] = Field(default_factory=dict)
    unit: str  # before limit, which is checked against it
    limit: int = Field(ge=1, le=10_000)
    source: str = Field(min_length=1)
    note: str = Field(min_length=1)
    remind_before_days: int = Field(default=1, ge=0, le=60)
    disabled: bool = False

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _one_of(value, KINDS)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        return _one_of(value, UNITS)

    @field_validator("step")
    @classmethod
    def _known_step(cls, value: int | None) -> int | None:
        if value is not None and value not in STEPS:
            raise ValueError(f"must be one of {', '.join(map(str, STEPS))} or null")
        return value

    @field_validator("when")
    @classmethod
    def _known_conditions(cls, value: dict[str, bool | str]) -> dict[str, bool | str]:
        for key, expected in value.items():
            _one_of(key, CONDITIONS)
            if key == "urgent" and not isinstance(expected, bool):
                raise ValueError("urgent must be true or false")
            if key == "intervention":
                _one_of(str(expected), INTERVENTIONS)
            if key == "event":
                _one_of(str(expected), EVENTS)
        return value

    @field_validator("limit")
    @classmethod
    def _day_of_month_fits(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("unit") == "day_of_month" and value > 28:
            raise ValueError("a day_of_month limit must be 1..28 so that every month has it")
        return value

    def to_rule(self) -> Rule:
        return Rule(id=self.id, kind=self.kind, step=self.step, when=dict(self.when), limit=self.limit,
                    unit=self.unit, source=self.source, note=self.note,
                    remind_before_days=self.remind_before_days)


def _one_of(value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def load_rules(override: Path | None = None) -> tuple[Rule, ...]:
    """The default rules, then the ward's override file applied on top."""
    text = resources.files("scheduler").joinpath(DEFAULTS).read_text(encoding="utf-8")
    rules = _apply({}, _parse_rules(text, f"scheduler/{DEFAULTS}"), f"scheduler/{DEFAULTS}")
    if override is not None:
        rules = _apply(rules, _parse_rules(_read(override), str(override)), str(override))
    return tuple(rules.values())


class EscalationIn(BaseModel):
    """One rung after the overdue notice: who is told, and how many working days after the
    previous rung."""

    model_config = ConfigDict(extra="forbid", strict=True)

    to: str
    after_working_days: int = Field(ge=0, le=30)

    @field_validator("to")
    @classmethod
    def _known_audience(cls, value: str) -> str:
        return _one_of(value, ESCALATION_AUDIENCES)


def load_escalation(override: Path | None = None) -> tuple[tuple[str, int], ...]:
    """The chain after the overdue notice: the defaults' `escalation:`, or the ward's own list
    when its file has one (the whole list is replaced; [] stops at the overdue notice)."""
    text = resources.files("scheduler").joinpath(DEFAULTS).read_text(encoding="utf-8")
    where, data = f"scheduler/{DEFAULTS}", _document(text, f"scheduler/{DEFAULTS}")
    if override is not None:
        ward = _document(_read(override), str(override))
        if "escalation" in ward:
            where, data = str(override), ward
    entries = data.get("escalation") or []
    if not isinstance(entries, list):
        raise RulesError(f"{where}: 'escalation' must be a list")
    steps = []
    for index, entry in enumerate(entries, start=1):
        try:
            step = EscalationIn.model_validate(entry)
        except ValidationError as error:
            raise RulesError(f"{where}: escalation step {index}: {_describe(error)}") from None
        steps.append((step.to, step.after_working_days))
    return tuple(steps)


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(f"{path}: cannot read: {error.strerror or error}") from error


def _document(text: str, where: str) -> Mapping[str, Any]:
    data = _yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, Mapping) or set(data) - {"rules", "escalation"}:
        raise RulesError(f"{where}: expected a mapping with the keys 'rules' (a list of rules) and, "
                         f"optionally, 'escalation' (who is told after a deadline passes)")
    return data


def _parse_rules(text: str, where: str) -> list[RuleIn]:
    data = _document(text, where)
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        raise RulesError(f"{where}: 'rules' must be a list")
    return [_parse_entry(entry, index, where) for index, entry in enumerate(entries, start=1)]


def _yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{where}: not valid YAML{line}: {getattr(error, 'problem', error)}") from error


def _parse_entry(entry: Any, index: int, where: str) -> RuleIn:
    if not isinstance(entry, Mapping):
        raise RulesError(f"{where}: rule #{index}: expected a mapping of fields")
    name = f"rule {entry['id']!r} (#{index})" if isinstance(entry.get("id"), str) else f"rule #{index}"
    if entry.get("disabled") is True:
        # Only the id matters for a removal; the rest of a copied rule may stay.
        entry = {"id": entry.get("id"), "kind": "dispute", "step": None, "limit": 1, "unit": "days",
                 "source": "-", "note": "-", "disabled": True}
    try:
        return RuleIn.model_validate(dict(entry))
    except ValidationError as error:
        raise RulesError(f"{where}: {name}: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


def _apply(rules: dict[str, Rule], entries: list[RuleIn], where: str) -> dict[str, Rule]:
    merged = dict(rules)
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise RulesError(f"{where}: rule {entry.id!r} appears twice")
        seen.add(entry.id)
        if entry.disabled:
            if entry.id not in merged:
                raise RulesError(f"{where}: rule {entry.id!r} is disabled but no such rule exists")
            del merged[entry.id]
        else:
            merged[entry.id] = entry.to_rule()  # same id: replaced where it stood; new: appended
    _require_unambiguous(merged.values(), where)
    return merged


def _require_unambiguous(rules: Iterable[Rule], where: str) -> None:
    """Two rules for the same kind, step and conditions would make rule_for's choice arbitrary."""
    seen: dict[tuple[Any, ...], str] = {}
    for rule in rules:
        key = (rule.kind, rule.step, frozenset(rule.when.items()))
        if key in seen:
            raise RulesError(f"{where}: rules {seen[key]!r} and {rule.id!r} both apply to {rule.kind} "
                             f"step {rule.step} when {dict(rule.when)}; change or disable one")
        seen[key] = rule.id


# --- the calendar ---------------------------------------------------------------------------

def load_calendar(zone: str = DEFAULT_ZONE, days_off_file: Path | None = None) -> WorkCalendar:
    """The ward's working-day calendar: its zone, and the days off it adds (YAML or CSV list)."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise RulesError(f"unknown time zone {zone!r}") from error
    days = frozenset(_read_days_off(days_off_file)) if days_off_file is not None else frozenset()
    return WorkCalendar(zone=zone, days_off=days)


def _read_days_off(path: Path) -> list[date]:
    text = _read(path)
    if Path(path).suffix.lower() == ".csv":
        return _days_from_csv(text, str(path))
    return _days_from_yaml(text, str(path))


def _days_from_csv(text: str, where: str) -> list[date]:
    """One day a row, ISO date in the first column; a header, blank rows and # comments are skipped."""
    days = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        first = row[0].strip() if row else ""
        if not first or first.startswith("#") or (line == 1 and first.lower() == "date"):
            continue
        days.append(_day(first, f"{where}: line {line}"))
    return days


def _days_from_yaml(text: str, where: str) -> list[date]:
    """A list of days (2026-05-04, or {date: 2026-05-04, reason: ...}), or {days_off: [...]}."""
    data = _yaml(text, where)
    if data is None:
        return []
    if isinstance(data, Mapping) and set(data) == {"days_off"}:
        data = data["days_off"] or []
    if not isinstance(data, list):
        raise RulesError(f"{where}: expected a list of days off (or a mapping with one key, 'days_off')")
    days = []
    for index, item in enumerate(data, start=1):
        value = item.get("date") if isinstance(item, Mapping) else item
        days.append(_day(value, f"{where}: day #{index}"))
    return days


def _day(value: Any, where: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RulesError(f"{where}: {value!r} is not a date (write YYYY-MM-DD)")
