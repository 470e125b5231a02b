"""When a case's outcome was recorded (the roll-up's mediation figures read it instead of the
events), a covering index for the roll-up, partial indexes for reopened and open cases, and the blobs table that holds files the bot
sends (report charts and spreadsheets) until the outbox has delivered them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("cases", sa.Column("outcome_at", utc(), nullable=True))
    # The current outcome was recorded by the case's last 'outcome_recorded' event (or, for a
    # transfer, its last 'intervention_chosen'): a reopen clears the outcome.
    op.execute("""
        UPDATE cases SET outcome_at = (
            SELECT max(e.at) FROM case_events e
            WHERE e.case_id = cases.id AND e.kind IN ('outcome_recorded', 'intervention_chosen'))
        WHERE outcome IS NOT NULL
    """)
    # Every column the roll-up reads, a ward's cases in creation order: an index-only scan.
    op.drop_index("ix_cases_commune_unit_id_created_at", table_name="cases")
    op.drop_index("ix_cases_commune_unit_id_closed_at", table_name="cases")
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])
    op.create_index("ix_cases_rollup", "cases", ["commune_unit_id", "created_at", "closed_at", "outcome_at", "urgent",
                                                 "field", "nature", "outcome", "intervention"])
    op.create_index("ix_cases_reopened", "cases", ["commune_unit_id", "closed_at", "id"],
                    postgresql_where=sa.text("reopen_count > 0"), sqlite_where=sa.text("reopen_count > 0"))
    op.create_index("ix_cases_open_created_at", "cases", ["created_at", "id"],
                    postgresql_where=sa.text("closed_at IS NULL"), sqlite_where=sa.text("closed_at IS NULL"))
    op.create_table(
        "blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blobs"),
        sa.UniqueConstraint("sha256", name="uq_blobs_sha256"),
    )
    op.create_index("ix_blobs_created_at", "blobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_blobs_created_at", table_name="blobs")
    op.drop_table("blobs")
    op.drop_index("ix_cases_open_created_at", table_name="cases")
    op.drop_index("ix_cases_reopened", table_name="cases")
    op.drop_index("ix_cases_rollup", table_name="cases")
    op.create_index("ix_cases_commune_unit_id_created_at", "cases", ["commune_unit_id", "created_at"])
    op.drop_index("ix_cases_closed_at", table_name="cases")
    op.create_index("ix_cases_commune_unit_id_closed_at", "cases", ["commune_unit_id", "closed_at"])
    op.drop_column("cases", "outcome_at")
