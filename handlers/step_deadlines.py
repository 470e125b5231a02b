"""Each open case step has a due time, set in the transaction that moves the case.

The rule is the most specific one for the case's kind, step, urgency and intervention
(handlers/domain/deadlines.py, defaults in scheduler/rules.yaml); the clock starts when the
step begins. A change that keeps the step but changes the rule (e.g. marked urgent, or a
mediation chosen) recomputes the due time from the same start. A closed case has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handlers.domain import deadlines
from handlers.domain.model import Case

if TYPE_CHECKING:
    from handlers.services import Conversation, CoreConfig

NO_DEADLINE = {"step_started_at": None, "step_due_at": None, "step_rule": None}


@dataclass(frozen=True)
class StepDeadline:
    rule_id: str
    due_at: datetime
    remind_at: datetime


def deadline_for(config: CoreConfig, *, kind: str, step: int, urgent: bool, intervention: str | None,
                 started_at: datetime) -> StepDeadline | None:
    """The due time of a step begun at `started_at`; None when no rule applies."""
    rule = deadlines.rule_for(config.rules, kind=kind, step=step, urgent=urgent, intervention=intervention)
    if rule is None:
        return None
    due = deadlines.due_at(rule, started_at, config.calendar)
    return StepDeadline(rule.id, due, deadlines.remind_at(rule, due, config.calendar, start=started_at))


def deadline_of(config: CoreConfig, case: Case, started_at: datetime) -> StepDeadline | None:
    if case.is_closed:
        return None
    return deadline_for(config, kind=case.kind, step=case.step, urgent=case.urgent,
                        intervention=case.intervention, started_at=started_at)


def deadline_values(config: CoreConfig, before: Case | None, after: Case, now: datetime) -> dict[str, Any]:
    """The deadline columns to set for a move from `before` (None: a new case) to `after`."""
    if after.is_closed:
        return dict(NO_DEADLINE) if before is not None and before.step_rule is not None else {}
    new_step = before is None or before.is_closed or before.step != after.step
    started = now if new_step or after.step_started_at is None else after.step_started_at
    deadline = deadline_of(config, after, started)
    if not new_step and (deadline.rule_id if deadline else None) == after.step_rule:
        return {}
    if deadline is None:
        return {**NO_DEADLINE, "step_started_at": started}
    return {"step_started_at": started, "step_due_at": deadline.due_at, "step_rule": deadline.rule_id}


async def sync_reminder(conv: Conversation, before: Case | None, after: Case) -> None:
    """Keep the case's step reminder in line with its deadline (after the case row is written)."""
    if before is not None and (before.step_rule, before.step_due_at) == (after.step_rule, after.step_due_at):
        return
    deadline = deadline_of(conv.config, after, after.step_started_at) if after.step_started_at else None
    if deadline is None:
        await conv.uow.reminders.cancel(after.id, "step_due", conv.now)
        return
    await conv.uow.reminders.replace_step_reminder(after.id, rule_id=deadline.rule_id, step=after.step,
                                                   remind_at=deadline.remind_at, due_at=deadline.due_at,
                                                   now=conv.now)
