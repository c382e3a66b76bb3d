"""QA evaluations of real calls: the forms (by name, version and text) and the evaluations

- qa_forms: one row per form name and version, with the TOML text it had when first used
  (its SHA-256 in content_hash), so an evaluation is re-scored on the exact form.
- qa_evaluations: one evaluator's answers on one call, the score, and the agent's
  acknowledgement or dispute and its re-review (docs/quality.md). One per call and evaluator;
  one evaluation of record per call (the others are calibrations).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As console/models/quality.py's OF_RECORD when this was written.
OF_RECORD = "kind = 'evaluation'"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "qa_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_forms")),
    )
    op.create_index("uq_qa_forms_name_version", "qa_forms", ["name", "version"], unique=True)
    op.create_table(
        "qa_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("auto_failed", sa.Boolean(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("submitted_at", nullable=True),
        _ts("acknowledged_at", nullable=True),
        _ts("disputed_at", nullable=True),
        sa.Column("dispute_comment", sa.Text(), nullable=False),
        _ts("reviewed_at", nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["qa_forms.id"],
            name=op.f("fk_qa_evaluations_form_id_qa_forms"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_qa_evaluations_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_id"],
            ["agents.id"],
            name=op.f("fk_qa_evaluations_evaluator_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
    )
    op.create_index(
        "uq_qa_evaluations_call_evaluator",
        "qa_evaluations",
        ["interaction_id", "evaluator_id"],
        unique=True,
    )
    op.create_index(
        "uq_qa_evaluations_of_record",
        "qa_evaluations",
        ["interaction_id"],
        unique=True,
        sqlite_where=sa.text(OF_RECORD),
        postgresql_where=sa.text(OF_RECORD),
    )
    op.create_index(
        "ix_qa_evaluations_agent_submitted", "qa_evaluations", ["agent_id", "submitted_at"]
    )
    op.create_index(
        "ix_qa_evaluations_evaluator_status", "qa_evaluations", ["evaluator_id", "status"]
    )
    op.create_index("ix_qa_evaluations_submitted", "qa_evaluations", ["submitted_at"])


def downgrade() -> None:
    op.drop_table("qa_evaluations")
    op.drop_index("uq_qa_forms_name_version", table_name="qa_forms")
    op.drop_table("qa_forms")
