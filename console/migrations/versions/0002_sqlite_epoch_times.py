"""SQLite timestamps as epoch microseconds; the interaction CTI key as a unique index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:00

SQLite kept timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` text; they become INTEGER microseconds
since the Unix epoch (see `UtcDateTime`). PostgreSQL keeps `timestamptz` and is not touched by
that part.

`UNIQUE (uniqueid, agent_id)` becomes a unique index of the same name and meaning: a table
constraint can't be dropped from a SQLite table, an index can, so bulk loads build it once after
the rows are in instead of maintaining it row by row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPS = {
    "agents": ("created_at",),
    "call_events": ("received_at",),
    "audit_log": ("at",),
    "customers": ("created_at", "updated_at"),
    "tickets": ("sla_due_at", "created_at", "updated_at", "resolved_at"),
    "interactions": (
        "offered_at",
        "answered_at",
        "ended_at",
        "wrapped_at",
        "hold_started_at",
        "updated_at",
    ),
    "ticket_comments": ("created_at",),
    "followups": (
        "due_at",
        "claimed_at",
        "lease_expires_at",
        "created_at",
        "updated_at",
        "completed_at",
    ),
}
UNIQUE_CTI = "uq_interactions_uniqueid_agent_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in TIMESTAMPS.items():
            for column in columns:
                # Exact to the microsecond: whole seconds from strftime, the fraction as digits.
                op.execute(
                    f"UPDATE {table} SET {column} = "
                    f"CAST(strftime('%s', {column}) AS INTEGER) * 1000000 "
                    f"+ CAST(substr({column} || '.000000', 21, 6) AS INTEGER) "
                    f"WHERE typeof({column}) = 'text'"
                )
    with op.batch_alter_table("interactions") as batch:
        batch.drop_constraint(UNIQUE_CTI, type_="unique")
    op.create_index(UNIQUE_CTI, "interactions", ["uniqueid", "agent_id"], unique=True)


def downgrade() -> None:
    op.drop_index(UNIQUE_CTI, table_name="interactions")
    with op.batch_alter_table("interactions") as batch:
        batch.create_unique_constraint(UNIQUE_CTI, ["uniqueid", "agent_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in TIMESTAMPS.items():
            for column in columns:
                op.execute(
                    f"UPDATE {table} SET {column} = "
                    f"strftime('%Y-%m-%d %H:%M:%S', {column} / 1000000, 'unixepoch') "
                    f"|| '.' || printf('%06d', {column} % 1000000) "
                    f"WHERE typeof({column}) = 'integer'"
                )
