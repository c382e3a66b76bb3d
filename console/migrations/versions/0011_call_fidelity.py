"""What a real PBX tells about a call, kept on its row; an agent's phone device

- interactions.ring_seconds: how long the agent's phone rang (AgentConnect's RingTime when the
  PBX gave it, else offer to answer or to the end of the ring).
- interactions.end_reason: why the call ended for the agent (caller, agent, transfer,
  noanswer, elsewhere, abandoned, cancelled, unknown…; console.cti.protocol.EndReason).
- agents.state_interface: the agent's phone device (PJSIP/1001) where it differs from the
  queue-member interface (Local/1001@from-queue/n, FreePBX's default); "" when they are one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(
            sa.Column("ring_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("end_reason", sa.String(length=20), nullable=False, server_default="")
        )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("state_interface", sa.String(length=80), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("state_interface")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("end_reason")
        batch.drop_column("ring_seconds")
