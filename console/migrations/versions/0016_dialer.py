"""The dialer: leases on campaigns, preview holds, and what a dial attempt records

- dialer_leases: the dialer process running each campaign (one at a time), until expires_at.
- preview_holds: an agent previewing a lead, until held_until.
- dial_attempts.live_at (a live answer reached the queue), dial_attempts.cause (the leg's
  Hangup cause), and ix_dial_attempts_lead (a lead's history; its open dial).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
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
        "dialer_leases",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        _ts("acquired_at"),
        _ts("expires_at"),
        _fk("campaign_id", "dialer_leases", "campaigns", "CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_dialer_leases")),
    )
    op.create_table(
        "preview_holds",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        _ts("held_at"),
        _ts("held_until"),
        _fk("lead_id", "preview_holds", "campaign_leads", "CASCADE"),
        _fk("campaign_id", "preview_holds", "campaigns", "CASCADE"),
        _fk("agent_id", "preview_holds", "agents", "CASCADE"),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_preview_holds")),
    )
    op.create_index("ix_preview_holds_agent", "preview_holds", ["agent_id", "campaign_id"])
    with op.batch_alter_table("dial_attempts") as batch:
        batch.add_column(_ts("live_at", nullable=True))
        batch.add_column(sa.Column("cause", sa.SmallInteger(), nullable=True))
        batch.create_index("ix_dial_attempts_lead", ["lead_id", "placed_at"])


def downgrade() -> None:
    with op.batch_alter_table("dial_attempts") as batch:
        batch.drop_index("ix_dial_attempts_lead")
        batch.drop_column("cause")
        batch.drop_column("live_at")
    op.drop_index("ix_preview_holds_agent", table_name="preview_holds")
    op.drop_table("preview_holds")
    op.drop_table("dialer_leases")
