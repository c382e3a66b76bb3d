"""Tickets and follow-ups: created from a call, SLA from priority, audited, validated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.db import Database
from console.models import Agent, Customer, Interaction, Queue
from console.models.enums import (
    FollowUpKind,
    FollowUpStatus,
    InteractionStatus,
    TicketPriority,
    TicketStatus,
)
from console.services.audit import AuditLog
from console.services.crm.tickets import SLA_HOURS, TicketError, TicketService
from console.services.desk.interactions import InteractionLog, WrapUp
from console.services.desk.screenpop import ScreenPopService
from console.services.routing.followups import FollowUpError, FollowUpService

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def ids(db: Database) -> dict[str, int]:
    async with db.write() as s:
        agent = Agent(login="ann", display_name="Ann [i]Agent[/i]")
        customer = Customer(display_name="Alice Adams")
        s.add_all([agent, customer, Queue(name="billing")])
        await s.flush()
        call = Interaction(
            customer_id=customer.id,
            agent_id=agent.id,
            status=InteractionStatus.WRAPUP,
            offered_at=NOW - timedelta(minutes=5),
            answered_at=NOW - timedelta(minutes=4),
            ended_at=NOW - timedelta(minutes=1),
        )
        s.add(call)
        await s.flush()
        return {"agent": agent.id, "customer": customer.id, "call": call.id}


def tickets(db: Database) -> TicketService:
    return TicketService(db, AuditLog(db, clock=lambda: NOW), clock=lambda: NOW)


def followups(db: Database) -> FollowUpService:
    return FollowUpService(db, AuditLog(db, clock=lambda: NOW), clock=lambda: NOW)


@pytest.mark.parametrize("priority", list(TicketPriority))
async def test_sla_follows_priority(
    db: Database, ids: dict[str, int], priority: TicketPriority
) -> None:
    ticket = await tickets(db).create(
        ids["customer"], "Charged twice", agent_id=ids["agent"], priority=priority.value
    )
    assert ticket.sla_due_at == NOW + timedelta(hours=SLA_HOURS[priority])
    assert ticket.status is TicketStatus.NEW and ticket.is_open and not ticket.is_overdue
    assert ticket.sla_remaining_seconds == SLA_HOURS[priority] * 3600
    assert {"urgent": 4, "high": 24, "normal": 72, "low": 120}[priority.value] == SLA_HOURS[
        priority
    ]


async def test_ticket_from_a_call_satisfies_the_wrap_up(db: Database, ids: dict[str, int]) -> None:
    ticket = await tickets(db).create(
        ids["customer"],
        "Refund \x1b[31mnot\u202e received",
        agent_id=ids["agent"],
        category="Billing",
        priority="high",
        interaction_id=ids["call"],
    )
    assert ticket.subject == "Refund not received" and ticket.category == "billing"
    assert ticket.customer_name == "Alice Adams"
    log = InteractionLog(db, clock=lambda: NOW)
    done = await log.wrap_up(ids["call"], WrapUp("ticket_opened", "opened a case"), NOW)
    assert done.ticket_id == ticket.id
    # The screen pop shows it among the open tickets.
    pop = await ScreenPopService(db, clock=lambda: NOW).for_customer(ids["customer"])
    assert [t.id for t in pop.open_tickets] == [ticket.id]
    assert [t.id for t in await tickets(db).open_for(ids["customer"])] == [ticket.id]


async def test_comments_and_status_changes(db: Database, ids: dict[str, int]) -> None:
    service = tickets(db)
    ticket = await service.create(ids["customer"], "Router", agent_id=ids["agent"])
    first = await service.comment(
        ticket.id, "Tried a reset.\n\x1b]0;x\x07Still down.", agent_id=ids["agent"]
    )
    assert first.body == "Tried a reset.\nStill down." and first.author_name == "Ann [i]Agent[/i]"
    await service.comment(ticket.id, "Engineer booked", agent_id=ids["agent"])
    resolved = await service.set_status(ticket.id, "resolved", agent_id=ids["agent"])
    assert resolved.status is TicketStatus.RESOLVED and resolved.resolved_at == NOW
    assert not resolved.is_open
    closed = await service.set_status(ticket.id, TicketStatus.CLOSED, agent_id=ids["agent"])
    assert closed.resolved_at == NOW
    reopened = await service.set_status(ticket.id, "open", agent_id=ids["agent"])
    assert reopened.resolved_at is None and reopened.is_open
    same = await service.set_status(ticket.id, "open", agent_id=ids["agent"])
    assert same == reopened
    detail = await service.get(ticket.id, viewer_agent_id=ids["agent"])
    assert [c.body for c in detail.comments] == ["Tried a reset.\nStill down.", "Engineer booked"]
    assert detail.comments[0].created_at == NOW
    audit = await AuditLog(db).for_entity("ticket", ticket.id)
    assert sorted(e.action for e in audit) == [
        "comment",
        "comment",
        "create",
        "status",
        "status",
        "status",
        "view",
    ]
    assert {"from": "closed", "to": "open"} in [e.details for e in audit]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"subject": " "}, "subject must not be empty"),
        ({"subject": "s" * 10_000}, "subject is too long"),
        ({"priority": "asap"}, "priority must be one of low, normal, high, urgent"),
        ({"customer_id": 999}, "customer 999 does not exist"),
        ({"agent_id": 999}, "agent 999 does not exist"),
        ({"interaction_id": 999}, "interaction 999 does not exist"),
    ],
)
async def test_bad_tickets_are_refused(
    db: Database, ids: dict[str, int], call: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "customer_id": ids["customer"],
        "subject": "ok",
        "agent_id": ids["agent"],
    } | call
    with pytest.raises(TicketError, match=message):
        await tickets(db).create(**args)  # type: ignore[arg-type]
    assert await tickets(db).open_for(ids["customer"]) == []


async def test_ticket_errors_change_nothing(db: Database, ids: dict[str, int]) -> None:
    service = tickets(db)
    ticket = await service.create(ids["customer"], "Router", agent_id=ids["agent"])
    with pytest.raises(TicketError, match="comment must not be empty"):
        await service.comment(ticket.id, "\x1b[0m  ", agent_id=ids["agent"])
    with pytest.raises(TicketError, match="status must be one of"):
        await service.set_status(ticket.id, "done", agent_id=ids["agent"])
    with pytest.raises(TicketError, match="ticket #4242 does not exist"):
        await service.get(4242)
    with pytest.raises(TicketError, match="ticket #4242 does not exist"):
        await service.comment(4242, "hi", agent_id=ids["agent"])
    detail = await service.get(ticket.id)
    assert detail.comments == () and detail.ticket.status is TicketStatus.NEW


async def test_follow_ups(db: Database, ids: dict[str, int]) -> None:
    service = followups(db)
    callback = await service.create(
        "callback",
        customer_id=ids["customer"],
        due_at=NOW + timedelta(days=1),
        summary="Call back about the refund\n[bold]soon[/]",
        agent_id=ids["agent"],
        priority=2,
        target_queue="billing",
        interaction_id=ids["call"],
    )
    assert callback.kind is FollowUpKind.CALLBACK and callback.status is FollowUpStatus.PENDING
    assert callback.target_queue_name == "billing" and callback.priority == 2
    assert callback.summary == "Call back about the refund\n[bold]soon[/]"
    task = await service.create(
        FollowUpKind.TASK,
        customer_id=ids["customer"],
        due_at=NOW + timedelta(hours=2),
        summary="Send the form",
        agent_id=ids["agent"],
        target_agent_id=ids["agent"],
        agent_only=True,
    )
    assert task.target_agent_name == "Ann [i]Agent[/i]" and task.agent_only
    pending = await service.pending_for(ids["customer"])
    assert [f.id for f in pending] == [task.id, callback.id]
    # The follow-up linked to the call satisfies a "callback scheduled" wrap-up.
    log = InteractionLog(db, clock=lambda: NOW)
    done = await log.wrap_up(ids["call"], WrapUp("callback_scheduled"), NOW)
    assert done.status is InteractionStatus.COMPLETED
    [entry] = [e for e in await AuditLog(db).for_entity("followup", callback.id)]
    assert entry.action == "create" and entry.details["kind"] == "callback"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"kind": "visit"}, "kind must be one of callback, escalation, task"),
        ({"customer_id": None}, "a callback needs a customer"),
        ({"due_at": NOW - timedelta(hours=1)}, "in the past"),
        ({"due_at": datetime(2026, 12, 1)}, "time zone"),
        ({"summary": ""}, "summary must not be empty"),
        ({"summary": "s" * 2001}, "summary is too long"),
        ({"priority": 0}, "priority must be 1"),
        ({"target_queue": "nowhere"}, "there is no queue 'nowhere'"),
        ({"agent_only": True}, "choose the agent"),
        ({"target_agent_id": 999}, "agent 999 does not exist"),
        ({"ticket_id": 999}, "ticket #999 does not exist"),
    ],
)
async def test_bad_follow_ups_are_refused(
    db: Database, ids: dict[str, int], call: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "kind": "callback",
        "customer_id": ids["customer"],
        "due_at": NOW + timedelta(days=1),
        "summary": "call back",
        "agent_id": ids["agent"],
    } | call
    with pytest.raises(FollowUpError, match=message):
        await followups(db).create(**args)  # type: ignore[arg-type]
    assert await followups(db).pending_for(ids["customer"]) == []
