"""One contact with a customer on any channel, logged from ring to wrap-up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import Channel, Direction, InteractionStatus, str_enum

UNFINISHED = "status IN ('ringing', 'active', 'held', 'wrapup')"
HAS_UNIQUEID = "uniqueid IS NOT NULL"
HAS_LINKEDID = "linkedid IS NOT NULL"


class Interaction(Base):
    """A call, email, web form or chat. For voice, created at ring time and updated at each step."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.VOICE)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction), default=Direction.INBOUND)
    status: Mapped[InteractionStatus] = mapped_column(
        str_enum(InteractionStatus), default=InteractionStatus.RINGING
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # An outbound campaign's call: its campaign (results per campaign, agent and hour).
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    # ...and its list entry, which the wrap-up settles (console.services.outbound.leads).
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_leads.id", ondelete="SET NULL")
    )
    # The caller ID as received (sanitised) and its normalised form, if it had one.
    caller_raw: Mapped[str] = mapped_column(String(80), default="")
    caller_e164: Mapped[str | None] = mapped_column(String(20))
    caller_name: Mapped[str] = mapped_column(String(120), default="")
    # CTI identifiers (Asterisk Uniqueid / Linkedid of the agent's leg of the call).
    uniqueid: Mapped[str | None] = mapped_column(String(64))
    linkedid: Mapped[str | None] = mapped_column(String(64))
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wrapped_at: Mapped[datetime | None]
    hold_started_at: Mapped[datetime | None]
    wait_seconds: Mapped[int] = mapped_column(Integer, default=0)  # time in queue before offer
    # How long the agent's phone rang (AgentConnect's RingTime when the PBX gave it).
    ring_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    talk_seconds: Mapped[int] = mapped_column(Integer, default=0)
    hold_seconds: Mapped[int] = mapped_column(Integer, default=0)
    wrap_seconds: Mapped[int] = mapped_column(Integer, default=0)
    disposition: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    resolved_first_contact: Mapped[bool | None] = mapped_column(Boolean)
    transferred_to: Mapped[str] = mapped_column(String(80), default="")
    # Why the call ended for the agent: console.cti.protocol.EndReason's value ("" = not yet).
    end_reason: Mapped[str] = mapped_column(String(20), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # One row per call leg and agent; an index (not a table constraint) so bulk loads can
        # build it after the rows are in. Partial: email, chat and web rows have no CTI ids.
        Index(
            "uq_interactions_uniqueid_agent_id",
            "uniqueid",
            "agent_id",
            unique=True,
            sqlite_where=text(HAS_UNIQUEID),
            postgresql_where=text(HAS_UNIQUEID),
        ),
        Index(
            "ix_interactions_linkedid",
            "linkedid",
            sqlite_where=text(HAS_LINKEDID),
            postgresql_where=text(HAS_LINKEDID),
        ),
        Index("ix_interactions_customer_offered", "customer_id", "offered_at"),
        # By time; an agent's calls over a shift or a day are a range of it (no (agent, time)
        # index: it cost 12 s of a million-customer seed and no query needed it).
        Index("ix_interactions_offered", "offered_at"),
        # An agent's unfinished rows (offered back after a crash): tiny, whatever the history.
        Index(
            "ix_interactions_agent_unfinished",
            "agent_id",
            "offered_at",
            sqlite_where=text(UNFINISHED),
            postgresql_where=text(UNFINISHED),
        ),
    )
