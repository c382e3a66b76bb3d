"""The shared customer record: people and organisations, their numbers and email addresses."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.models.base import Base, utcnow
from console.models.enums import CustomerKind, Lifecycle, PhoneKind, Tier, str_enum

if TYPE_CHECKING:
    from console.models.agent import Agent


class Customer(Base):
    """A person or an organisation; an organisation's contacts are persons pointing at it."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind), default=CustomerKind.PERSON)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(16), default="en")
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), default=Tier.LEAD)
    lifecycle: Mapped[Lifecycle] = mapped_column(str_enum(Lifecycle), default=Lifecycle.PROSPECT)
    # RFM scores, 1 (worst) to 5 (best) each.
    rfm_recency: Mapped[int] = mapped_column(SmallInteger, default=1)
    rfm_frequency: Mapped[int] = mapped_column(SmallInteger, default=1)
    rfm_monetary: Mapped[int] = mapped_column(SmallInteger, default=1)
    # Money as integer minor units: exact on every backend.
    lifetime_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    account_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phones: Mapped[list[PhoneNumber]] = relationship(back_populates="customer", lazy="raise")
    emails: Mapped[list[EmailAddress]] = relationship(back_populates="customer", lazy="raise")
    organisation: Mapped[Customer | None] = relationship(
        remote_side=[id], back_populates="contacts", lazy="raise"
    )
    contacts: Mapped[list[Customer]] = relationship(back_populates="organisation", lazy="raise")
    account_owner: Mapped[Agent | None] = relationship(lazy="raise")

    __table_args__ = (Index("ix_customers_display_name", "display_name"),)


class PhoneNumber(Base):
    """A number in E.164; the same number may belong to several customers (a shared office line)."""

    __tablename__ = "phone_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[PhoneKind] = mapped_column(str_enum(PhoneKind), default=PhoneKind.MOBILE)
    label: Mapped[str] = mapped_column(String(60), default="")
    # ISO 3166 region of the number (phonenumbers; "" when it has none): segments by country.
    region: Mapped[str] = mapped_column(String(2), default="", index=True)

    customer: Mapped[Customer] = relationship(back_populates="phones", lazy="raise")


class EmailAddress(Base):
    """An email address, stored lower-cased for lookup."""

    __tablename__ = "email_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(254), index=True)
    label: Mapped[str] = mapped_column(String(60), default="")

    customer: Mapped[Customer] = relationship(back_populates="emails", lazy="raise")


def tag_list(value: Any) -> list[str]:
    """Tags as read from the JSON column, parsed or raw text (tolerates NULL and foreign shapes)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, list):
        return [str(t) for t in value]
    return []
