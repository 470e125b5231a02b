"""Failed tip-off receipt checks per account, so one account cannot try codes without end.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "receipt_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_receipt_checks_person_id_people",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_receipt_checks"),
    )
    op.create_index("ix_receipt_checks_person_id_at", "receipt_checks", ["person_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_receipt_checks_person_id_at", table_name="receipt_checks")
    op.drop_table("receipt_checks")
