"""Call recordings: an interaction's recording reference and its paused spans

- call_recordings: one per interaction (the file the PBX's MixMonitor writes, as the console
  named it, and the agent's leg recorded), started and stopped.
- recording_pauses: each span the recording was muted (MixMonitorMute), with how it ended
  (the agent, the automatic resume, the call's end, a stop).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
# The lead rechains this after 0019 (QA, written in parallel) at merge; until then it follows
# 0018 and is self-contained.
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_call_recordings_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recordings")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_call_recordings_interaction_id")),
    )
    op.create_table(
        "recording_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["call_recordings.id"],
            name=op.f("fk_recording_pauses_recording_id_call_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_pauses")),
    )
    op.create_index(
        "ix_recording_pauses_recording", "recording_pauses", ["recording_id", "paused_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_recording_pauses_recording", table_name="recording_pauses")
    op.drop_table("recording_pauses")
    op.drop_table("call_recordings")
