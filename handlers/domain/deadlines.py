"""Deadline rules: which time limit applies to a case step, and when it is due and reminded.

Pure, so the core can set a step's due time in the same transaction that moves the case. The
rules themselves (legal defaults and a ward's changes) are loaded at the edge, scheduler/rules.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from handlers.domain.calendar import WorkCalendar

KINDS: tuple[str, ...] = ("dispute", "tipoff", "complaint", "denunciation", "petition", "group_report")
# The facts a rule's `when` may test; rule_for receives each of them.
CONDITIONS: tuple[str, ...] = ("urgent", "intervention", "event")
# Limits that start with something happening rather than with a step: looked up with `event=`.
MEDIATION_RISK = "mediation_risk"  # violence risk or signs of a violation found in a mediation
EVENTS: tuple[str, ...] = (MEDIATION_RISK,)
WARD_PRACTICE = "Thực tiễn phường (mặc định, có thể đổi)"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One time limit: for a case kind and step (None: any step), under `when` conditions.

    `source` is the legal basis users can check, or WARD_PRACTICE for a default the ward chose.
    `remind_before_days` is in working days; 0 means no reminder before the due time.
    """

    id: str
    kind: str
    step: int | None
    limit: int
    unit: str
    source: str
    note: str = ""
    when: Mapping[str, object] = field(default_factory=dict, hash=False)
    remind_before_days: int = 1

    def holds(self, facts: Mapping[str, object]) -> bool:
        return all(facts.get(key) == value for key, value in self.when.items())

    @property
    def specificity(self) -> tuple[bool, int]:
        """A rule for one step beats an any-step rule; then more conditions beat fewer."""
        return (self.step is not None, len(self.when))


def rule_for(rules: Iterable[Rule], *, kind: str, step: int | None, urgent: bool = False,
             intervention: str | None = None, event: str | None = None) -> Rule | None:
    """The most specific rule that matches; on a tie the first one listed wins.

    A rule whose `when` names an event matches only when that event is passed.
    """
    facts = {"urgent": bool(urgent), "intervention": intervention, "event": event}
    best: Rule | None = None
    for rule in rules:
        if rule.kind != kind or rule.step not in (None, step) or not rule.holds(facts):
            continue
        if best is None or rule.specificity > best.specificity:
            best = rule
    return best


def due_at(rule: Rule, start_utc: datetime, calendar: WorkCalendar) -> datetime:
    """When the step started at `start_utc` is due under `rule` (UTC)."""
    return calendar.add(start_utc, rule.limit, rule.unit)


def remind_at(rule: Rule, due: datetime, calendar: WorkCalendar, start: datetime | None = None) -> datetime:
    """`remind_before_days` working days before `due`, at the same local time of day.

    When the rule asks for no early reminder (0, e.g. hour limits), or the early one would not
    fall after `start` (a step that short is announced when it is assigned), the reminder is
    the due time itself: the first message the assignee gets is the overdue one.
    """
    if rule.remind_before_days <= 0:
        return due
    moment = calendar.subtract_working_days(due, rule.remind_before_days)
    if start is not None and moment <= start:
        return due
    return moment
