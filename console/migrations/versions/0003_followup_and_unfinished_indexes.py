"""Indexes for the wrap-up's follow-up check and an agent's unfinished interactions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = "status IN ('ringing', 'active', 'held', 'wrapup')"


def upgrade() -> None:
    op.create_index("ix_followups_interaction", "followups", ["interaction_id"])
    op.create_index(
        "ix_interactions_agent_unfinished",
        "interactions",
        ["agent_id", "offered_at"],
        sqlite_where=sa.text(UNFINISHED),
        postgresql_where=sa.text(UNFINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_agent_unfinished", table_name="interactions")
    op.drop_index("ix_followups_interaction", table_name="followups")
