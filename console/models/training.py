"""Training runs: a trainer plays a scenario's scripted calls to a trainee and scores them.

One row per run, from the trainer pressing start to the stored score card. The trainee is
kept as a plain integer plus the name at the time (like the recordings: history must outlive
the agent row), and the trainee's console session links the run to its recording.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class TrainingRun(Base):
    """One scenario played to one trainee."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario: Mapped[str] = mapped_column(String(255))  # shipped name or file path (SimTraining)
    scenario_name: Mapped[str] = mapped_column(String(120), default="")  # the file's `name`
    difficulty: Mapped[str] = mapped_column(String(10), default="")
    trainee_id: Mapped[int] = mapped_column(Integer)
    trainee_name: Mapped[str] = mapped_column(String(120), default="")
    trainer_id: Mapped[int | None] = mapped_column(Integer)
    trainee_session_id: Mapped[str | None] = mapped_column(String(32))
    interface: Mapped[str] = mapped_column(String(80), default="")
    # running -> finished (every scripted call ended) | stopped | failed; scored once carded.
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    scored_at: Mapped[datetime | None]
    total: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    scorecard: Mapped[str | None] = mapped_column(Text)  # ScoreCard.to_json()
    error: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # lead, calls…

    __table_args__ = (Index("ix_training_runs_trainee_created", "trainee_id", "created_at"),)
