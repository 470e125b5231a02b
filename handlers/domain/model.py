"""Records the core works with: plain dataclasses, filled and stored by `storage/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    kind: str  # "commune" | "group" | "department"
    parent_id: int | None = None


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


@dataclass
class Case:
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
