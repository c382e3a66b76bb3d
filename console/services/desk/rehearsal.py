"""A call rehearsed at login, rolled back: the first call of a shift runs as warm as the rest.

A statement's first run on a console's engine compiles it (SQLAlchemy) and prepares it on the
connection (asyncpg): a few ms each, 35 ms for the claim. A call's writes are ~25 statements,
so a console's first call did 100-200 ms of work nobody saw, and with many consoles starting
together (bench/seats.py: 200 seats) their first calls stalled each other's pops. The pop's
own reads are warmed by `ScreenPopService.warm_up`; this runs the rest once, with the real
services, on a `rehearsal` database (`console/db_rehearsal.py`) whose every write is rolled
back: the ring, the answer, the hang-up, the wrap-up, then claiming and completing the next
follow-up, as the agent's console does. Nothing is left in the database.

PostgreSQL only (see `console.db_rehearsal`). A step refused raises, and everything is rolled
back all the same; the console ignores it (the first real call compiles what is left).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from console.db import Database
from console.db_rehearsal import rehearsal
from console.models import Customer
from console.services.context import ServiceContext
from console.services.desk.dispositions import DispositionCatalog
from console.services.desk.wrapup import WrapUpForm, WrapUpSubmission
from console.services.routing.routing_rules import RuleSet

REHEARSAL_UNIQUEID = "rehearsal-at-login"


def plain_disposition(catalog: DispositionCatalog) -> str | None:
    """The first disposition that asks for nothing more (no ticket, follow-up, amount...)."""
    for d in catalog:
        if not (d.requires_ticket or d.requires_followup or d.opt_out or d.sale or d.retry):
            return d.code
    return None


async def rehearse_call(
    db: Database,
    *,
    agent_id: int,
    queue: str | None,
    clock: Callable[[], datetime],
    rules: RuleSet,
    catalog: DispositionCatalog,
    region: str = "US",
) -> bool:
    """Run one inbound call's writes for `agent_id` and roll them back. True when every step
    ran; False on SQLite (nothing done) or when a step was refused."""
    if db.is_sqlite:
        return False
    async with rehearsal(db) as stage:
        ctx = ServiceContext(
            db=stage, clock=clock, region=region, rules=rules, dispositions=catalog
        )
        log = ctx.interactions()
        async with stage.session() as session:
            customer = await session.scalar(select(Customer.id).order_by(Customer.id).limit(1))
        now = clock()
        record = await log.ring(
            uniqueid=REHEARSAL_UNIQUEID,
            linkedid=REHEARSAL_UNIQUEID,
            agent_id=agent_id,
            queue_name=queue,
            caller_raw="",
            caller_e164=None,
            caller_name="",
            customer_id=customer,
            offered_at=now,
        )
        await log.answered(record.id, now)
        await log.ended(record.id, now)
        found = await log.get(record.id)
        code = plain_disposition(catalog)
        if found is None or code is None:
            return False
        submission = WrapUpSubmission(
            log,
            found,
            agent_id=agent_id,
            tickets=ctx.tickets,
            followups=ctx.followups,
            router=ctx.router,
            clock=clock,
        )
        await submission.submit(WrapUpForm(disposition=code))
        item = await ctx.worklist.claim_next(agent_id)
        if item is not None:
            await ctx.worklist.complete(agent_id, item.id)
    return True
