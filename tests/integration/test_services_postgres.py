"""The agent-console services on a real PostgreSQL server (same code as SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from console.db import Database
from console.models import Agent, Customer
from console.models.enums import InteractionStatus
from console.services.audit import AuditLog
from console.services.crm.customers import CustomerError, CustomerService, MatchKind
from console.services.crm.tickets import TicketService
from console.services.desk.interactions import InteractionLog, WrapUp, WrapUpError
from console.services.routing.followups import FollowUpService

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def setup(db: Database) -> int:
    """An agent (its id is returned) and a few customers to search for."""
    async with db.write() as s:
        agent = Agent(login="ann", display_name="Ann Agent")
        s.add(agent)
        s.add_all(
            Customer(display_name=name)
            for name in ("Alice Adams", "alison brown", "ALIBABA", "Alfred Ali", "Émile Zola")
        )
        await s.flush()
        return agent.id


async def test_call_flow_on_postgres(pg_db: Database) -> None:
    agent = await setup(pg_db)
    log = InteractionLog(pg_db, clock=lambda: T0)
    args = {
        "uniqueid": "1.1",
        "linkedid": "1.0",
        "agent_id": agent,
        "queue_name": "support",
        "caller_raw": "+14155550123",
        "caller_e164": "+14155550123",
        "caller_name": "x" * 10_000,
        "customer_id": None,
        "offered_at": T0,
        "wait_seconds": 3,
    }
    # Racing duplicate rings on separate connections: ON CONFLICT keeps one row.
    first, second = await asyncio.gather(log.ring(**args), log.ring(**args))  # type: ignore[arg-type]
    assert first.id == second.id and len(first.caller_name) == 120
    await log.answered(first.id, T0 + timedelta(seconds=2))
    await log.held(first.id, T0 + timedelta(seconds=10))
    await log.resumed(first.id, T0 + timedelta(seconds=20))
    ended = await log.ended(first.id, T0 + timedelta(seconds=62))
    assert (ended.talk_seconds, ended.hold_seconds) == (50, 10)
    with pytest.raises(WrapUpError, match="needs a ticket"):
        await log.wrap_up(first.id, WrapUp("escalated"), T0 + timedelta(seconds=70))
    customers = CustomerService(pg_db, "US", AuditLog(pg_db))
    customer = await customers.create("Dan Dare", agent_id=agent, phone_raw="+14155550123")
    await log.set_customer(first.id, customer)
    ticket = await TicketService(pg_db).create(
        customer, "Escalate", agent_id=agent, interaction_id=first.id
    )
    await FollowUpService(pg_db, clock=lambda: T0).create(
        "callback",
        customer_id=customer,
        due_at=T0 + timedelta(days=1),
        summary="call back",
        agent_id=agent,
        interaction_id=first.id,
    )
    done = await log.wrap_up(first.id, WrapUp("escalated", "ok"), T0 + timedelta(seconds=80))
    assert done.status is InteractionStatus.COMPLETED and done.ticket_id == ticket.id
    assert done.wrap_seconds == 18 and done.wrapped_at == T0 + timedelta(seconds=80)
    assert await log.unfinished(agent) == []
    page = await customers.timeline(customer)
    assert [e.id for e in page.entries] == [first.id]


async def test_search_on_postgres(pg_db: Database) -> None:
    agent = await setup(pg_db)
    customers = CustomerService(pg_db, "US", AuditLog(pg_db))
    hits = await customers.search("ali")
    prefix = {h.display_name for h in hits if h.matched_on is MatchKind.NAME_PREFIX}
    assert prefix == {"Alice Adams", "alison brown", "ALIBABA"}
    assert [h.display_name for h in hits if h.matched_on is MatchKind.NAME_CONTAINS] == [
        "Alfred Ali"
    ]
    # ILIKE on PostgreSQL folds non-ASCII case too.
    assert [h.display_name for h in await customers.search("zola")] == ["Émile Zola"]
    assert [h.display_name for h in await customers.search("émile")] == ["Émile Zola"]
    new_id = await customers.create("Zed", agent_id=agent, email="Zed@Example.com")
    assert [h.customer_id for h in await customers.search("zed@example.com")] == [new_id]
    await customers.update_profile(new_id, agent_id=agent, tags=["vip"], tier="gold")
    entries = await AuditLog(pg_db).for_entity("customer", new_id)
    assert [e.action for e in entries] == ["update", "create"]
    with pytest.raises(CustomerError, match="name is too long"):
        await customers.update_profile(new_id, agent_id=agent, display_name="n" * 300)


async def test_consoles_recording_one_abandon_at_once_make_one_follow_up(
    pg_db: Database,
) -> None:
    """Every console of a queue hears its abandons (bench/seats.py: at 200 seats the check
    before the insert let several through and the others failed on the unique source_key)."""
    from sqlalchemy import func, select

    from console.models import FollowUp
    from console.models.enums import FollowUpKind, FollowUpOrigin
    from console.services.routing.router import Router
    from console.services.routing.rules_file import load_rules

    router = Router(pg_db, load_rules(), clock=lambda: T0)

    async def record() -> object:
        return await router.create(
            FollowUpKind.CALLBACK,
            origin=FollowUpOrigin.ABANDONED,
            customer_id=None,
            summary="Hung up waiting: call back",
            source_key="abandoned:1700000096.455",
            callback_number="+14155550123",
        )

    made = await asyncio.gather(*(record() for _ in range(12)))
    assert sum(m is not None for m in made) == 1
    assert await router.recorded("abandoned:1700000096.455")
    async with pg_db.session() as s:
        assert await s.scalar(select(func.count()).select_from(FollowUp)) == 1
