"""Upkeep turns: one console per turn does the shared routing upkeep (issue 17)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upkeep_turns",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("upkeep_turns")
