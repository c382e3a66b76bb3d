"""Outbound campaigns: saved CRM segments, campaigns, their call lists and every dial placed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import (
    CampaignPurpose,
    CampaignStatus,
    DialMode,
    LeadStatus,
    str_enum,
)


class Segment(Base):
    """A saved filter over the CRM (`console.services.outbound.segments.SegmentCriteria` as
    JSON): evaluated when a campaign's list is built, so it follows the CRM as it changes."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Campaign(Base):
    """An outbound campaign: who it calls (a segment's list), why, how it dials, when, and
    what the agent reads (its script)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[CampaignPurpose] = mapped_column(str_enum(CampaignPurpose))
    mode: Mapped[DialMode] = mapped_column(str_enum(DialMode))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # The PBX queue a connected call is sent to; the campaign's agents are its members.
    queue: Mapped[str] = mapped_column(String(80))
    caller_id: Mapped[str] = mapped_column(String(80), default="")
    # Attempt rules, calling-window override and dispositions, as the campaign file gave them.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    script: Mapped[str] = mapped_column(Text, default="")  # the script file's TOML source
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    max_lines_per_agent: Mapped[float] = mapped_column(Float, default=3.0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class CampaignLead(Base):
    """One customer number on a campaign's list."""

    __tablename__ = "campaign_leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(SmallInteger, default=3)  # 1 = first
    status: Mapped[LeadStatus] = mapped_column(str_enum(LeadStatus), default=LeadStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str] = mapped_column(String(20), default="")
    next_attempt_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", "e164"),
        # The dialer's next leads: pending, by priority, due first.
        Index("ix_campaign_leads_next", "campaign_id", "status", "priority", "next_attempt_at"),
    )


class DialAttempt(Base):
    """One dial placed for a lead, from the Originate to the end of the call: the record
    behind contact, right-party, abandon and conversion rates."""

    __tablename__ = "dial_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("campaign_leads.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    action_id: Mapped[str] = mapped_column(String(80), default="")
    uniqueid: Mapped[str] = mapped_column(String(64), default="")
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # answer / noanswer / busy / failed / machine / abandoned / connected; "" while in flight;
    # unknown (the dialer lost sight of it), refused / not_sent / agent (no call was made to
    # the customer: not counted as an attempt). console/services/outbound/dial_events.py
    outcome: Mapped[str] = mapped_column(String(20), default="")
    amd_status: Mapped[str] = mapped_column(String(16), default="")
    answered_at: Mapped[datetime | None]
    live_at: Mapped[datetime | None]  # a live answer reached the campaign's queue
    connected_at: Mapped[datetime | None]  # an agent took it
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[datetime | None]
    cause: Mapped[int | None] = mapped_column(SmallInteger)  # the leg's Hangup cause (Q.850)
    # A connected call's wrap-up disposition (the campaign's code), set when the wrap-up
    # settles the lead: contacts, right-party contacts and conversions count from it.
    disposition: Mapped[str] = mapped_column(String(40), default="", server_default="")

    __table_args__ = (
        Index("ix_dial_attempts_campaign", "campaign_id", "placed_at"),
        Index("ix_dial_attempts_uniqueid", "uniqueid"),
        # A lead's history for the attempt rules; its open dial (ended_at NULL).
        Index("ix_dial_attempts_lead", "lead_id", "placed_at"),
    )


class SurveyAnswer(Base):
    """A customer's answer to one of a campaign script's questions."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL")
    )
    question: Mapped[str] = mapped_column(String(60))
    answer: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", "question"),
        Index("ix_survey_answers_campaign", "campaign_id", "question"),
    )
