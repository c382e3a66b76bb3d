"""Claims read every source in an index's order, to the last column (priority, due_at, id)

`claim_next` reads the queue-less pool once per skill the agent has (and once for no skill),
one branch per priority: ix_followups_skill_pool (status, target_skill, priority, due_at, id)
WHERE target_queue_id IS NULL makes each branch's first due row its first index entry. Before,
the pool was read through ix_followups_pool and every row needing a skill the agent lacks was
read and skipped (17–20 ms a claim on SQLite with 26,000 queue-less `zh` rows pending,
bench/routing.py). ix_followups_pool now holds queued rows only, so PostgreSQL cannot take it
for the queue-less branches (it did, when both fitted). One agent's targets gain (priority,
due_at, id), read in order instead of sorted; both pools end in `id`: PostgreSQL sorted every
due row of a branch to break ties of due_at by id.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED, QUEUE_LESS = sa.text("target_queue_id IS NOT NULL"), sa.text("target_queue_id IS NULL")


def upgrade() -> None:
    op.drop_index("ix_followups_pool", table_name="followups")
    op.create_index(
        "ix_followups_pool",
        "followups",
        ["status", "target_queue_id", "priority", "due_at", "id"],
        sqlite_where=QUEUED,
        postgresql_where=QUEUED,
    )
    op.create_index(
        "ix_followups_skill_pool",
        "followups",
        ["status", "target_skill", "priority", "due_at", "id"],
        sqlite_where=QUEUE_LESS,
        postgresql_where=QUEUE_LESS,
    )
    op.drop_index("ix_followups_target_agent", table_name="followups")
    op.create_index(
        "ix_followups_target_agent",
        "followups",
        ["target_agent_id", "status", "priority", "due_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_followups_target_agent", table_name="followups")
    op.create_index("ix_followups_target_agent", "followups", ["target_agent_id", "status"])
    op.drop_index("ix_followups_skill_pool", table_name="followups")
    op.drop_index("ix_followups_pool", table_name="followups")
    op.create_index(
        "ix_followups_pool", "followups", ["status", "target_queue_id", "priority", "due_at"]
    )
