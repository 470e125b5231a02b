"""Monthly updates of the residential groups to the ward police, and each of their revisions;
indexes for the ward's roll-ups (cases received and closed, events of a period).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=False).with_variant(postgresql.JSONB(none_as_null=False), "postgresql")


def upgrade() -> None:
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("nothing_new", sa.Boolean(), nullable=False),
        sa.Column("counts", json(), nullable=False),
        sa.Column("risks", json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("differences", json(), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_unit_id"], ["units.id"], name="fk_monthly_reports_group_unit_id_units"),
        sa.ForeignKeyConstraint(["submitted_by"], ["people.id"], name="fk_monthly_reports_submitted_by_people"),
        sa.PrimaryKeyConstraint("id", name="pk_monthly_reports"),
        sa.UniqueConstraint("group_unit_id", "period", name="uq_monthly_reports_group_unit_id_period"),
    )
    op.create_index("ix_monthly_reports_period", "monthly_reports", ["period"])
    op.create_table(
        "monthly_report_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", json(), nullable=False),
        sa.Column("by", sa.Integer(), nullable=True),
        sa.Column("at", utc(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["monthly_reports.id"],
                                name="fk_monthly_report_revisions_report_id_monthly_reports", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by"], ["people.id"], name="fk_monthly_report_revisions_by_people"),
        sa.PrimaryKeyConstraint("id", name="pk_monthly_report_revisions"),
    )
    op.create_index("ix_monthly_report_revisions_report_id", "monthly_report_revisions", ["report_id"])
    op.create_index("ix_cases_commune_unit_id_created_at", "cases", ["commune_unit_id", "created_at"])
    op.create_index("ix_cases_commune_unit_id_closed_at", "cases", ["commune_unit_id", "closed_at"])
    op.create_index("ix_case_events_kind_at", "case_events", ["kind", "at"])
    op.create_index("ix_case_events_case_id_kind_at", "case_events", ["case_id", "kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_case_events_case_id_kind_at", table_name="case_events")
    op.drop_index("ix_case_events_kind_at", table_name="case_events")
    op.drop_index("ix_cases_commune_unit_id_closed_at", table_name="cases")
    op.drop_index("ix_cases_commune_unit_id_created_at", table_name="cases")
    op.drop_index("ix_monthly_report_revisions_report_id", table_name="monthly_report_revisions")
    op.drop_table("monthly_report_revisions")
    op.drop_index("ix_monthly_reports_period", table_name="monthly_reports")
    op.drop_table("monthly_reports")
