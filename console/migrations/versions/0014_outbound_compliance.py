"""Outbound compliance: the do-not-call list, consent records, the compliance decision log

- dnc_entries: one number (E.164) on one list, `internal` or an imported list's name; unique
  per (number, list), so the gate's lookup by number reads the unique index.
- consent_records: grants and withdrawals per customer and purpose, never updated; the latest
  by `at` (then id) decides, read from ix_consent_records_latest in order.
- compliance_decisions: every answer of the compliance gate (allowed, or skipped and why).
  campaign_id and customer_id are plain integers: the log outlives both (campaigns come in a
  later revision).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, values: Sequence[str], length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "dnc_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.Column("added_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_agent_id"],
            ["agents.id"],
            name=op.f("fk_dnc_entries_added_by_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_dnc_entries_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entries")),
    )
    op.create_index("uq_dnc_entries_e164_source", "dnc_entries", ["e164", "source"], unique=True)
    op.create_index("ix_dnc_entries_source", "dnc_entries", ["source", "e164"])
    op.create_index("ix_dnc_entries_customer_id", "dnc_entries", ["customer_id"])

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            _enum("consentpurpose", ("marketing_calls", "recording", "surveys")),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_agent_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_consent_records_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_agent_id"],
            ["agents.id"],
            name=op.f("fk_consent_records_recorded_by_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        "ix_consent_records_latest", "consent_records", ["customer_id", "purpose", "at", "id"]
    )

    op.create_table(
        "compliance_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column(
            "purpose",
            _enum("campaignpurpose", ("sales", "retention", "survey", "notification")),
            nullable=False,
        ),
        sa.Column("verdict", _enum("complianceverdict", ("allowed", "skipped")), nullable=False),
        sa.Column(
            "reason",
            _enum(
                "skipreason",
                (
                    "invalid_number",
                    "dnc",
                    "no_consent",
                    "finished",
                    "attempts_exhausted",
                    "too_soon",
                    "outside_window",
                ),
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_decisions")),
    )
    op.create_index(
        "ix_compliance_decisions_campaign_at", "compliance_decisions", ["campaign_id", "at"]
    )
    op.create_index(
        "ix_compliance_decisions_customer_at", "compliance_decisions", ["customer_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_compliance_decisions_customer_at", table_name="compliance_decisions")
    op.drop_index("ix_compliance_decisions_campaign_at", table_name="compliance_decisions")
    op.drop_table("compliance_decisions")
    op.drop_index("ix_consent_records_latest", table_name="consent_records")
    op.drop_table("consent_records")
    op.drop_index("ix_dnc_entries_customer_id", table_name="dnc_entries")
    op.drop_index("ix_dnc_entries_source", table_name="dnc_entries")
    op.drop_index("uq_dnc_entries_e164_source", table_name="dnc_entries")
    op.drop_table("dnc_entries")
