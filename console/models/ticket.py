"""Tickets (cases) and their comment threads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.models.base import Base, utcnow
from console.models.enums import TicketPriority, TicketStatus, str_enum


class Ticket(Base):
    """A customer's case: complaint, billing question, fault report…"""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), default="general")
    priority: Mapped[TicketPriority] = mapped_column(
        str_enum(TicketPriority), default=TicketPriority.NORMAL
    )
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus), default=TicketStatus.NEW)
    sla_due_at: Mapped[datetime | None]
    assignee_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    assignee_team: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None]

    comments: Mapped[list[TicketComment]] = relationship(back_populates="ticket", lazy="raise")

    __table_args__ = (Index("ix_tickets_customer_status", "customer_id", "status"),)


class TicketComment(Base):
    """A comment on a ticket, with its author and time."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments", lazy="raise")
