"""A console rehearses a call at login, rolled back (issue 17): its first real call compiles
nothing, and the rehearsal leaves nothing in the database.

On a fresh engine (a console's at login) every statement's first run compiles it. 200
consoles compiling a call's ~25 statements on their first calls stalled each other's pops
(bench/seats.py). `rehearse_call` runs them once in a transaction that is rolled back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine.default import CacheStats

from console.db import Database, open_database
from console.db_rehearsal import rehearsal
from console.models import Agent, AuditLog, FollowUp, Interaction, Ticket
from console.models.enums import FollowUpKind, FollowUpOrigin, FollowUpStatus
from console.services.context import ServiceContext
from console.services.desk.dispositions import DEFAULT_CATALOG
from console.services.desk.rehearsal import plain_disposition, rehearse_call
from console.services.desk.wrapup import WrapUpForm, WrapUpSubmission
from console.services.routing.rules_file import load_rules
from console.services.seeding.seeding import SeedPlan, seed_database

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def counts(db: Database) -> dict[str, Any]:
    async with db.session() as session:
        return {
            "interactions": await session.scalar(select(func.count()).select_from(Interaction)),
            "tickets": await session.scalar(select(func.count()).select_from(Ticket)),
            "audit": await session.scalar(select(func.count()).select_from(AuditLog)),
            "followups": (
                await session.execute(
                    select(
                        FollowUp.id, FollowUp.status, FollowUp.claimed_by, FollowUp.version
                    ).order_by(FollowUp.id)
                )
            ).all(),
        }


async def a_pending_task(db: Database, agent_id: int) -> None:
    ctx = ServiceContext(db=db, clock=lambda: NOW)
    await ctx.router.create(
        FollowUpKind.TASK,
        origin=FollowUpOrigin.AGENT,
        customer_id=None,
        summary="check the order",
        by_agent_id=agent_id,
    )


async def test_a_rehearsed_call_leaves_nothing_and_the_real_one_compiles_nothing(
    pg_db: Database,
) -> None:
    await seed_database(pg_db, SeedPlan(customers=30, seed=5, as_of=date(2026, 11, 1)))
    async with pg_db.session() as session:
        agent_id = int(await session.scalar(select(func.min(Agent.id))) or 0)
    await a_pending_task(pg_db, agent_id)
    await a_pending_task(pg_db, agent_id)
    before = await counts(pg_db)
    assert any(f.status == FollowUpStatus.PENDING for f in before["followups"])

    console = open_database(str(pg_db.url.render_as_string(hide_password=False)))
    compiled: list[str] = []

    def count(_c: Any, _cur: Any, sql: str, _p: Any, context: Any, _many: bool) -> None:
        if context is not None and context.cache_hit is CacheStats.CACHE_MISS:
            compiled.append(" ".join(sql.split())[:100])

    event.listen(console.engine.sync_engine, "after_cursor_execute", count)
    rules = load_rules()
    try:
        done = await rehearse_call(
            console,
            agent_id=agent_id,
            queue="support",
            clock=lambda: NOW,
            rules=rules,
            catalog=DEFAULT_CATALOG,
        )
        assert done
        assert len(compiled) > 10, "the rehearsal ran the call's statements"
        assert await counts(pg_db) == before, "the rehearsal left something behind"

        # The real call, on the console's engine: nothing left to compile.
        compiled.clear()
        ctx = ServiceContext(db=console, clock=lambda: NOW, rules=rules)
        log = ctx.interactions()
        record = await log.ring(
            uniqueid="1733.77",
            linkedid="1733.77",
            agent_id=agent_id,
            queue_name="support",
            caller_raw="+12125550100",
            caller_e164="+12125550100",
            caller_name="Caller",
            customer_id=1,
            offered_at=NOW,
        )
        await log.answered(record.id, NOW)
        await log.ended(record.id, NOW)
        found = await log.get(record.id)
        assert found is not None
        code = plain_disposition(DEFAULT_CATALOG)
        assert code is not None
        await WrapUpSubmission(
            log, found, agent_id=agent_id, followups=ctx.followups, router=ctx.router
        ).submit(WrapUpForm(disposition=code, notes="all good"))
        item = await ctx.worklist.claim_next(agent_id)
        assert item is not None
        await ctx.worklist.complete(agent_id, item.id, note="done")
        assert compiled == []
    finally:
        await console.dispose()


async def test_a_rehearsal_rolls_back_even_when_a_step_fails(pg_db: Database) -> None:
    before = await counts(pg_db)
    with pytest.raises(RuntimeError):
        async with rehearsal(pg_db) as stage, stage.write_connection() as conn:
            await conn.execute(
                text("INSERT INTO upkeep_turns (name, due_at) VALUES ('rehearsed', now())")
            )
            raise RuntimeError("a step refused")
    async with rehearsal(pg_db) as stage:
        async with stage.write() as session:
            await session.execute(
                text("INSERT INTO upkeep_turns (name, due_at) VALUES ('rehearsed', now())")
            )
        async with stage.session() as session:  # later steps see the earlier ones
            assert (
                await session.scalar(
                    text("SELECT count(*) FROM upkeep_turns WHERE name = 'rehearsed'")
                )
                == 1
            )
    async with pg_db.session() as session:
        assert (
            await session.scalar(text("SELECT count(*) FROM upkeep_turns WHERE name = 'rehearsed'"))
            == 0
        )
    assert await counts(pg_db) == before


async def test_no_rehearsal_on_sqlite(db: Database) -> None:
    assert not await rehearse_call(
        db,
        agent_id=1,
        queue=None,
        clock=lambda: NOW,
        rules=load_rules(),
        catalog=DEFAULT_CATALOG,
    )
    with pytest.raises(ValueError, match="PostgreSQL"):
        async with rehearsal(db):
            pass
