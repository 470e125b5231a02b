"""The sealed_identities table: confidential reporters' identities, encrypted (Fernet) and kept
apart from the cases, with a non-secret fingerprint of the key that sealed each row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sealed_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("key_hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("rotated_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sealed_identities"),
    )
    op.create_index("ix_sealed_identities_key_hint", "sealed_identities", ["key_hint"])


def downgrade() -> None:
    op.drop_index("ix_sealed_identities_key_hint", table_name="sealed_identities")
    op.drop_table("sealed_identities")
