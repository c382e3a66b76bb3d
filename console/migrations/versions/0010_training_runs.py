"""Training runs: a scenario played to a trainee, and the stored score card

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=255), nullable=False),
        sa.Column("scenario_name", sa.String(length=120), nullable=False),
        sa.Column("difficulty", sa.String(length=10), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("trainee_name", sa.String(length=120), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=True),
        sa.Column("trainee_session_id", sa.String(length=32), nullable=True),
        sa.Column("interface", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("scorecard", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    op.create_index(
        "ix_training_runs_trainee_created", "training_runs", ["trainee_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_training_runs_trainee_created", table_name="training_runs")
    op.drop_table("training_runs")
