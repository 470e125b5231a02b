"""The initial schema: units, people, cases, forms, inbound updates and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Self-contained on purpose (no import of storage.tables): a migration is a frozen snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def json(nullable: bool = False) -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=nullable).with_variant(postgresql.JSONB(none_as_null=nullable), "postgresql")


def upgrade() -> None:
    # Names are final; op.f() keeps the naming convention from prefixing check names twice.
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("consent_at", utc(), nullable=True),
        sa.Column("consent_version", sa.String(length=32), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("deleted_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('commune', 'group', 'department')", name=op.f("ck_units_kind")),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name="fk_units_parent_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("code", name="uq_units_code"),
    )
    op.create_index("ix_units_parent_id", "units", ["parent_id"])

    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_identities_person_id_people", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("platform", "external_id", name="uq_identities_platform_external_id"),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"])

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_memberships_person_id_people", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_memberships_unit_id_units", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
        sa.UniqueConstraint("person_id", "unit_id", "role", name="uq_memberships_person_id_unit_id_role"),
    )
    op.create_index("ix_memberships_unit_id", "memberships", ["unit_id"])

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("nature", sa.String(length=32), nullable=True),
        sa.Column("complexity", sa.String(length=32), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("urgency_reasons", json(), nullable=False),
        sa.Column("danger_now", sa.Boolean(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("commune_unit_id", sa.Integer(), nullable=True),
        sa.Column("group_unit_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("lead_unit_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("intervention", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["people.id"], name="fk_cases_assignee_id_people"),
        sa.ForeignKeyConstraint(["commune_unit_id"], ["units.id"], name="fk_cases_commune_unit_id_units"),
        sa.ForeignKeyConstraint(["group_unit_id"], ["units.id"], name="fk_cases_group_unit_id_units"),
        sa.ForeignKeyConstraint(["lead_unit_id"], ["units.id"], name="fk_cases_lead_unit_id_units"),
        sa.ForeignKeyConstraint(["reporter_id"], ["people.id"], name="fk_cases_reporter_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("code", name="uq_cases_code"),
    )
    op.create_index("ix_cases_group_unit_id", "cases", ["group_unit_id"])
    op.create_index("ix_cases_reporter_id", "cases", ["reporter_id"])
    op.create_index("ix_cases_status", "cases", ["status"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("data", json(), nullable=False),
        sa.Column("at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name="fk_case_events_actor_id_people"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_events_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_id", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_attachments_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )
    op.create_index("ix_attachments_case_id", "attachments", ["case_id"])

    op.create_table(
        "form_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("answers", json(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", utc(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_form_sessions_person_id_people", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_form_sessions"),
        sa.UniqueConstraint("person_id", name="uq_form_sessions_person_id"),
    )
    op.create_index("ix_form_sessions_expires_at", "form_sessions", ["expires_at"])

    op.create_table(
        "inbound_updates",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("bot_id", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "bot_id", "update_id", name="pk_inbound_updates"),
    )
    op.create_index("ix_inbound_updates_received_at", "inbound_updates", ["received_at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=True),
        sa.Column("payload", json(nullable=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc(), nullable=False),
        sa.Column("lease_until", utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("ephemeral", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("extra", json(), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("sent_at", utc(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_outbox_status")),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in (
        "outbox", "inbound_updates", "form_sessions", "attachments", "case_events",
        "cases", "memberships", "identities", "units", "people",
    ):
        op.drop_table(table)  # their indexes go with them
