"""Tickets (cases): open a ticket from a call, comment on it, move it through its statuses.

SLA due times follow the priority, as the seeder does: urgent 4 h, high 24 h, normal 72 h,
low 120 h. Every change is audit-logged in the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, nulls_last, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from console.models import Agent, Customer, Interaction, Ticket, TicketComment
from console.models.enums import OPEN_TICKET_STATUSES, TicketPriority, TicketStatus
from console.services import audit as audit_actions
from console.services.errors import (
    ServiceError,
    choice,
    free_text,
    one_line,
    record_id,
    require,
)
from console.services.service import DbService
from console.services.text import clean_text, stored_text

SLA_HOURS = {
    TicketPriority.URGENT: 4,
    TicketPriority.HIGH: 24,
    TicketPriority.NORMAL: 72,
    TicketPriority.LOW: 120,
}
OPEN_LIMIT = 50
COMMENT_LIMIT = 500
_RESOLVED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)

#: The categories agents choose from when opening a ticket (free text is accepted too).
TICKET_CATEGORIES = ("general", "billing", "technical", "complaint", "sales", "account", "delivery")


class TicketError(ServiceError):
    """A ticket request was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket as the console shows it; `sla_remaining_seconds` < 0 means overdue."""

    id: int
    customer_id: int
    customer_name: str
    subject: str
    category: str
    priority: TicketPriority
    status: TicketStatus
    sla_due_at: datetime | None
    sla_remaining_seconds: int | None
    assignee_agent_id: int | None
    assignee_name: str
    assignee_team: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES

    @property
    def is_overdue(self) -> bool:
        return (
            self.is_open
            and self.sla_remaining_seconds is not None
            and self.sla_remaining_seconds < 0
        )


@dataclass(frozen=True, slots=True)
class TicketCommentRecord:
    """One comment, with its author's name and time."""

    id: int
    ticket_id: int
    author_agent_id: int | None
    author_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """A ticket and its comment thread, oldest comment first."""

    ticket: TicketRecord
    comments: tuple[TicketCommentRecord, ...]


_assignee = aliased(Agent)
_SELECT = (
    select(
        Ticket.id,
        Ticket.customer_id,
        Customer.display_name.label("customer_name"),
        Ticket.subject,
        Ticket.category,
        Ticket.priority,
        Ticket.status,
        Ticket.sla_due_at,
        Ticket.assignee_agent_id,
        _assignee.display_name.label("assignee_name"),
        Ticket.assignee_team,
        Ticket.created_at,
        Ticket.updated_at,
        Ticket.resolved_at,
    )
    .join(Customer, Customer.id == Ticket.customer_id)
    .outerjoin(_assignee, _assignee.id == Ticket.assignee_agent_id)
)


class TicketService(DbService):
    """Opens, reads, comments on and moves tickets."""

    def _record(self, row: Mapping[Any, Any]) -> TicketRecord:
        due = row["sla_due_at"]
        return TicketRecord(
            id=row["id"],
            customer_id=row["customer_id"],
            customer_name=stored_text(row["customer_name"]),
            subject=stored_text(row["subject"]),
            category=stored_text(row["category"], 40),
            priority=TicketPriority(row["priority"]),
            status=TicketStatus(row["status"]),
            sla_due_at=due,
            sla_remaining_seconds=(
                None if due is None else int((due - self._clock()).total_seconds())
            ),
            assignee_agent_id=row["assignee_agent_id"],
            assignee_name=stored_text(row["assignee_name"]),
            assignee_team=stored_text(row["assignee_team"], 60),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            resolved_at=row["resolved_at"],
        )

    # ------------------------------------------------------------ reads

    async def open_for(self, customer_id: int) -> list[TicketRecord]:
        """The customer's new, open and pending tickets, most urgent SLA first."""
        customer = record_id(customer_id, field="customer id", error=TicketError)
        stmt = (
            _SELECT.where(Ticket.customer_id == customer, Ticket.status.in_(OPEN_TICKET_STATUSES))
            .order_by(nulls_last(Ticket.sla_due_at.asc()), Ticket.id)
            .limit(OPEN_LIMIT)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return [self._record(r) for r in rows]

    async def get(self, ticket_id: int, *, viewer_agent_id: int | None = None) -> TicketDetail:
        """The ticket with its comments; with `viewer_agent_id`, the view is audit-logged."""
        wanted = record_id(ticket_id, field="ticket number", error=TicketError)
        comments_stmt = (
            select(
                TicketComment.id,
                TicketComment.ticket_id,
                TicketComment.author_agent_id,
                Agent.display_name,
                TicketComment.body,
                TicketComment.created_at,
            )
            .outerjoin(Agent, Agent.id == TicketComment.author_agent_id)
            .where(TicketComment.ticket_id == wanted)
            .order_by(TicketComment.created_at, TicketComment.id)
            .limit(COMMENT_LIMIT)
        )
        async with self._db.session() as session:
            row = (await session.execute(_SELECT.where(Ticket.id == wanted))).mappings().first()
            if row is None:
                raise TicketError(f"ticket #{wanted} does not exist")
            comments = (await session.execute(comments_stmt)).all()
        detail = TicketDetail(
            self._record(row),
            tuple(
                TicketCommentRecord(
                    id=c[0],
                    ticket_id=c[1],
                    author_agent_id=c[2],
                    author_name=stored_text(c[3]) or "(unknown)",
                    body=clean_text(c[4] or ""),
                    created_at=c[5],
                )
                for c in comments
            ),
        )
        if viewer_agent_id is not None:
            await self._audit.record(viewer_agent_id, audit_actions.VIEW, "ticket", wanted)
        return detail

    # ------------------------------------------------------------ changes

    async def create(
        self,
        customer_id: int,
        subject: str,
        *,
        agent_id: int,
        category: str = "general",
        priority: TicketPriority | str = TicketPriority.NORMAL,
        interaction_id: int | None = None,
    ) -> TicketRecord:
        """Open a ticket for the customer, SLA due from its priority.

        With `interaction_id` the call is linked to the ticket (unless it already links one),
        which is what a disposition that requires a ticket checks at wrap-up.
        """
        customer = record_id(customer_id, field="customer id", error=TicketError)
        text = one_line(subject, field="subject", max_length=200, required=True, error=TicketError)
        kind = one_line(
            category, field="category", max_length=40, required=True, error=TicketError
        ).lower()
        level = choice(TicketPriority, priority, field="priority", error=TicketError)
        call = (
            None
            if interaction_id is None
            else record_id(interaction_id, field="interaction id", error=TicketError)
        )
        now = self._clock()
        async with self._db.write_connection() as conn:
            await require(
                conn, Customer.id, customer, f"customer {customer} does not exist", TicketError
            )
            await require(conn, Agent.id, agent_id, f"agent {agent_id} does not exist", TicketError)
            if call is not None:
                await require(
                    conn, Interaction.id, call, f"interaction {call} does not exist", TicketError
                )
            ticket_id = int(
                await conn.scalar(
                    insert(Ticket)
                    .values(
                        customer_id=customer,
                        subject=text,
                        category=kind,
                        priority=level,
                        status=TicketStatus.NEW,
                        sla_due_at=now + timedelta(hours=SLA_HOURS[level]),
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Ticket.id)
                )
                or 0
            )
            if call is not None:
                await conn.execute(
                    update(Interaction)
                    .where(Interaction.id == call, Interaction.ticket_id.is_(None))
                    .values(ticket_id=ticket_id, updated_at=now)
                )
            await self._audit.add(
                conn,
                agent_id,
                audit_actions.CREATE,
                "ticket",
                ticket_id,
                {"customer_id": customer, "subject": text, "priority": level, "interaction": call},
            )
            created = await self._locked(conn, ticket_id)
        self._recorder.record_action("ticket_created", interaction_id=call, ticket=created)
        return created

    async def comment(self, ticket_id: int, body: str, *, agent_id: int) -> TicketCommentRecord:
        """Add a comment by `agent_id`; the body is sanitised (line breaks kept)."""
        wanted = record_id(ticket_id, field="ticket number", error=TicketError)
        text = free_text(body, field="comment", required=True, error=TicketError)
        now = self._clock()
        async with self._db.write_connection() as conn:
            await self._locked(conn, wanted)
            author = await conn.scalar(select(Agent.display_name).where(Agent.id == agent_id))
            if author is None:
                raise TicketError(f"agent {agent_id} does not exist")
            comment_id = int(
                await conn.scalar(
                    insert(TicketComment)
                    .values(ticket_id=wanted, author_agent_id=agent_id, body=text, created_at=now)
                    .returning(TicketComment.id)
                )
                or 0
            )
            await conn.execute(update(Ticket).where(Ticket.id == wanted).values(updated_at=now))
            await self._audit.add(
                conn, agent_id, audit_actions.COMMENT, "ticket", wanted, {"comment_id": comment_id}
            )
        comment = TicketCommentRecord(comment_id, wanted, agent_id, stored_text(author), text, now)
        self._recorder.record_action("ticket_commented", ticket_id=wanted, comment=comment)
        return comment

    async def set_status(
        self, ticket_id: int, status: TicketStatus | str, *, agent_id: int
    ) -> TicketRecord:
        """Move the ticket to `status`; resolved_at is set on resolve/close, cleared on reopen.

        Setting the status it already has changes nothing and logs nothing.
        """
        wanted = record_id(ticket_id, field="ticket number", error=TicketError)
        target = choice(TicketStatus, status, field="status", error=TicketError)
        now = self._clock()
        async with self._db.write_connection() as conn:
            current = await self._locked(conn, wanted)
            if current.status == target:
                return current
            await require(conn, Agent.id, agent_id, f"agent {agent_id} does not exist", TicketError)
            resolved_at = (current.resolved_at or now) if target in _RESOLVED else None
            await conn.execute(
                update(Ticket)
                .where(Ticket.id == wanted)
                .values(status=target, resolved_at=resolved_at, updated_at=now)
            )
            await self._audit.add(
                conn,
                agent_id,
                audit_actions.STATUS,
                "ticket",
                wanted,
                {"from": current.status, "to": target},
            )
            moved = await self._locked(conn, wanted)
        self._recorder.record_action(
            "ticket_status", ticket_id=wanted, old=current.status, new=target
        )
        return moved

    async def _locked(self, conn: AsyncConnection, ticket_id: int) -> TicketRecord:
        row = (
            (await conn.execute(_SELECT.where(Ticket.id == ticket_id).with_for_update(of=Ticket)))
            .mappings()
            .first()
        )
        if row is None:
            raise TicketError(f"ticket #{ticket_id} does not exist")
        return self._record(row)
