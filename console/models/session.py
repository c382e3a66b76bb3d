"""Console sessions and the agent action log: with `call_events`, a session's recording.

A session is one console login. Everything the console received from the PBX (`call_events`)
and everything its agent did (`agent_actions`) carries the session id and a `seq` counted by
the session, one counter for both tables, so a session's records merge back into the order
the console saw them.

Agent and interaction ids are kept as plain integers, not foreign keys: a recording is history
and must neither block the deletion of what it mentions nor vanish with it, and its batched
inserts check nothing row by row. Only `session_id` is a foreign key (the records belong to
their session; deleting a session deletes its recording).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import SessionKind, str_enum

HAS_CALL = "call_id IS NOT NULL"
HAS_INTERACTION = "interaction_id IS NOT NULL"
HAS_TRAINING_RUN = "training_run_id IS NOT NULL"


class ConsoleSession(Base):
    """One console login: who, where, when, and whether it was live work or training."""

    __tablename__ = "sessions"

    # A uuid4 hex made by the console, so records can be buffered before the database has
    # seen the session (it may be away when the agent logs in).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SessionKind] = mapped_column(str_enum(SessionKind), default=SessionKind.LIVE)
    training_run_id: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]  # None: still running, or the console died
    # The agent's phone interface, member name, queues… as they were at login.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_sessions_agent_started", "agent_id", "started_at"),
        Index(
            "ix_sessions_training_run",
            "training_run_id",
            sqlite_where=text(HAS_TRAINING_RUN),
            postgresql_where=text(HAS_TRAINING_RUN),
        ),
    )


class AgentAction(Base):
    """Something the agent did (ready, hold, a pop choice, a note, a ticket…). Never updated."""

    __tablename__ = "agent_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # shared with the session's call_events
    agent_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)  # the console's clock
    kind: Mapped[str] = mapped_column(String(40))
    call_id: Mapped[str | None] = mapped_column(String(64))  # the call's Linkedid
    interaction_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        # A retried batch inserts nothing twice (ON CONFLICT DO NOTHING); a session in order.
        Index("uq_agent_actions_session_seq", "session_id", "seq", unique=True),
        Index("ix_agent_actions_agent_at", "agent_id", "at"),  # an agent's shift
        Index(
            "ix_agent_actions_call",
            "call_id",
            sqlite_where=text(HAS_CALL),
            postgresql_where=text(HAS_CALL),
        ),
        Index(
            "ix_agent_actions_interaction",
            "interaction_id",
            sqlite_where=text(HAS_INTERACTION),
            postgresql_where=text(HAS_INTERACTION),
        ),
    )
