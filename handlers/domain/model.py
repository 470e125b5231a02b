"""Records the core works with: plain dataclasses, filled and stored by `storage/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Fields of a dispute, in the order the form shows them (codes are stored; labels are in the catalogs).
DISPUTE_FIELDS: tuple[str, ...] = (
    "land",
    "family",
    "environment",
    "construction",
    "public_order",
    "civil",
    "labour",
    "other",
)

CASE_KIND_DISPUTE = "dispute"
CASE_KIND_TIPOFF = "tipoff"  # a crime tip-off: police roles only, the reporter never named
STATUS_NEW = "new"


@dataclass
class Person:
    id: int
    language: str
    consent_at: datetime | None
    consent_version: str | None


@dataclass
class Unit:
    """A node of the ward's tree: commune/ward, residential group, department."""

    id: int
    code: str
    name: str
    kind: str  # "commune" | "group" | "department" | "team"
    parent_id: int | None = None
    function: str | None = None  # a department's job (handlers.domain.roles.DEPARTMENT_FUNCTIONS)
    settings: dict[str, Any] = field(default_factory=dict)  # a ward's: {"routing": {field: unit code}}


@dataclass
class FormSession:
    """A form in progress: which step, the answers so far, and when it expires.

    `id` is None until stored; `version` guards against two updates racing on one form.
    """

    id: int | None
    person_id: int
    form: str
    step: str
    answers: dict[str, Any]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int = 0
    platform: str = ""
    chat_id: str = ""


@dataclass
class NewCase:
    kind: str
    field: str
    commune_unit_id: int | None
    group_unit_id: int | None
    address: str | None
    latitude: float | None
    longitude: float | None
    summary: str
    people_count: int | None
    danger_now: bool
    urgent: bool
    urgency_reasons: list[str]
    reporter_id: int | None
    contact_phone: str | None
    created_at: datetime
    code_year: int
    status: str = STATUS_NEW
    step: int = 1
    channel: str = ""
    step_started_at: datetime | None = None
    step_due_at: datetime | None = None
    step_rule: str | None = None
    lead_unit_id: int | None = None  # the department that leads it (handlers.domain.routing)
    nature: str | None = None  # known at once for a tip-off (crime)
    confidential: bool = False  # a tip-off: the reporter's identity is protected


@dataclass
class Case:
    """A case as the workflow and the screens see it (the reporter's contact is not here)."""

    id: int
    code: str
    kind: str
    field: str
    status: str
    step: int
    urgent: bool
    summary: str
    group_unit_id: int | None
    reporter_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int = 0
    nature: str | None = None
    complexity: str | None = None
    people_count: int | None = None
    danger_now: bool = False
    urgency_reasons: tuple[str, ...] = ()
    commune_unit_id: int | None = None
    address: str | None = None
    lead_unit_id: int | None = None
    assignee_id: int | None = None
    assigned_unit_id: int | None = None
    intervention: str | None = None
    transfer_to: str | None = None
    outcome: str | None = None
    mediation_record: dict[str, str] | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    channel: str = ""
    step_started_at: datetime | None = None
    step_due_at: datetime | None = None
    step_rule: str | None = None

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass
class OutboxMessage:
    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    dedupe_key: str | None
    attempts: int
    ephemeral: bool = False
    urgent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseEvent:
    id: int
    case_id: int
    actor_id: int | None
    kind: str
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class Party:
    id: int
    name: str
    role: str
    contact: str | None


@dataclass(frozen=True)
class MediationSession:
    id: int
    held_on: date
    place: str
    mediators: str
    note: str | None


@dataclass(frozen=True)
class Commitment:
    id: int
    text: str
    check_on: date
    status: str


@dataclass(frozen=True)
class CaseScope:
    """Which cases a list may show: all of them (police), or those of some units, never crime."""

    everything: bool = False
    group_ids: frozenset[int] = frozenset()
    team_ids: frozenset[int] = frozenset()
    department_ids: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.group_ids or self.team_ids or self.department_ids)


@dataclass(frozen=True)
class CaseFilter:
    """A case list's filter; None means any."""

    assignee_id: int | None = None
    status: str | None = None
    urgent: bool | None = None
    step: int | None = None
    field: str | None = None
    group_unit_id: int | None = None
    open_only: bool = True
    overdue_at: datetime | None = None  # only cases whose open step was due before this moment


@dataclass(frozen=True)
class Invite:
    id: int
    role: str
    unit_id: int
    person_id: int | None
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Contact:
    """Where to reach a person: one of their chat accounts."""

    person_id: int
    platform: str
    chat_id: str
    language: str


@dataclass(frozen=True)
class Reminder:
    """A due reminder as the sweep sees it: what to do (`kind`, `level`) about which case step."""

    id: int
    case_id: int | None
    kind: str
    rule_id: str | None
    step: int | None
    due_at: datetime
    level: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkin:
    """A follow-up question after a successful mediation, asked of one person on one day."""

    id: int
    case_id: int
    day: int
    person_id: int
    answer: str | None


@dataclass(frozen=True)
class MonthlyReport:
    """A residential group's monthly update for one reporting month (see storage/monthly.py)."""

    id: int
    group_unit_id: int
    period: str
    nothing_new: bool
    counts: dict[str, Any]
    risks: dict[str, Any]
    notes: str | None
    differences: dict[str, Any]
    submitted_by: int | None
    submitted_at: datetime
    updated_at: datetime
    late: bool
    version: int
