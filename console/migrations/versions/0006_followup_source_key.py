"""Follow-ups created from a CTI event carry its key, unique: several consoles, one follow-up

And a callback carries the number to call (E.164): a caller who asked for a callback may be
unknown to the CRM.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_KEY = "source_key IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("source_key", sa.String(120), nullable=True))
        batch.add_column(sa.Column("callback_number", sa.String(20), nullable=True))
    op.create_index(
        "uq_followups_source_key",
        "followups",
        ["source_key"],
        unique=True,
        sqlite_where=sa.text(HAS_KEY),
        postgresql_where=sa.text(HAS_KEY),
    )


def downgrade() -> None:
    op.drop_index("uq_followups_source_key", table_name="followups")
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("callback_number")
        batch.drop_column("source_key")
