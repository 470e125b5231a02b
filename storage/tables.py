"""The database schema as SQLAlchemy 2 typed models; works on SQLite and PostgreSQL.

Repositories turn rows into the dataclasses of `handlers.domain.model`; nothing outside
`storage/` sees these classes.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

# Stable constraint names, so Alembic can alter and drop them later on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UNIT_KINDS = ("commune", "group", "department", "team")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
REMINDER_STATUSES = ("pending", "done", "cancelled", "failed")
CHECKIN_ANSWERS = ("yes", "partly", "no")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite keeps no zone, so it is added back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass timezone-aware UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def json_type(*, nullable: bool = False) -> TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL; a nullable column stores None as SQL NULL."""
    return JSON(none_as_null=nullable).with_variant(JSONB(none_as_null=nullable), "postgresql")


def _check_in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class UnitRow(Base):
    __tablename__ = "units"
    __table_args__ = (CheckConstraint(_check_in("kind", UNIT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    function: Mapped[str | None] = mapped_column(String(32))  # a department's job: police, culture, ...
    settings: Mapped[dict[str, Any] | None] = mapped_column(json_type(nullable=True))  # a ward's routing


class PersonRow(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)  # the ward file's key for staff
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class MembershipRow(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default="invite", server_default="invite")  # or "import"


# Every column the ward's roll-up reads (storage/reports.py), a ward's cases in creation order:
# its one pass over a ward's cases is an index-only scan. The table is read only for the listed cases.
ROLLUP_COLUMNS = ("commune_unit_id", "created_at", "closed_at", "outcome_at", "urgent", "field", "nature",
                  "outcome", "intervention")


class CaseRow(Base):
    __tablename__ = "cases"
    # The ward's roll-ups: see ROLLUP_COLUMNS; for every ward at once, the cases open at a period's
    # end (open now, or closed since); reopened cases.
    __table_args__ = (Index("ix_cases_rollup", *ROLLUP_COLUMNS),
                      Index("ix_cases_closed_at", "closed_at"),
                      Index("ix_cases_reopened", "commune_unit_id", "closed_at", "id",
                            postgresql_where=text("reopen_count > 0"), sqlite_where=text("reopen_count > 0")),
                      Index("ix_cases_open_created_at", "created_at", "id",
                            postgresql_where=text("closed_at IS NULL"), sqlite_where=text("closed_at IS NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(32))
    nature: Mapped[str | None] = mapped_column(String(32))
    complexity: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency_reasons: Mapped[list[str]] = mapped_column(json_type(), default=list)
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False)
    people_count: Mapped[int | None]
    step: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32), index=True)
    commune_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    group_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="")
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    assigned_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    intervention: Mapped[str | None] = mapped_column(Text)
    transfer_to: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None]  # when the current outcome was recorded (set by storage)
    mediation_record: Mapped[dict[str, Any] | None] = mapped_column(json_type(nullable=True))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The open step's deadline (handlers/domain/deadlines.py): when it began, when it is due, by which rule.
    step_started_at: Mapped[datetime | None]
    step_due_at: Mapped[datetime | None] = mapped_column(index=True)
    step_rule: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)

    # Optimistic locking: every ORM update checks and bumps `version`.
    __mapper_args__ = {"version_id_col": version}


class BlobRow(Base):
    """A file the bot sends (a report's chart or spreadsheet), by content: outbox payloads name
    it by `sha256`, so several messages share one copy and the outbox rows stay small."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)


class SealedIdentityRow(Base):
    """A confidential reporter's identity, encrypted (storage/identity_vault.py) and apart from the
    case: nothing here says which case it belongs to, the case points at it."""

    __tablename__ = "sealed_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # a Fernet token of the JSON
    key_hint: Mapped[str] = mapped_column(String(16), index=True)  # sha256(key)[:8], not secret
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]  # last re-sealed with a new key (`hoagiai keys rotate`)


TIPOFF_MODES = ("anonymous", "confidential")
TIPOFF_SENDERS = ("reporter", "police")


class TipoffRow(Base):
    """A crime tip-off's own record beside its case: how the reporter chose to be known, the
    hashes of the receipt code and PIN they were shown once, and (confidential only) the sealed
    identity. The case itself never names the reporter (`cases.reporter_id` stays NULL)."""

    __tablename__ = "tipoffs"
    __table_args__ = (CheckConstraint(_check_in("mode", TIPOFF_MODES), name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    mode: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer, unique=True)  # officers see "Người báo tin #<number>"
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("sealed_identities.id", ondelete="SET NULL"))
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(255))
    failed_pins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    happening_now: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class TipoffMessageRow(Base):
    """The anonymous dialogue: the reporter sees the unit, never the officer (`officer_id` is
    for the audit only)."""

    __tablename__ = "tipoff_messages"
    __table_args__ = (CheckConstraint(_check_in("sender", TIPOFF_SENDERS), name="sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tipoff_id: Mapped[int] = mapped_column(ForeignKey("tipoffs.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(10))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    files: Mapped[list[dict[str, Any]]] = mapped_column(json_type(), default=list)
    at: Mapped[datetime]


class ReceiptCheckRow(Base):
    """A failed tip-off receipt check (unknown code or wrong PIN) by an account: a few an hour
    are allowed (storage/receipt_checks.py). Never the code tried, so no row names a tip-off."""

    __tablename__ = "receipt_checks"
    __table_args__ = (Index("ix_receipt_checks_person_id_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    at: Mapped[datetime]


PRIVACY_KINDS = ("export", "withdraw", "delete")
PRIVACY_STATUSES = ("received", "done")


class PrivacyRequestRow(Base):
    """A person's request over their data (export, withdraw consent, delete), with its dates:
    the law wants it acknowledged within 2 working days. Kept after the person is erased."""

    __tablename__ = "privacy_requests"
    __table_args__ = (CheckConstraint(_check_in("kind", PRIVACY_KINDS), name="kind"),
                      CheckConstraint(_check_in("status", PRIVACY_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)


class CaseEventRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "case_events"
    # What happened in a period; and a case's events of a kind (the roll-up's outcome checks).
    __table_args__ = (Index("ix_case_events_kind_at", "kind", "at"),
                      Index("ix_case_events_case_id_kind_at", "case_id", "kind", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    at: Mapped[datetime]


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class InviteRow(Base):
    """A one-time code (only its SHA-256 is kept) that grants a role in a unit."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))  # an imported person
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]


class CasePartyRow(Base):
    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # applicant, respondent, witness, other
    contact: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class MediationSessionRow(Base):
    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(Text)
    mediators: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class CommitmentRow(Base):
    """What the parties promised in mediation, and the date to check it is kept."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    check_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class ReminderRow(Base):
    """Something the scheduler must do at `due_at` (remind, escalate, re-alert, check in); the
    periodic sweep claims due rows with a lease, so several workers never act twice."""

    __tablename__ = "reminders"
    __table_args__ = (
        CheckConstraint(_check_in("status", REMINDER_STATUSES), name="status"),
        Index("ix_reminders_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # step_due, urgent_alert, checkin, form_expiry
    rule_id: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[int | None]
    due_at: Mapped[datetime]
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # escalation level
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    data: Mapped[dict[str, Any] | None] = mapped_column(json_type(nullable=True))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DutyShiftRow(Base):
    """An officer on duty from `starts_at` to `ends_at`: urgent alerts and escalations go to
    whoever is on duty now."""

    __tablename__ = "duty_shifts"
    __table_args__ = (Index("ix_duty_shifts_unit_id_ends_at", "unit_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the police department
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]


class CheckinRow(Base):
    """One follow-up question after a successful mediation: asked of one person on one day
    (7, 30, 90 days after), and their answer (yes, partly, no) once given."""

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint(_check_in("answer", CHECKIN_ANSWERS), name="answer"),
        UniqueConstraint("case_id", "day", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    day: Mapped[int]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None]


class MonthlyReportRow(Base):
    """A residential group's monthly update to the ward police for one period ("2026-11"):
    "nothing new", or the counts, the risks and notes. One row per group and period; every
    submission and edit is kept in `monthly_report_revisions`."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("group_unit_id", "period"), Index("ix_monthly_reports_period", "period"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the reporting month
    nothing_new: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"new": {field: n}, "mediated": n, "successful": n, "unsuccessful": n, "open": n, "referred": n}
    counts: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    # {"hot_spot": bool, "mass_complaint": bool, "people": n | None, "note": str | None}
    risks: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    # What the case records said where the leader typed something else: {count: [records, typed]}
    differences: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MonthlyReportRevisionRow(Base):
    """Each submission and edit of a monthly update, as submitted (append-only)."""

    __tablename__ = "monthly_report_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_reports.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    values: Mapped[dict[str, Any]] = mapped_column(json_type())
    by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class FormSessionRow(Base):
    """One form in progress per person (the unique person_id)."""

    __tablename__ = "form_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    form: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    platform: Mapped[str] = mapped_column(String(20), default="")
    chat_id: Mapped[str] = mapped_column(String(128), default="")
    expires_at: Mapped[datetime] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]  # the one reminder before expiry was sent
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=0)


class InboundUpdateRow(Base):
    """Handled updates; the primary key is what makes handling exactly-once."""

    __tablename__ = "inbound_updates"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_check_in("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any] | None] = mapped_column(json_type(nullable=True))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the worker that holds the lease
    last_error: Mapped[str | None] = mapped_column(Text)
    ephemeral: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(json_type(), default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
