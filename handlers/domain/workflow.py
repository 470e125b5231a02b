"""The 5 steps of the ward plans as pure functions: (case, input) -> Change, or a WorkflowError.

Each step needs its data before the next (seed 001, "Quy trình 5 Bước"):
1 classify, 2 verify, 3 choose the intervention, 4 resolve, 5 record and monitor, then close.
A closed case can be reopened and goes back to verification; its history stays in the events.
Nothing here touches storage: services apply a Change to the case row (optimistic locking) and
append the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from handlers.domain.model import DISPUTE_FIELDS, Case

CLASSIFY, VERIFY, PLAN, RESOLVE, MONITOR = 1, 2, 3, 4, 5
STEPS: tuple[int, ...] = (CLASSIFY, VERIFY, PLAN, RESOLVE, MONITOR)
STEP_STATUS = {CLASSIFY: "new", VERIFY: "verifying", PLAN: "planning", RESOLVE: "resolving", MONITOR: "monitoring"}
CLOSED = "closed"

NATURES: tuple[str, ...] = ("civil", "administrative", "crime")
CRIME = "crime"
COMPLEXITIES: tuple[str, ...] = ("simple", "complex", "prolonged", "hotspot")
MEDIATION, CRIMINAL_REFERRAL, TRANSFER = "mediation", "criminal_referral", "transfer"
INTERVENTIONS: tuple[str, ...] = (MEDIATION, "legal_advice", "coordination", CRIMINAL_REFERRAL, TRANSFER)
CRIME_INTERVENTIONS = frozenset({CRIMINAL_REFERRAL, TRANSFER})
SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN, TRANSFERRED = "successful", "unsuccessful", "withdrawn", "transferred"
OUTCOMES: tuple[str, ...] = (SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN)
PARTY_ROLES: tuple[str, ...] = ("applicant", "respondent", "witness", "other")
# The record of successful mediation (Luật Hòa giải ở cơ sở 2013, Điều 24).
RECORD_PARTS: tuple[str, ...] = ("parties", "facts", "agreement", "execution")
MAX_REASON = 1000


class WorkflowError(Exception):
    """A refused move; `key` is the catalog message that explains it to the user."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Facts:
    """What the records around a case hold; some moves depend on it."""

    parties: int = 0
    notes: int = 0
    sessions: int = 0
    commitments: int = 0


@dataclass(frozen=True)
class Change:
    """What a move does: columns of the case to set, and the event that records it."""

    event: str
    values: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def moves_step(self) -> bool:
        return "step" in self.values or "status" in self.values


def status_for(step: int, closed: bool = False) -> str:
    return CLOSED if closed else STEP_STATUS[step]


def _to_step(step: int) -> dict[str, Any]:
    return {"step": step, "status": status_for(step)}


def _require_open(case: Case) -> None:
    if case.is_closed:
        raise WorkflowError("workflow.closed")


def _require_step(case: Case, *steps: int) -> None:
    _require_open(case)
    if case.step not in steps:
        raise WorkflowError("workflow.wrong_step", step=case.step)


def _require_choice(value: str | None, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise WorkflowError("workflow.invalid_choice", what=what)
    return value  # type: ignore[return-value]


def _changed(case: Case, values: dict[str, Any]) -> dict[str, Any]:
    """{column: [old, new]} for the event (stored as JSON), only for what really changes."""
    return {k: [_plain(getattr(case, k)), _plain(v)] for k, v in values.items() if getattr(case, k) != v}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


# --- step 1: classify -----------------------------------------------------------------------

def classify(case: Case, *, field_: str, nature: str, complexity: str, urgent: bool,
             people_count: int | None) -> Change:
    """Classify (or reclassify) an open case. Signs of crime after a civil plan send the case
    back to step 3: only a criminal referral or a transfer fits it now."""
    _require_open(case)
    values: dict[str, Any] = {
        "field": _require_choice(field_, DISPUTE_FIELDS, "field"),
        "nature": _require_choice(nature, NATURES, "nature"),
        "complexity": _require_choice(complexity, COMPLEXITIES, "complexity"),
        "urgent": bool(urgent),
        "people_count": _people_count(people_count),
    }
    if case.step == CLASSIFY:
        values.update(_to_step(VERIFY))
    elif nature == CRIME and case.intervention is not None and case.intervention not in CRIME_INTERVENTIONS:
        values.update(_to_step(PLAN), intervention=None, outcome=None, mediation_record=None)
    return Change("classified", values, _changed(case, values))


def _people_count(value: int | None) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 100_000:
        raise WorkflowError("workflow.invalid_choice", what="people")
    return value


# --- step 2: verify -------------------------------------------------------------------------

def add_note(case: Case, text: str) -> Change:
    _require_open(case)
    return Change("note", {}, {"text": _required_text(text)})


def add_party(case: Case, *, name: str, role: str, contact: str | None) -> Change:
    _require_open(case)
    data = {"name": _required_text(name, 200), "role": _require_choice(role, PARTY_ROLES, "party_role")}
    return Change("party_added", {}, data | {"has_contact": bool(contact and contact.strip())})


def complete_verification(case: Case, facts: Facts) -> Change:
    _require_step(case, VERIFY)
    if facts.parties < 1:
        raise WorkflowError("workflow.need_parties")
    if facts.notes < 1:
        raise WorkflowError("workflow.need_notes")
    values = _to_step(PLAN)
    return Change("verified", values, _changed(case, values))


# --- step 3: choose the intervention --------------------------------------------------------

def choose_intervention(case: Case, intervention: str, transfer_to: str | None = None) -> Change:
    """At step 3, or at step 4 before an outcome (a change of plan). A transfer beyond the
    ward's authority ends the ward's part: the case goes to monitoring."""
    _require_step(case, PLAN, RESOLVE)
    if case.step == RESOLVE and case.outcome is not None:
        raise WorkflowError("workflow.outcome_recorded")
    _require_choice(intervention, INTERVENTIONS, "intervention")
    if case.nature == CRIME and intervention not in CRIME_INTERVENTIONS:
        raise WorkflowError("workflow.crime_needs_referral")
    if intervention == CRIMINAL_REFERRAL and case.nature != CRIME:
        raise WorkflowError("workflow.referral_needs_crime")
    values: dict[str, Any] = {"intervention": intervention, "transfer_to": None}
    if intervention == TRANSFER:
        values.update(_to_step(MONITOR), transfer_to=_required_text(transfer_to, 500), outcome=TRANSFERRED)
    else:
        values.update(_to_step(RESOLVE))
    return Change("intervention_chosen", values, _changed(case, values))


# --- step 4: resolve ------------------------------------------------------------------------

def record_session(case: Case) -> Change:
    _require_step(case, RESOLVE)
    if case.intervention != MEDIATION:
        raise WorkflowError("workflow.not_mediation")
    if case.outcome is not None:
        raise WorkflowError("workflow.outcome_recorded")
    return Change("session_recorded")


def record_outcome(case: Case, outcome: str, facts: Facts, record: dict[str, str] | None = None) -> Change:
    """A mediation needs a session first (unless withdrawn); a successful one needs its record."""
    _require_step(case, RESOLVE)
    _require_choice(outcome, OUTCOMES, "outcome")
    values: dict[str, Any] = {"outcome": outcome, "mediation_record": None}
    if case.intervention == MEDIATION and outcome != WITHDRAWN and facts.sessions < 1:
        raise WorkflowError("workflow.need_session")
    if case.intervention == MEDIATION and outcome == SUCCESSFUL:
        values["mediation_record"] = _complete_record(record)
    values.update(_to_step(MONITOR))
    return Change("outcome_recorded", values, _changed(case, values))


def _complete_record(record: dict[str, str] | None) -> dict[str, str]:
    record = record or {}
    missing = [part for part in RECORD_PARTS if not (record.get(part) or "").strip()]
    if missing:
        raise WorkflowError("workflow.record_incomplete", missing=",".join(missing))
    return {part: record[part].strip() for part in RECORD_PARTS}


# --- step 5: record and monitor, close, reopen ---------------------------------------------

def add_commitment(case: Case, text: str) -> Change:
    _require_step(case, MONITOR)
    return Change("commitment_added", {}, {"text": _required_text(text)})


def close(case: Case, facts: Facts, now: datetime) -> Change:
    _require_step(case, MONITOR)
    if case.intervention == MEDIATION and case.outcome == SUCCESSFUL and facts.commitments < 1:
        raise WorkflowError("workflow.need_commitment")
    values = {"status": CLOSED, "closed_at": now}
    return Change("closed", values, {"status": [case.status, CLOSED]})


def reopen(case: Case, reason: str) -> Change:
    """"It happened again": back to verification; the earlier round stays in the history."""
    if not case.is_closed:
        raise WorkflowError("workflow.not_closed")
    values: dict[str, Any] = {
        **_to_step(VERIFY), "closed_at": None, "intervention": None, "transfer_to": None, "outcome": None,
        "mediation_record": None, "reopen_count": case.reopen_count + 1,
    }
    return Change("reopened", values, _changed(case, values) | {"reason": _required_text(reason)})


# --- at any open step -----------------------------------------------------------------------

def acknowledge(case: Case, actor_id: int, now: datetime) -> Change:
    _require_open(case)
    if case.acknowledged_at is not None:
        raise WorkflowError("workflow.already_acknowledged")
    return Change("acknowledged", {"acknowledged_at": now, "acknowledged_by": actor_id})


def assign(case: Case, *, person_id: int | None = None, unit_id: int | None = None) -> Change:
    """To an officer (person), or to a department or mediation team (unit)."""
    _require_open(case)
    if (person_id is None) == (unit_id is None):
        raise WorkflowError("workflow.invalid_choice", what="assignee")
    values = {"assignee_id": person_id} if person_id is not None else {"assigned_unit_id": unit_id}
    if not _changed(case, values):
        raise WorkflowError("workflow.already_assigned")
    return Change("assigned", values, _changed(case, values))


def take(case: Case, actor_id: int, now: datetime) -> Change:
    """An officer takes the case: assigned to them, and acknowledged if nobody had."""
    _require_open(case)
    if case.assignee_id == actor_id:
        raise WorkflowError("workflow.already_assigned")
    values: dict[str, Any] = {"assignee_id": actor_id}
    if case.acknowledged_at is None:
        values.update(acknowledged_at=now, acknowledged_by=actor_id)
    return Change("taken", values, {"assignee_id": [case.assignee_id, actor_id]})


def _required_text(text: str | None, limit: int = MAX_REASON) -> str:
    value = (text or "").strip()
    if not value:
        raise WorkflowError("workflow.text_required")
    if len(value) > limit:
        raise WorkflowError("workflow.text_too_long", limit=limit)
    return value
