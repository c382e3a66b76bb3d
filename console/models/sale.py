"""Sales: what a customer bought, recorded by the wrap-up of the call that sold it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from console.models.base import Base, utcnow


class Sale(Base):
    """One sale: the amount in the customer's currency (integer minor units), who sold it,
    on which call, campaign and dial. One per interaction: a wrap-up applied twice (a retry,
    a journal replayed) cannot sell twice."""

    __tablename__ = "sales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), unique=True
    )
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    dial_attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("dial_attempts.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    sold_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # A customer's sales of the last year: the RFM frequency after a sale.
        Index("ix_sales_customer_sold", "customer_id", "sold_at"),
        Index("ix_sales_campaign_sold", "campaign_id", "sold_at"),
    )
