"""The dialer's own coordination rows: who runs each campaign, and which agent previews a lead.

- `DialerLease`: one row per campaign a dialer process runs. A dialer places calls for a
  campaign only while its lease there is live (renewed every few seconds, checked inside the
  same transaction that claims the leads), so two dialer processes never dial one campaign at
  once; a dialer that dies stops renewing and another takes over when the lease runs out.
- `PreviewHold`: an agent previewing a lead (preview mode): the lead is claimed (status
  ``dialing``) for that agent until ``held_until``; a hold that lapses without a dial gives
  the lead back to the list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class DialerLease(Base):
    """A dialer process's lease on one campaign."""

    __tablename__ = "dialer_leases"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str] = mapped_column(String(120))  # "site host:pid/token"
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class PreviewHold(Base):
    """An agent holding a lead to preview it before dialling or skipping it."""

    __tablename__ = "preview_holds"

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_leads.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    held_until: Mapped[datetime]

    __table_args__ = (Index("ix_preview_holds_agent", "agent_id", "campaign_id"),)
