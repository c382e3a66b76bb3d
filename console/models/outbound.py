"""Outbound compliance: the do-not-call list, consent records and the decision log.

- `DncEntry`: a number (E.164) nobody may dial, from the internal list (`source = "internal"`:
  opt-outs, agents, the CLI) or an imported list (its name, e.g. "us-national"); optional
  expiry. One row per (number, source): the same number on two lists is two rows, and removing
  it from one leaves the other.
- `ConsentRecord`: a customer granting or withdrawing consent for a purpose, with where and
  when. Rows are only ever added; the latest by `at` (then id) per (customer, purpose) decides.
- `ComplianceDecision`: every answer the compliance gate gave, with its reason; plain integers
  for the campaign and customer so the log outlives both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow
from console.models.enums import (
    CampaignPurpose,
    ComplianceVerdict,
    ConsentPurpose,
    SkipReason,
    str_enum,
)

INTERNAL_DNC = "internal"


class DncEntry(Base):
    """One number on one do-not-call list."""

    __tablename__ = "dnc_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    e164: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(60), default=INTERNAL_DNC)
    reason: Mapped[str] = mapped_column(String(200), default="")
    # Whose opt-out put it here (None for imported lists and numbers added by hand).
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    added_by: Mapped[str] = mapped_column(String(80), default="")  # "agent 12", "cli", "import"
    added_by_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]  # None: until removed

    __table_args__ = (
        Index("uq_dnc_entries_e164_source", "e164", "source", unique=True),
        Index("ix_dnc_entries_source", "source", "e164"),
    )


class ConsentRecord(Base):
    """A customer granted or withdrew consent for one purpose (history: rows are never changed)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(80))  # "wrap-up", "web form", "import: crm.csv"
    at: Mapped[datetime]  # when the customer gave or withdrew it
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_consent_records_latest", "customer_id", "purpose", "at", "id"),)


class ComplianceDecision(Base):
    """One answer of the compliance gate: allowed, or skipped with its reason."""

    __tablename__ = "compliance_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    campaign_id: Mapped[int | None] = mapped_column(Integer)  # campaigns come in a later slice
    customer_id: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(64))  # E.164, or the input when it is invalid
    purpose: Mapped[CampaignPurpose] = mapped_column(str_enum(CampaignPurpose))
    verdict: Mapped[ComplianceVerdict] = mapped_column(str_enum(ComplianceVerdict))
    reason: Mapped[SkipReason | None] = mapped_column(str_enum(SkipReason, length=20))
    detail: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        Index("ix_compliance_decisions_campaign_at", "campaign_id", "at"),
        Index("ix_compliance_decisions_customer_at", "customer_id", "at"),
    )
