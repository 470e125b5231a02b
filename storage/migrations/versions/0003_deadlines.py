"""Time as data: each open case step's due time, and the reminders the scheduler acts on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

REMINDER_STATUSES = "status IN ('pending', 'done', 'cancelled')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json(nullable: bool = False) -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=nullable).with_variant(postgresql.JSONB(none_as_null=nullable), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("step_started_at", utc(), nullable=True))
        batch.add_column(sa.Column("step_due_at", utc(), nullable=True))
        batch.add_column(sa.Column("step_rule", sa.String(length=64), nullable=True))
        batch.create_index("ix_cases_step_due_at", ["step_due_at"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("due_at", utc(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="pending"),
        sa.Column("lease_until", utc(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("data", json(nullable=True), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.CheckConstraint(REMINDER_STATUSES, name=op.f("ck_reminders_status")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_reminders_case_id_cases", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
    )
    op.create_index("ix_reminders_status_due_at", "reminders", ["status", "due_at"])
    op.create_index("ix_reminders_case_id", "reminders", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_reminders_case_id", table_name="reminders")
    op.drop_index("ix_reminders_status_due_at", table_name="reminders")
    op.drop_table("reminders")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_step_due_at")
        batch.drop_column("step_rule")
        batch.drop_column("step_due_at")
        batch.drop_column("step_started_at")
