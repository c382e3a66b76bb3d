"""Outbound campaigns: segments, campaigns, their lists, dial attempts, survey answers;
the region of each phone number

- segments: saved CRM filters (criteria as JSON).
- campaigns: purpose, dial mode, status, the segment, the PBX queue, rules, script, the
  abandon cap.
- campaign_leads: one customer number per list entry, with its attempts and next attempt.
- dial_attempts: every dial placed, from Originate to the end of the call.
- survey_answers: one answer per campaign, customer and question.
- phone_numbers.region: the number's ISO 3166 region (phonenumbers), so a segment can pick
  customers by country in SQL; filled here for the numbers already stored.
- interactions.campaign_id: a campaign call's campaign.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, referred: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _fk("created_by", "segments", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("abandon_cap", sa.Float(), nullable=False),
        sa.Column("max_lines_per_agent", sa.Float(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("ended_at", nullable=True),
        _fk("segment_id", "campaigns", "segments", "SET NULL"),
        _fk("created_by", "campaigns", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "campaign_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(length=20), nullable=False),
        _ts("next_attempt_at", nullable=True),
        _ts("updated_at"),
        _fk("campaign_id", "campaign_leads", "campaigns", "CASCADE"),
        _fk("customer_id", "campaign_leads", "customers", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_leads")),
        sa.UniqueConstraint(
            "campaign_id",
            "customer_id",
            "e164",
            name=op.f("uq_campaign_leads_campaign_id_customer_id_e164"),
        ),  # fmt: skip
    )
    op.create_index(
        "ix_campaign_leads_next",
        "campaign_leads",
        ["campaign_id", "status", "priority", "next_attempt_at"],
    )
    op.create_table(
        "dial_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("action_id", sa.String(length=80), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        _ts("placed_at"),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("amd_status", sa.String(length=16), nullable=False),
        _ts("answered_at", nullable=True),
        _ts("connected_at", nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("abandoned", sa.Boolean(), nullable=False),
        _ts("ended_at", nullable=True),
        _fk("campaign_id", "dial_attempts", "campaigns", "CASCADE"),
        _fk("lead_id", "dial_attempts", "campaign_leads", "CASCADE"),
        _fk("agent_id", "dial_attempts", "agents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_attempts")),
    )
    op.create_index("ix_dial_attempts_campaign", "dial_attempts", ["campaign_id", "placed_at"])
    op.create_index("ix_dial_attempts_uniqueid", "dial_attempts", ["uniqueid"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.String(length=60), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        _ts("answered_at"),
        _fk("campaign_id", "survey_answers", "campaigns", "CASCADE"),
        _fk("customer_id", "survey_answers", "customers", "CASCADE"),
        _fk("interaction_id", "survey_answers", "interactions", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint(
            "campaign_id",
            "customer_id",
            "question",
            name=op.f("uq_survey_answers_campaign_id_customer_id_question"),
        ),  # fmt: skip
    )
    op.create_index("ix_survey_answers_campaign", "survey_answers", ["campaign_id", "question"])
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(
            sa.Column("region", sa.String(length=2), nullable=False, server_default="")
        )
        batch.create_index("ix_phone_numbers_region", ["region"])
    _fill_regions()
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_interactions_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_interactions_campaign_id", ["campaign_id"])


def _fill_regions() -> None:
    """Each stored number's region, by phonenumbers (the numbers are E.164 already)."""
    conn = op.get_bind()
    phones = sa.table("phone_numbers", sa.column("id"), sa.column("e164"), sa.column("region"))
    rows = conn.execute(sa.select(phones.c.id, phones.c.e164)).all()
    updates = []
    for phone_id, e164 in rows:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
        except phonenumbers.NumberParseException:
            region = ""
        if region and region != "001":
            updates.append({"pid": phone_id, "region": region})
    if updates:
        conn.execute(
            phones.update()
            .where(phones.c.id == sa.bindparam("pid"))
            .values(region=sa.bindparam("region")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index("ix_interactions_campaign_id")
        batch.drop_constraint(op.f("fk_interactions_campaign_id_campaigns"), type_="foreignkey")
        batch.drop_column("campaign_id")
    with op.batch_alter_table("phone_numbers") as batch:
        batch.drop_index("ix_phone_numbers_region")
        batch.drop_column("region")
    op.drop_index("ix_survey_answers_campaign", table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index("ix_dial_attempts_uniqueid", table_name="dial_attempts")
    op.drop_index("ix_dial_attempts_campaign", table_name="dial_attempts")
    op.drop_table("dial_attempts")
    op.drop_index("ix_campaign_leads_next", table_name="campaign_leads")
    op.drop_table("campaign_leads")
    op.drop_table("campaigns")
    op.drop_table("segments")
