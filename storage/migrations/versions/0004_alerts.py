"""Alerts, follow-ups and restarts: the officers' duty shifts (urgent alerts go to whoever is on
duty), the check-ins after a successful mediation, the one reminder of an abandoned form, and
the worker that holds an outbox lease (a restarted worker takes back at once what it held).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


CHECKIN_ANSWERS = "answer IN ('yes', 'partly', 'no')"
# A reminder whose action kept failing is set aside as `failed` instead of blocking its batch.
REMINDER_STATUSES = "status IN ('pending', 'done', 'cancelled', 'failed')"
OLD_REMINDER_STATUSES = "status IN ('pending', 'done', 'cancelled')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
    with op.batch_alter_table("form_sessions") as batch:
        batch.add_column(sa.Column("reminded_at", utc(), nullable=True))
    _reminder_statuses(REMINDER_STATUSES)

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", utc(), nullable=False),
        sa.Column("ends_at", utc(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_duty_shifts_person_id_people",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_duty_shifts_unit_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_duty_shifts"),
    )
    op.create_index("ix_duty_shifts_person_id", "duty_shifts", ["person_id"])
    op.create_index("ix_duty_shifts_unit_id_ends_at", "duty_shifts", ["unit_id", "ends_at"])

    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", utc(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answered_at", utc(), nullable=True),
        sa.CheckConstraint(CHECKIN_ANSWERS, name=op.f("ck_checkins_answer")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_checkins_case_id_cases", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_checkins_person_id_people",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_checkins"),
        sa.UniqueConstraint("case_id", "day", "person_id", name="uq_checkins_case_id_day_person_id"),
    )
    op.create_index("ix_checkins_case_id", "checkins", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_checkins_case_id", table_name="checkins")
    op.drop_table("checkins")
    op.drop_index("ix_duty_shifts_unit_id_ends_at", table_name="duty_shifts")
    op.drop_index("ix_duty_shifts_person_id", table_name="duty_shifts")
    op.drop_table("duty_shifts")
    op.execute("UPDATE reminders SET status = 'cancelled' WHERE status = 'failed'")
    _reminder_statuses(OLD_REMINDER_STATUSES)
    with op.batch_alter_table("form_sessions") as batch:
        batch.drop_column("reminded_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_owner")


def _reminder_statuses(check: str) -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.drop_constraint(op.f("ck_reminders_status"), type_="check")
        batch.create_check_constraint(op.f("ck_reminders_status"), check)
