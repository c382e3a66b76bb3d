"""Turns at the shared upkeep: which console does the work every console could do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base


class UpkeepTurn(Base):
    """One kind of shared upkeep (the SLA pass, lapsed leases back): the next turn is due at
    ``due_at``; the console that moves it forward does that turn (``taken_by``, for
    diagnosis only)."""

    __tablename__ = "upkeep_turns"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    due_at: Mapped[datetime]
    taken_by: Mapped[int | None]
