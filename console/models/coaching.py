"""A supervisor's coach message to an agent: text shown on the agent's console only (never on
the call), through the database, so it works on any PBX."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class CoachMessage(Base):
    """One message; ``shown_at`` is set when the agent's console showed it."""

    __tablename__ = "coach_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    to_agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(500))
    call_uniqueid: Mapped[str] = mapped_column(String(64), default="")  # the call it is about
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    shown_at: Mapped[datetime | None]

    # An agent's console asks for its messages after the last one it saw, every second.
    __table_args__ = (Index("ix_coach_messages_to", "to_agent_id", "id"),)
