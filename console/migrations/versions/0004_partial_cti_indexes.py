"""CTI-id indexes cover voice rows only; drop the unused (agent, offered) index

Email, chat and web interactions have no Uniqueid/Linkedid, so the unique (uniqueid, agent_id)
index and the linkedid index become partial (`… IS NOT NULL`): a third smaller, same answers
(`uniqueid = ?` implies NOT NULL; NULLs never conflicted anyway). Nothing queried interactions by
(agent_id, offered_at); an agent's calls over a period are a range of `ix_interactions_offered`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_UNIQUEID = "uniqueid IS NOT NULL"
HAS_LINKEDID = "linkedid IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_interactions_agent_offered", table_name="interactions")
    op.drop_index("uq_interactions_uniqueid_agent_id", table_name="interactions")
    op.create_index(
        "uq_interactions_uniqueid_agent_id",
        "interactions",
        ["uniqueid", "agent_id"],
        unique=True,
        sqlite_where=sa.text(HAS_UNIQUEID),
        postgresql_where=sa.text(HAS_UNIQUEID),
    )
    op.drop_index("ix_interactions_linkedid", table_name="interactions")
    op.create_index(
        "ix_interactions_linkedid",
        "interactions",
        ["linkedid"],
        sqlite_where=sa.text(HAS_LINKEDID),
        postgresql_where=sa.text(HAS_LINKEDID),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_linkedid", table_name="interactions")
    op.create_index("ix_interactions_linkedid", "interactions", ["linkedid"])
    op.drop_index("uq_interactions_uniqueid_agent_id", table_name="interactions")
    op.create_index(
        "uq_interactions_uniqueid_agent_id", "interactions", ["uniqueid", "agent_id"], unique=True
    )
    op.create_index("ix_interactions_agent_offered", "interactions", ["agent_id", "offered_at"])
