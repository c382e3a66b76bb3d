"""Follow-ups: callbacks, escalations and tasks, routed and claimed exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import FollowUpKind, FollowUpOrigin, FollowUpStatus, str_enum

# Rows that are someone's: held, or assigned (ix_followups_load's WHERE; the query repeats it).
ASSIGNED = "claimed_by IS NOT NULL OR target_agent_id IS NOT NULL"


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
    origin: Mapped[FollowUpOrigin] = mapped_column(
        str_enum(FollowUpOrigin), default=FollowUpOrigin.AGENT, server_default="agent"
    )
    # Work created from an event carries the event's key ("abandoned:<uniqueid>"), so the
    # several consoles that all see the event create it once.
    source_key: Mapped[str | None] = mapped_column(String(120))
    # The number a callback dials (E.164); the customer's own numbers when empty.
    callback_number: Mapped[str | None] = mapped_column(String(20))
    # When it should be worked (a callback's next attempt) and by when it must be done (SLA).
    due_at: Mapped[datetime]
    sla_due_at: Mapped[datetime | None]
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
    overdue_at: Mapped[datetime | None]  # when the SLA engine found it overdue
    escalated_at: Mapped[datetime | None]  # its last escalation step
    snoozed_until: Mapped[datetime | None]
    snooze_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    last_attempt_at: Mapped[datetime | None]  # a callback's last dial
    last_outcome: Mapped[str] = mapped_column(String(20), default="", server_default="")
    rule: Mapped[str] = mapped_column(String(80), default="")
    # The routing decision as made (rule, why it matched, target, strategy, retry policy,
    # escalation chain, chosen agent): what `callconsole routing explain` prints.
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
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
        # Claims read these in worklist order (priority, due_at, id): a queue's unclaimed
        # pool, the queue-less pool of one skill, one agent's targets. `id` ends each so that
        # PostgreSQL need not sort rows of equal due_at (SQLite's indexes end in it anyway).
        # The two pools are partial so that each claim branch has one index that fits: with
        # both fitting, PostgreSQL took the queue pool's for the skill pool and read past
        # every row of other skills.
        Index(
            "ix_followups_pool",
            "status",
            "target_queue_id",
            "priority",
            "due_at",
            "id",
            sqlite_where=text("target_queue_id IS NOT NULL"),
            postgresql_where=text("target_queue_id IS NOT NULL"),
        ),
        Index(
            "ix_followups_skill_pool",
            "status",
            "target_skill",
            "priority",
            "due_at",
            "id",
            sqlite_where=text("target_queue_id IS NULL"),
            postgresql_where=text("target_queue_id IS NULL"),
        ),
        Index("ix_followups_target_agent", "target_agent_id", "status", "priority", "due_at", "id"),
        # One claimer's items.
        Index("ix_followups_claimed_by", "claimed_by", "status"),
        Index("ix_followups_sla", "status", "sla_due_at"),
        Index("ix_followups_lease", "status", "lease_expires_at"),  # lapsed claims
        # Every console's routing upkeep (migration 0013): the strays to route, in id order,
        # and the overdue to escalate; without them each pass scanned the table.
        Index("ix_followups_unrouted", "status", "rule", "id"),
        Index("ix_followups_overdue", "status", "overdue_at"),
        # Router.staff (migration 0018): open work per agent, read from this index alone by
        # status; the unassigned pool is not in it.
        Index(
            "ix_followups_load",
            "status",
            "claimed_by",
            "target_agent_id",
            sqlite_where=text(ASSIGNED),
            postgresql_where=text(ASSIGNED),
        ),
        Index(
            "uq_followups_source_key",
            "source_key",
            unique=True,
            sqlite_where=text("source_key IS NOT NULL"),
            postgresql_where=text("source_key IS NOT NULL"),
        ),
    )
