"""Routing counts open work per agent from an index of the assigned open rows

`Router.staff` (every follow-up created or routed: each wrap-up's, each abandon's) counted
open follow-ups per agent — coalesce(claimed_by, target_agent_id) — with a GROUP BY over every
open row: 35-40 ms with 100,000 pending, inside the write transaction (on SQLite, holding the
file's write lock from every other console). ix_followups_load holds only the open rows that
are someone's (held or assigned), by status: the count reads it alone (it covers the query)
and skips the unassigned pool. The query repeats the index's WHERE
(`console.models.followup.ASSIGNED`), so that both databases see it applies.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As console/models/followup.py's ASSIGNED when this was written.
ASSIGNED = "claimed_by IS NOT NULL OR target_agent_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_followups_load",
        "followups",
        ["status", "claimed_by", "target_agent_id"],
        sqlite_where=sa.text(ASSIGNED),
        postgresql_where=sa.text(ASSIGNED),
    )


def downgrade() -> None:
    op.drop_index("ix_followups_load", table_name="followups")
