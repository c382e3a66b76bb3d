"""Every console's routing upkeep reads indexes, not the whole follow-up table

Each console runs the routing upkeep every 15 s (`routing/upkeep.py`): lapsed leases back,
strays routed, overdue marked, escalations. With 100,000 follow-ups pending, two of its reads
scanned the table inside the write transaction (SQLite's BEGIN IMMEDIATE: every other console's
claims and call writes waited): the unrouted ones (status, rule = '') in id order, and the
overdue ones, by sla_due_at. ~25 ms each per console per pass, for nothing found; at 50 seats
the file's write lock was held by them about a sixth of the time (bench/seats.py,
docs/seats.md). ix_followups_unrouted serves route_pending in id order;
ix_followups_overdue (status, overdue_at) finds the rows marked overdue by a range on its
second column (a partial index WHERE overdue_at IS NOT NULL was not chosen by SQLite without
ANALYZE statistics).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_followups_unrouted", "followups", ["status", "rule", "id"])
    op.create_index("ix_followups_overdue", "followups", ["status", "overdue_at"])


def downgrade() -> None:
    op.drop_index("ix_followups_overdue", table_name="followups")
    op.drop_index("ix_followups_unrouted", table_name="followups")
