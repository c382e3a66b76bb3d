"""Call recordings: the PBX's recording of an interaction (MixMonitor) and its paused spans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class CallRecording(Base):
    """One interaction's recording: the file the PBX writes (its reference, as the console
    asked for it) and the agent's leg it records. One per interaction."""

    __tablename__ = "call_recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), unique=True
    )
    reference: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


class RecordingPause(Base):
    """A span the recording was paused (muted): card details taken, say. ``resumed_at`` is
    None while it lasts; ``resumed_by`` says how it ended (agent, auto, call_end, stop)."""

    __tablename__ = "recording_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("call_recordings.id", ondelete="CASCADE"))
    paused_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime | None] = mapped_column(default=None)
    resumed_by: Mapped[str] = mapped_column(String(10), default="")

    __table_args__ = (Index("ix_recording_pauses_recording", "recording_id", "paused_at"),)
