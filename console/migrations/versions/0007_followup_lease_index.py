"""Lapsed claims are found by their lease time: (status, lease_expires_at)

Claiming looks for claims whose console died (lease run out) on every `claim_next`; without
this index that read walked every claimed row (160 ms with 800 of them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_followups_lease", "followups", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_followups_lease", table_name="followups")
