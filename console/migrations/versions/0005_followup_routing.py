"""Follow-up routing: SLA, snooze, attempts, the routing decision; agent presence

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORIGINS = ("agent", "abandoned", "overflow", "disposition", "escalation")
PRESENCE = ("offline", "ready", "not_ready", "busy")


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _time(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:
        batch.add_column(
            sa.Column(
                "origin", _enum("followuporigin", ORIGINS), nullable=False, server_default="agent"
            )
        )
        batch.add_column(_time("sla_due_at"))
        batch.add_column(_time("overdue_at"))
        batch.add_column(_time("escalated_at"))
        batch.add_column(_time("snoozed_until"))
        batch.add_column(
            sa.Column("snooze_reason", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(_time("last_attempt_at"))
        batch.add_column(sa.Column("last_outcome", sa.String(20), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("routing", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_index(
        "ix_followups_pool", "followups", ["status", "target_queue_id", "priority", "due_at"]
    )
    op.create_index("ix_followups_target_agent", "followups", ["target_agent_id", "status"])
    op.create_index("ix_followups_claimed_by", "followups", ["claimed_by", "status"])
    op.create_index("ix_followups_sla", "followups", ["status", "sla_due_at"])
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column(
                "presence", _enum("presence", PRESENCE), nullable=False, server_default="offline"
            )
        )
        batch.add_column(_time("presence_at"))
        batch.add_column(_time("heartbeat_at"))
        batch.add_column(_time("last_routed_at"))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        for column in ("last_routed_at", "heartbeat_at", "presence_at", "presence"):
            batch.drop_column(column)
    for index in (
        "ix_followups_sla",
        "ix_followups_claimed_by",
        "ix_followups_target_agent",
        "ix_followups_pool",
    ):
        op.drop_index(index, table_name="followups")
    with op.batch_alter_table("followups") as batch:
        for column in (
            "routing",
            "last_outcome",
            "last_attempt_at",
            "snooze_reason",
            "snoozed_until",
            "escalated_at",
            "overdue_at",
            "sla_due_at",
            "origin",
        ):
            batch.drop_column(column)
