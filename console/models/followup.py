"""Follow-ups: callbacks, escalations and tasks, routed and claimed exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import FollowUpKind, FollowUpStatus, str_enum


class FollowUp(Base):
    """A piece of routed work with a due time, a target and a claim lease."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind))
    status: Mapped[FollowUpStatus] = mapped_column(
        str_enum(FollowUpStatus), default=FollowUpStatus.PENDING
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL")
    )
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    # Target: a queue, a skill (with minimum level) or one agent (agent_only: nobody else).
    target_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="SET NULL")
    )
    target_skill: Mapped[str] = mapped_column(String(40), default="")
    target_min_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    target_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    agent_only: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(SmallInteger, default=3)  # 1 = most urgent
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    rule: Mapped[str] = mapped_column(String(80), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_followups_customer_status", "customer_id", "status"),
        Index("ix_followups_status_due", "status", "due_at"),
        # "Does this call have its follow-up?" is asked at every wrap-up.
        Index("ix_followups_interaction", "interaction_id"),
    )
