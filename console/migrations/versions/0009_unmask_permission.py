"""Agents may be allowed to unmask customer data in trainer views and replays: agents.can_unmask

Off for every existing agent: masking is the default, unmasking a permission granted per agent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("can_unmask", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("can_unmask")
