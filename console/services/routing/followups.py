"""Follow-ups: callbacks, escalations and tasks an agent schedules, and the pending list.

This is the plain creation and listing; routing, claiming and escalation come later and work
on the same rows (`status`, `claimed_by`, `lease_expires_at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.orm import aliased

from console.models import Agent, Customer, FollowUp, Interaction, Queue, Ticket
from console.models.enums import (
    PENDING_FOLLOWUP_STATUSES,
    FollowUpKind,
    FollowUpOrigin,
    FollowUpStatus,
)
from console.services import audit as audit_actions
from console.services.errors import (
    ServiceError,
    aware,
    choice,
    free_text,
    one_line,
    record_id,
    require,
)
from console.services.service import DbService
from console.services.text import clean_text, stored_text

PENDING_LIMIT = 50
CHOSEN_BY_AGENT = "chosen by agent"  # FollowUp.rule when the agent named the target
MAX_SUMMARY = 2000
# A due time a little in the past is "now" typed slowly; more than this is a mistake.
PAST_GRACE = timedelta(minutes=5)


def is_overdue(sla_due_at: datetime | None, overdue_at: datetime | None, now: datetime) -> bool:
    """Whether a follow-up is overdue: the one rule of every screen, list and prompt.

    Overdue means its SLA deadline has come (``sla_due_at <= now``, no grace) or the SLA engine
    has already marked it (``overdue_at``: the mark stays, as escalations count from it). The
    due time is not the test: a callback due at 10:00 is *due* from 10:00 (shown in yellow)
    and overdue only once its SLA has passed (shown in red, said "overdue"). A follow-up with
    no SLA (not routed yet, or no rule matched) is never overdue, as the SLA engine never
    marks it. `overdue_condition` is the same rule in SQL.
    """
    return overdue_at is not None or (sla_due_at is not None and sla_due_at <= now)


def sla_passed(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """SQL: the follow-up's SLA deadline has come (what the SLA engine marks)."""
    return FollowUp.sla_due_at <= now


def overdue_condition(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """SQL for `is_overdue` (``now`` a time or a bound parameter)."""
    return or_(FollowUp.overdue_at.is_not(None), sla_passed(now))


class FollowUpError(ServiceError):
    """A follow-up request was refused; nothing was changed."""


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    """A follow-up and whom it is for."""

    id: int
    kind: FollowUpKind
    status: FollowUpStatus
    customer_id: int | None
    interaction_id: int | None
    ticket_id: int | None
    summary: str
    due_at: datetime
    priority: int  # 1 = most urgent … 5
    target_queue_id: int | None
    target_queue_name: str
    target_agent_id: int | None
    target_agent_name: str
    agent_only: bool
    claimed_by: int | None
    claimed_by_name: str
    created_at: datetime


_target_agent = aliased(Agent)
_claimer = aliased(Agent)
_SELECT = (
    select(
        FollowUp.id,
        FollowUp.kind,
        FollowUp.status,
        FollowUp.customer_id,
        FollowUp.interaction_id,
        FollowUp.ticket_id,
        FollowUp.summary,
        FollowUp.due_at,
        FollowUp.priority,
        FollowUp.target_queue_id,
        Queue.name.label("target_queue_name"),
        FollowUp.target_agent_id,
        _target_agent.display_name.label("target_agent_name"),
        FollowUp.agent_only,
        FollowUp.claimed_by,
        _claimer.display_name.label("claimed_by_name"),
        FollowUp.created_at,
    )
    .outerjoin(Queue, Queue.id == FollowUp.target_queue_id)
    .outerjoin(_target_agent, _target_agent.id == FollowUp.target_agent_id)
    .outerjoin(_claimer, _claimer.id == FollowUp.claimed_by)
)


def _record(row: Mapping[Any, Any]) -> FollowUpRecord:
    return FollowUpRecord(
        id=row["id"],
        kind=FollowUpKind(row["kind"]),
        status=FollowUpStatus(row["status"]),
        customer_id=row["customer_id"],
        interaction_id=row["interaction_id"],
        ticket_id=row["ticket_id"],
        summary=clean_text(row["summary"] or ""),
        due_at=row["due_at"],
        priority=row["priority"],
        target_queue_id=row["target_queue_id"],
        target_queue_name=stored_text(row["target_queue_name"]),
        target_agent_id=row["target_agent_id"],
        target_agent_name=stored_text(row["target_agent_name"]),
        agent_only=bool(row["agent_only"]),
        claimed_by=row["claimed_by"],
        claimed_by_name=stored_text(row["claimed_by_name"]),
        created_at=row["created_at"],
    )


class FollowUpService(DbService):
    """Creates follow-ups and lists a customer's pending ones."""

    async def create(
        self,
        kind: FollowUpKind | str,
        *,
        customer_id: int | None,
        due_at: datetime,
        summary: str,
        agent_id: int,
        priority: int = 3,
        target_queue: str | None = None,
        target_agent_id: int | None = None,
        agent_only: bool = False,
        interaction_id: int | None = None,
        ticket_id: int | None = None,
        origin: FollowUpOrigin | str = FollowUpOrigin.AGENT,
    ) -> FollowUpRecord:
        """Schedule a callback, escalation or task; returns it as stored.

        Without an explicit target the rules route it (`Router.route`, or the next SLA pass).

        A callback needs a customer (someone to call); `agent_only` needs a target agent.
        Unknown customers, queues, agents, interactions or tickets raise FollowUpError.
        """
        what = choice(FollowUpKind, kind, field="kind", error=FollowUpError)
        source = choice(FollowUpOrigin, origin, field="origin", error=FollowUpError)
        due = aware(due_at, field="due time", error=FollowUpError)
        now = self._clock()
        if due < now - PAST_GRACE:
            raise FollowUpError("the due time is in the past")
        text = free_text(
            summary, field="summary", max_length=MAX_SUMMARY, required=True, error=FollowUpError
        )
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
            raise FollowUpError(f"priority must be 1 (most urgent) to 5, not {priority!r}")
        customer = _optional_id(customer_id, "customer id")
        if what is FollowUpKind.CALLBACK and customer is None:
            raise FollowUpError("a callback needs a customer to call")
        agent = _optional_id(target_agent_id, "target agent id")
        if agent_only and agent is None:
            raise FollowUpError("only an agent can be the sole target; choose the agent")
        queue_name = (
            None
            if target_queue in (None, "")
            else one_line(target_queue, field="queue", max_length=80, error=FollowUpError)
        )
        call = _optional_id(interaction_id, "interaction id")
        ticket = _optional_id(ticket_id, "ticket number")
        async with self._db.write_connection() as conn:
            await require(
                conn, Agent.id, agent_id, f"agent {agent_id} does not exist", FollowUpError
            )
            if customer is not None:
                await require(
                    conn,
                    Customer.id,
                    customer,
                    f"customer {customer} does not exist",
                    FollowUpError,
                )
            if agent is not None:
                await require(conn, Agent.id, agent, f"agent {agent} does not exist", FollowUpError)
            if call is not None:
                await require(
                    conn, Interaction.id, call, f"interaction {call} does not exist", FollowUpError
                )
            if ticket is not None:
                await require(
                    conn, Ticket.id, ticket, f"ticket #{ticket} does not exist", FollowUpError
                )
            queue_id = None
            if queue_name:
                queue_id = await conn.scalar(select(Queue.id).where(Queue.name == queue_name))
                if queue_id is None:
                    raise FollowUpError(f"there is no queue {queue_name!r}")
            followup_id = int(
                await conn.scalar(
                    insert(FollowUp)
                    .values(
                        kind=what,
                        origin=source,
                        status=FollowUpStatus.PENDING,
                        customer_id=customer,
                        interaction_id=call,
                        ticket_id=ticket,
                        summary=text,
                        due_at=due,
                        priority=priority,
                        target_queue_id=queue_id,
                        target_agent_id=agent,
                        agent_only=bool(agent_only),
                        # An agent's own choice of target stands: the rules route the rest.
                        rule=CHOSEN_BY_AGENT if queue_id is not None or agent is not None else "",
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(FollowUp.id)
                )
                or 0
            )
            await self._audit.add(
                conn,
                agent_id,
                audit_actions.CREATE,
                "followup",
                followup_id,
                {"kind": what, "customer_id": customer, "due_at": due, "interaction": call},
            )
            row = (await conn.execute(_SELECT.where(FollowUp.id == followup_id))).mappings().one()
        created = _record(row)
        self._recorder.record_action(
            "followup_created", interaction_id=call, followup=created, origin=source
        )
        return created

    async def pending_for(self, customer_id: int) -> list[FollowUpRecord]:
        """The customer's pending and claimed follow-ups, soonest due first."""
        customer = record_id(customer_id, field="customer id", error=FollowUpError)
        stmt = (
            _SELECT.where(
                FollowUp.customer_id == customer,
                FollowUp.status.in_(PENDING_FOLLOWUP_STATUSES),
            )
            .order_by(FollowUp.due_at, FollowUp.priority, FollowUp.id)
            .limit(PENDING_LIMIT)
        )
        async with self._db.session() as session:
            rows = (await session.execute(stmt)).mappings().all()
        return [_record(r) for r in rows]


def _optional_id(value: int | None, field: str) -> int | None:
    return None if value is None else record_id(value, field=field, error=FollowUpError)
