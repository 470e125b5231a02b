"""The ward's structure and the 5-step workflow: teams, roles, invites, parties, sessions, commitments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

OLD_UNIT_KINDS = "kind IN ('commune', 'group', 'department')"
NEW_UNIT_KINDS = "kind IN ('commune', 'group', 'department', 'team')"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json(nullable: bool = False) -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=nullable).with_variant(postgresql.JSONB(none_as_null=nullable), "postgresql")


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a check constraint in place, so the table is rebuilt.
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint(op.f("ck_units_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_units_kind"), NEW_UNIT_KINDS)
        batch.add_column(sa.Column("function", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("settings", json(nullable=True), nullable=True))

    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("full_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.create_unique_constraint("uq_people_ref", ["ref"])

    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="invite"))
    op.create_index("ix_memberships_person_id", "memberships", ["person_id"])

    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("assigned_unit_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("transfer_to", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mediation_record", json(nullable=True), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", utc(), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("closed_at", utc(), nullable=True))
        batch.add_column(sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key("fk_cases_assigned_unit_id_units", "units", ["assigned_unit_id"], ["id"])
        batch.create_foreign_key("fk_cases_acknowledged_by_people", "people", ["acknowledged_by"], ["id"])
        batch.create_index("ix_cases_assignee_id", ["assignee_id"])
        batch.create_index("ix_cases_assigned_unit_id", ["assigned_unit_id"])
        batch.create_index("ix_cases_lead_unit_id", ["lead_unit_id"])

    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("expires_at", utc(), nullable=False),
        sa.Column("used_at", utc(), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", utc(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_invites_unit_id_units", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_invites_person_id_people", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["used_by"], ["people.id"], name="fk_invites_used_by_people", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("code_hash", name="uq_invites_code_hash"),
    )

    op.create_table(
        "case_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_parties_case_id_cases"),
        sa.ForeignKeyConstraint(["created_by"], ["people.id"], name="fk_case_parties_created_by_people"),
        sa.PrimaryKeyConstraint("id", name="pk_case_parties"),
    )
    op.create_index("ix_case_parties_case_id", "case_parties", ["case_id"])

    op.create_table(
        "mediation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("mediators", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_mediation_sessions_case_id_cases"),
        sa.ForeignKeyConstraint(["created_by"], ["people.id"], name="fk_mediation_sessions_created_by_people"),
        sa.PrimaryKeyConstraint("id", name="pk_mediation_sessions"),
    )
    op.create_index("ix_mediation_sessions_case_id", "mediation_sessions", ["case_id"])

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("check_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="pending"),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_commitments_case_id_cases"),
        sa.ForeignKeyConstraint(["created_by"], ["people.id"], name="fk_commitments_created_by_people"),
        sa.PrimaryKeyConstraint("id", name="pk_commitments"),
    )
    op.create_index("ix_commitments_case_id", "commitments", ["case_id"])


def downgrade() -> None:
    for table in ("commitments", "mediation_sessions", "case_parties", "invites"):
        op.drop_table(table)
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_lead_unit_id")
        batch.drop_index("ix_cases_assigned_unit_id")
        batch.drop_index("ix_cases_assignee_id")
        batch.drop_constraint("fk_cases_acknowledged_by_people", type_="foreignkey")
        batch.drop_constraint("fk_cases_assigned_unit_id_units", type_="foreignkey")
        for column in ("reopen_count", "closed_at", "acknowledged_by", "acknowledged_at", "mediation_record",
                       "transfer_to", "assigned_unit_id"):
            batch.drop_column(column)
    op.drop_index("ix_memberships_person_id", "memberships")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint("uq_people_ref", type_="unique")
        for column in ("phone", "full_name", "ref"):
            batch.drop_column(column)
    with op.batch_alter_table("units") as batch:
        batch.drop_column("settings")
        batch.drop_column("function")
        batch.drop_constraint(op.f("ck_units_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_units_kind"), OLD_UNIT_KINDS)
