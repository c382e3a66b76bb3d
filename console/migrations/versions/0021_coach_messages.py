"""Coach messages: a supervisor's text to an agent's console during a call (issue 19)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coach_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "from_agent_id", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")
        ),
        sa.Column(
            "to_agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("call_uniqueid", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_coach_messages_to", "coach_messages", ["to_agent_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_coach_messages_to", "coach_messages")
    op.drop_table("coach_messages")
