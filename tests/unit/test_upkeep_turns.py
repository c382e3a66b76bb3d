"""The shared routing upkeep is done by one console per interval, whoever it is (issue 17).

Every console's upkeep used to run the SLA pass and the lapsed-lease sweep every 15 s; with
200 consoles that was 13 passes a second doing the same idempotent work. The consoles now take
turns: heartbeat and lease renewal stay each console's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from console.db import Database
from console.models import Agent, UpkeepTurn
from console.services.context import ServiceContext
from console.services.routing.upkeep import SHARED, RoutingUpkeep, UpkeepTurns
from tests.unit.test_worklist import add_agent

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def consoles(db: Database, clock: Clock, n: int) -> list[RoutingUpkeep]:
    ups = []
    for k in range(n):
        agent = await add_agent(db, f"Agent {k}")
        ctx = ServiceContext(db=db, clock=clock)  # one context per console: its own turns
        ups.append(
            RoutingUpkeep(
                agent,
                ctx.presence,
                ctx.worklist,
                ctx.sla,
                interval=15,
                turns=UpkeepTurns(db, clock),
            )
        )
    return ups


async def check_turns(db: Database) -> None:
    clock = Clock()
    ups = await consoles(db, clock, 5)
    for _ in range(3):  # three intervals, every console ticking several times in each
        for _ in range(2):
            for up in ups:
                await up.tick()
            clock.now += timedelta(seconds=5)
        clock.now += timedelta(seconds=5)
    assert sum(up.shared_passes for up in ups) == 3
    async with db.session() as session:
        beats = (await session.scalars(select(Agent.heartbeat_at))).all()
    assert len(beats) == 5 and all(b is not None for b in beats)  # each its own heartbeat


async def test_one_console_per_interval_does_the_shared_upkeep(db: Database) -> None:
    await check_turns(db)


@pytest.mark.postgres
async def test_one_console_per_interval_does_the_shared_upkeep_on_postgresql(
    pg_db: Database,
) -> None:
    await check_turns(pg_db)


async def test_a_turn_set_far_ahead_by_a_wrong_clock_is_taken(db: Database) -> None:
    """A console whose clock ran a day ahead must not stop everyone's SLA pass for a day."""
    clock = Clock()
    turns = UpkeepTurns(db, clock)
    clock.now = START + timedelta(days=1)
    assert await turns.take(SHARED, 1, 15)
    clock.now = START
    assert await turns.take(SHARED, 2, 15)  # due a day ahead: more than two turns away
    assert not await turns.take(SHARED, 3, 15)  # but now a turn is due in 15 s: not yet
    async with db.session() as session:
        row = await session.get(UpkeepTurn, SHARED)
    assert row is not None and row.taken_by == 2


async def test_without_turns_a_console_does_the_shared_part_every_pass(db: Database) -> None:
    clock = Clock()
    agent = await add_agent(db, "Solo")
    ctx = ServiceContext(db=db, clock=clock)
    up = RoutingUpkeep(agent, ctx.presence, ctx.worklist, ctx.sla)
    await up.tick()
    await up.tick()
    assert up.shared_passes == 2
