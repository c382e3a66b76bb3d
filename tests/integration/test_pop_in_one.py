"""On PostgreSQL an inbound call's pop is one statement (issue 17), and it pops exactly what
the seven statements pop: the same matches, handoff, customer, history, tickets and
follow-ups, for known, shared, unknown, invalid and withheld numbers, with and without a warm
handoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text

from console.db import Database, open_database
from console.models import Agent, Customer, Interaction, PhoneNumber
from console.services.desk.screenpop import ScreenPopService
from console.services.seeding.seeding import SeedPlan, seed_database

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def test_the_one_statement_pop_is_the_seven_statement_pop(pg_db: Database) -> None:
    await seed_database(pg_db, SeedPlan(customers=80, seed=11, as_of=date(2026, 11, 1)))
    async with pg_db.session() as session:
        agents = list((await session.scalars(select(Agent.id).order_by(Agent.id).limit(2))).all())
        shared = list(
            (
                await session.scalars(
                    select(PhoneNumber.e164)
                    .group_by(PhoneNumber.e164)
                    .having(func.count() > 1)
                    .limit(5)
                )
            ).all()
        )
        single = list(
            (
                await session.scalars(select(PhoneNumber.e164).order_by(PhoneNumber.id).limit(25))
            ).all()
        )
        customers = list((await session.scalars(select(Customer.id).order_by(Customer.id))).all())
    assert shared, "the seed shares some numbers (organisations' office lines)"
    first, second = agents
    # Warm handoffs: the first agent answered legs of calls L1 (with a customer chosen) and
    # L2 (none chosen), with notes; the second agent's pop of the same calls gets them.
    async with pg_db.write_connection() as conn:
        await conn.execute(
            insert(Interaction),
            [
                dict(
                    uniqueid=f"U{n}",
                    linkedid=f"L{n}",
                    agent_id=first,
                    customer_id=customer,
                    offered_at=NOW - timedelta(minutes=5),
                    answered_at=NOW - timedelta(minutes=4),
                    notes=f"handed over {n}",
                )
                for n, customer in ((1, customers[-1]), (2, None))
            ],
        )
    seven = ScreenPopService(pg_db, clock=lambda: NOW)
    seven.one_statement = False
    one = ScreenPopService(pg_db, clock=lambda: NOW)
    assert one.one_statement
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    event.listen(pg_db.engine.sync_engine, "after_cursor_execute", count)
    numbers = [*shared, *single, "+12025550199", "anonymous", "12", "", "<script>"]
    compared = 0
    for number in numbers:
        for linkedid, agent in (
            ("", None),
            ("L1", second),
            ("L2", second),
            ("L1", first),
            ("L9", 7),
        ):
            expected = await seven.lookup(number, linkedid=linkedid, agent_id=agent)
            statements.clear()
            got = await one.lookup(number, linkedid=linkedid, agent_id=agent)
            assert got == expected, (number, linkedid, agent)
            assert len(statements) == 1  # one round trip
            compared += 1
    event.remove(pg_db.engine.sync_engine, "after_cursor_execute", count)
    assert compared == len(numbers) * 5
    # What the comparison covered: profiles with history, a handoff's customer over the
    # number's own, shared numbers, nobody.
    handed = await one.lookup(single[0], linkedid="L1", agent_id=second)
    assert handed.handoff is not None and handed.profile is not None
    assert handed.profile.id == customers[-1] and handed.handoff.notes == "handed over 1"
    plain = await one.lookup(single[0])
    assert plain.profile is not None and plain.profile.id != customers[-1]
    assert any([(await one.lookup(n)).is_ambiguous for n in shared])
    assert (await one.lookup("+12025550199")).is_unknown


async def test_the_pop_is_prepared_on_every_connection_the_pool_keeps(
    pg_db: Database, postgres_url: str
) -> None:
    """`ScreenPopService.warm_up` (at login) runs the pop on each of the pool's standing
    connections: whichever one a call's pop gets, the statement is prepared there (and
    asyncpg knows its result types), so no call pays for it. A mutation that warmed only one
    connection failed this."""
    await seed_database(pg_db, SeedPlan(customers=5, seed=3, as_of=date(2026, 11, 1)))
    console = open_database(postgres_url, pool_size=3, pool_max_overflow=0)
    try:
        pops = ScreenPopService(console, clock=lambda: NOW)
        assert pops.one_statement
        await pops.warm_up()
        held = [await console.engine.connect() for _ in range(3)]
        try:
            for conn in held:
                prepared = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_prepared_statements "
                        "WHERE statement LIKE 'WITH pick AS%'"  # _POP_IN_ONE's opening
                    )
                )
                assert prepared, "the pop is not prepared on this connection"
        finally:
            for conn in held:
                await conn.close()
    finally:
        await console.dispose()
