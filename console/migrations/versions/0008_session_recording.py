"""Session recording: console sessions, the agent action log, call_events per session

Every console login is a `sessions` row; what the agent did goes to `agent_actions`; the CTI
events the console received go to `call_events`, which gains the session, the agent and the
event's own time (and `call_id` becomes optional: queue, member and link events belong to no
call). `seq` is the session's counter shared by both logs, unique per session so a retried
batch inserts nothing twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_CALL = "call_id IS NOT NULL"
HAS_INTERACTION = "interaction_id IS NOT NULL"
HAS_TRAINING_RUN = "training_run_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "live",
                "training",
                name="sessionkind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_agent_started", "sessions", ["agent_id", "started_at"])
    op.create_index(
        "ix_sessions_training_run",
        "sessions",
        ["training_run_id"],
        sqlite_where=sa.text(HAS_TRAINING_RUN),
        postgresql_where=sa.text(HAS_TRAINING_RUN),
    )

    op.create_table(
        "agent_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_agent_actions_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_actions")),
    )
    op.create_index(
        "uq_agent_actions_session_seq", "agent_actions", ["session_id", "seq"], unique=True
    )
    op.create_index("ix_agent_actions_agent_at", "agent_actions", ["agent_id", "at"])
    op.create_index(
        "ix_agent_actions_call",
        "agent_actions",
        ["call_id"],
        sqlite_where=sa.text(HAS_CALL),
        postgresql_where=sa.text(HAS_CALL),
    )
    op.create_index(
        "ix_agent_actions_interaction",
        "agent_actions",
        ["interaction_id"],
        sqlite_where=sa.text(HAS_INTERACTION),
        postgresql_where=sa.text(HAS_INTERACTION),
    )

    # SQLite rebuilds the table (batch mode); nothing wrote call_events before this revision.
    with op.batch_alter_table("call_events") as batch:
        batch.alter_column("call_id", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("session_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("event_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_call_events_session_id_sessions",
            "sessions",
            ["session_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "uq_call_events_session_seq", "call_events", ["session_id", "seq"], unique=True
    )
    op.create_index("ix_call_events_agent_received", "call_events", ["agent_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_call_events_agent_received", table_name="call_events")
    op.drop_index("uq_call_events_session_seq", table_name="call_events")
    # Events about no call can't keep a NOT NULL call_id: they go with the columns.
    op.execute("DELETE FROM call_events WHERE call_id IS NULL")
    with op.batch_alter_table("call_events") as batch:
        batch.drop_constraint("fk_call_events_session_id_sessions", type_="foreignkey")
        batch.drop_column("event_at")
        batch.drop_column("agent_id")
        batch.drop_column("session_id")
        batch.alter_column("call_id", existing_type=sa.String(length=64), nullable=False)
    op.drop_table("agent_actions")  # its indexes go with it
    op.drop_index("ix_sessions_training_run", table_name="sessions")
    op.drop_index("ix_sessions_agent_started", table_name="sessions")
    op.drop_table("sessions")
