"""Crime tip-offs (the reporter's mode, receipt code and PIN hashes, the sealed identity of a
confidential reporter, the anonymous dialogue) and people's requests over their data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=False).with_variant(postgresql.JSONB(none_as_null=False), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tipoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("receipt_hash", sa.String(length=64), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_pins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", utc(), nullable=True),
        sa.Column("happening_now", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.CheckConstraint("mode IN ('anonymous', 'confidential')", name="ck_tipoffs_mode"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_tipoffs_case_id_cases"),
        sa.ForeignKeyConstraint(["identity_id"], ["sealed_identities.id"], name="fk_tipoffs_identity_id_sealed_identities",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_tipoffs"),
        sa.UniqueConstraint("case_id", name="uq_tipoffs_case_id"),
        sa.UniqueConstraint("number", name="uq_tipoffs_number"),
        sa.UniqueConstraint("receipt_hash", name="uq_tipoffs_receipt_hash"),
    )
    op.create_table(
        "tipoff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tipoff_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("files", json(), nullable=False),
        sa.Column("at", utc(), nullable=False),
        sa.CheckConstraint("sender IN ('reporter', 'police')", name="ck_tipoff_messages_sender"),
        sa.ForeignKeyConstraint(["tipoff_id"], ["tipoffs.id"], name="fk_tipoff_messages_tipoff_id_tipoffs",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["people.id"], name="fk_tipoff_messages_officer_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_tipoff_messages"),
    )
    op.create_index("ix_tipoff_messages_tipoff_id", "tipoff_messages", ["tipoff_id"])
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", utc(), nullable=False),
        sa.Column("done_at", utc(), nullable=True),
        sa.Column("detail", json(), nullable=False),
        sa.CheckConstraint("kind IN ('export', 'withdraw', 'delete')", name="ck_privacy_requests_kind"),
        sa.CheckConstraint("status IN ('received', 'done')", name="ck_privacy_requests_status"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_privacy_requests_person_id_people",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_requests"),
    )
    op.create_index("ix_privacy_requests_person_id", "privacy_requests", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_privacy_requests_person_id", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    op.drop_index("ix_tipoff_messages_tipoff_id", table_name="tipoff_messages")
    op.drop_table("tipoff_messages")
    op.drop_table("tipoffs")
