"""Claims read every source in an index's order: the queue-less skill pool and one agent's targets

`claim_next` reads the queue-less pool once per skill the agent has (and once for no skill),
one branch per priority: (status, target_queue_id, target_skill, priority, due_at) makes each
branch's first due row its first index entry. Before, the pool was read by (status, queue,
priority, due_at) and every row needing a skill the agent lacks was read and skipped (17–20 ms
a claim with 26,000 queue-less `zh` rows pending, bench/routing.py). One agent's targets gain
(priority, due_at) so they are read in worklist order instead of sorted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_followups_skill_pool",
        "followups",
        ["status", "target_queue_id", "target_skill", "priority", "due_at"],
    )
    op.drop_index("ix_followups_target_agent", table_name="followups")
    op.create_index(
        "ix_followups_target_agent",
        "followups",
        ["target_agent_id", "status", "priority", "due_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_followups_target_agent", table_name="followups")
    op.create_index("ix_followups_target_agent", "followups", ["target_agent_id", "status"])
    op.drop_index("ix_followups_skill_pool", table_name="followups")
