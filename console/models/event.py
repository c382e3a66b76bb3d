"""The append-only raw CTI event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class CallEvent(Base):
    """One CTI event as a console received it, kept for replay and audit. Never updated.

    Written by `console.services.training.recording`: the typed event's class name and fields
    (JSON),
    the session that received it and `seq`, the session's counter shared with `agent_actions`.
    """

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Linkedid, or Uniqueid before one is known; None for events about no call (queue and
    # member states, the CTI link).
    call_id: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # the console's clock
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(Integer)  # the console's agent (no FK: history)
    event_at: Mapped[datetime | None]  # the event's own time (the PBX's, when it sent one)

    __table_args__ = (
        Index("ix_call_events_call_seq", "call_id", "seq"),
        Index("uq_call_events_session_seq", "session_id", "seq", unique=True),
        Index("ix_call_events_agent_received", "agent_id", "received_at"),
    )
