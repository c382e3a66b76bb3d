"""QA evaluations of real calls (docs/quality.md): the forms they were scored on, and the
evaluations themselves (answers, score, the agent's acknowledgement or dispute, the re-review).

A form is stored once per name, version and text (`content_hash`): an evaluation refers to the
exact form it was scored on, whatever the file says later. Answers are one JSON object per
evaluation ({question id: {"answer": "yes" | "no" | "na" | n, "comment": "…"}}): an evaluation
is read and written whole, and the reports fold a period's evaluations in Python (a contact
center scores hundreds a week, not millions).

The evaluated agent is a plain integer, as in the recordings: an evaluation is history and
outlives the agent row. The evaluator is a foreign key (set null when the agent row goes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow

OF_RECORD = "kind = 'evaluation'"


class QaForm(Base):
    """One version of one evaluation form, as it was when first used."""

    __tablename__ = "qa_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of `content`
    content: Mapped[str] = mapped_column(Text)  # the TOML text, parsed again to re-score
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("uq_qa_forms_name_version", "name", "version", unique=True),)


class QaEvaluation(Base):
    """One evaluator's evaluation of one call on one form.

    kind: `evaluation` (the call's evaluation of record: the agent sees it, reports count it;
    one per call) or `calibration` (another evaluator scoring the same call to compare).
    status: draft -> submitted -> acknowledged | disputed -> reviewed -> acknowledged.
    """

    __tablename__ = "qa_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("qa_forms.id", ondelete="RESTRICT"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    linkedid: Mapped[str] = mapped_column(String(64), default="")  # the call's replay
    agent_id: Mapped[int] = mapped_column(Integer)  # the evaluated agent (no FK: history)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12), default="evaluation")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)  # 0-100 once submitted
    auto_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]
    dispute_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        # One evaluation per call and evaluator; one evaluation of record per call.
        Index("uq_qa_evaluations_call_evaluator", "interaction_id", "evaluator_id", unique=True),
        Index(
            "uq_qa_evaluations_of_record",
            "interaction_id",
            unique=True,
            sqlite_where=text(OF_RECORD),
            postgresql_where=text(OF_RECORD),
        ),
        Index("ix_qa_evaluations_agent_submitted", "agent_id", "submitted_at"),
        Index("ix_qa_evaluations_evaluator_status", "evaluator_id", "status"),
        Index("ix_qa_evaluations_submitted", "submitted_at"),
    )
