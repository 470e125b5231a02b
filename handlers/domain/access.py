"""Who may see and do what with a case. Services check this on every read and every write.

- Signs-of-crime cases and crime tip-offs: police roles (officer, head) only.
- Police: every case, every action.
- A leader: the cases of their residential group; a mediator: the cases assigned to their team;
  a department member: the cases their department leads or is assigned.
- An admin manages the ward's structure and reads no case through this.
- A reporter sees their own cases through /status, never through these staff screens.
"""

from __future__ import annotations

from handlers.domain import workflow as wf
from handlers.domain.model import CASE_KIND_TIPOFF, Case, CaseScope
from handlers.domain.roles import LEADER, MEDIATOR, MEMBER, Actor

VIEW, HISTORY = "view", "history"
ACKNOWLEDGE, TAKE, ASSIGN, CLASSIFY = "acknowledge", "take", "assign", "classify"
NOTE, PARTY, VERIFY, PLAN = "note", "party", "verify", "plan"
SESSION, OUTCOME, COMMITMENT, CLOSE, REOPEN = "session", "outcome", "commitment", "close", "reopen"
ACTIONS: tuple[str, ...] = (
    ACKNOWLEDGE, TAKE, CLASSIFY, NOTE, PARTY, VERIFY, PLAN, ASSIGN, SESSION, OUTCOME, COMMITMENT,
    CLOSE, REOPEN, HISTORY,
)

# What each non-police scope may do; police may do everything.
_LEADER_ACTIONS = frozenset({VIEW, NOTE, PARTY, SESSION, OUTCOME, COMMITMENT, REOPEN})
_MEDIATOR_ACTIONS = frozenset({VIEW, NOTE, PARTY, SESSION, OUTCOME, COMMITMENT})
_MEMBER_ACTIONS = frozenset({VIEW, NOTE, PARTY})
_MEDIATION_ONLY = frozenset({SESSION, OUTCOME, COMMITMENT})


def can_view(actor: Actor, case: Case) -> bool:
    return can(actor, VIEW, case)


def can(actor: Actor, action: str, case: Case) -> bool:
    """Whether the actor's roles allow `action` on `case` (not whether the step allows it)."""
    if actor.is_police:
        return True
    if case.nature == wf.CRIME or case.kind == CASE_KIND_TIPOFF:
        return False
    allowed = _scoped_actions(actor, case)
    if action in _MEDIATION_ONLY and case.intervention != wf.MEDIATION:
        return False
    return action in allowed


def _scoped_actions(actor: Actor, case: Case) -> frozenset[str]:
    allowed: frozenset[str] = frozenset()
    if case.group_unit_id is not None and case.group_unit_id in actor.units(LEADER):
        allowed |= _LEADER_ACTIONS
    if case.assigned_unit_id is not None and case.assigned_unit_id in actor.units(MEDIATOR):
        allowed |= _MEDIATOR_ACTIONS
    if {case.lead_unit_id, case.assigned_unit_id} & actor.units(MEMBER):
        allowed |= _MEMBER_ACTIONS
    return allowed


def possible(action: str, case: Case, actor: Actor) -> bool:
    """Whether the case's state makes `action` meaningful now (for showing buttons)."""
    open_ = not case.is_closed
    step = case.step
    return {
        ACKNOWLEDGE: open_ and case.acknowledged_at is None,
        TAKE: open_ and case.assignee_id != actor.person_id,
        ASSIGN: open_,
        CLASSIFY: open_,
        NOTE: open_,
        PARTY: open_,
        VERIFY: open_ and step == wf.VERIFY,
        PLAN: open_ and (step == wf.PLAN or (step == wf.RESOLVE and case.outcome is None)),
        SESSION: open_ and step == wf.RESOLVE and case.intervention == wf.MEDIATION and case.outcome is None,
        OUTCOME: open_ and step == wf.RESOLVE,
        COMMITMENT: open_ and step == wf.MONITOR,
        CLOSE: open_ and step == wf.MONITOR,
        REOPEN: case.is_closed,
        HISTORY: True,
    }.get(action, False)


def available_actions(actor: Actor, case: Case) -> tuple[str, ...]:
    """The actions to offer on the case card, in a stable order."""
    return tuple(a for a in ACTIONS if can(actor, a, case) and possible(a, case, actor))


def scope_of(actor: Actor) -> CaseScope:
    """The cases a list may show to the actor (the same rules as `can_view`, as a query)."""
    if actor.is_police:
        return CaseScope(everything=True)
    return CaseScope(group_ids=actor.units(LEADER), team_ids=actor.units(MEDIATOR),
                     department_ids=actor.units(MEMBER))
