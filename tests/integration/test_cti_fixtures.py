"""Recorded-style event sequences, written from the Asterisk source, played over a real AMI socket
into the real `AmiClient` + `CallTracker` + `AgentDesk` + `InteractionLog` (a real SQLite file).

Each fixture in ``tests/fixtures/ami`` says which Asterisk functions its order follows and what
the console must make of it: the agent's CTI events, in order, and the interaction row. The
simulator's own stream for the same call is checked against the same expectations in
``tests/integration/test_sim_fidelity.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from callkit.ami_frames import Message
from console.cti.ami import AmiClient, AmiTimings, Backoff
from console.cti.protocol import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CtiEvent,
)
from console.cti.tracker import CallTracker
from console.db import Database
from console.services.desk.desk import AgentDesk
from console.services.desk.interactions import InteractionLog, InteractionRecord
from console.services.desk.screenpop import ScreenPopService
from tests.ami_fixture import EPOCH, Expected, Fixture, FixturePbx, all_fixtures, load

CALL_EVENTS = (
    CallOffered,
    CallAnswered,
    CallHeld,
    CallResumed,
    CallTransferred,
    CallEnded,
    CallAbandoned,
)
FAST = AmiTimings(
    connect_timeout=5.0,
    action_timeout=5.0,
    ping_interval=30.0,
    ping_timeout=5.0,
    backoff=Backoff(initial=0.05, cap=0.2, jitter=0.0),
)


class Run:
    """What the console made of a fixture: its call events and the agent's interaction rows."""

    def __init__(self, events: list[CtiEvent], rows: list[InteractionRecord]) -> None:
        self.events = events
        self.rows = rows


async def add_agent(db: Database, interface: str) -> int:
    """An agent row for the fixture's console."""
    from sqlalchemy import insert

    from console.models import Agent

    async with db.write_connection() as conn:
        return int(
            await conn.scalar(
                insert(Agent)
                .values(login="fixture", display_name="Fixture Agent", interface=interface)
                .returning(Agent.id)
            )
            or 0
        )


async def run_fixture(fixture: Fixture, db: Database) -> Run:
    """Serve ``fixture`` to a real client and desk; what they made of it."""
    agent_id = await add_agent(db, fixture.agent)
    async with FixturePbx(fixture) as pbx:
        tracker = CallTracker(
            fixture.agent,
            state_interfaces=[fixture.state_interface] if fixture.state_interface else (),
            clock=lambda: datetime.fromtimestamp(EPOCH + pbx.snapshot_at, UTC),
        )
        done = asyncio.Event()

        def on_frame(message: Message) -> None:
            if message.get("UserEvent") == FixturePbx.DONE:
                done.set()

        client = AmiClient(
            "127.0.0.1",
            pbx.port,
            "callconsole",
            "secret",
            tracker=tracker,
            timings=FAST,
            on_frame=on_frame,
        )
        stream = client.events()
        log = InteractionLog(db)
        desk = AgentDesk(agent_id=agent_id, screenpop=ScreenPopService(db), interactions=log)
        events: list[CtiEvent] = []

        async def consume() -> None:
            async for event in stream:
                if isinstance(event, CALL_EVENTS):
                    events.append(event)
                    await desk.handle(event)

        consumer = asyncio.create_task(consume())
        try:
            await client.start()
            async with asyncio.timeout(30):
                await done.wait()
        finally:
            await client.close()
            await asyncio.wait_for(consumer, 10)
    return Run(events, await _rows(db, agent_id))


async def _rows(db: Database, agent_id: int) -> list[InteractionRecord]:
    from sqlalchemy import select

    from console.models import Interaction

    log = InteractionLog(db)
    async with db.session() as session:
        ids = (
            await session.scalars(
                select(Interaction.id)
                .where(Interaction.agent_id == agent_id)
                .order_by(Interaction.id)
            )
        ).all()
    rows = [await log.get(i) for i in ids]
    return [r for r in rows if r is not None]


def shown(value: Any) -> str:
    """A value as the fixtures write it: times in seconds after the fixture's epoch."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value.timestamp() - EPOCH:g}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def described(events: Sequence[CtiEvent], expected: Sequence[Expected]) -> list[str]:
    """Each event as its expectation line would describe it (only the keys it names)."""
    out = []
    for i, event in enumerate(events):
        keys = expected[i].fields if i < len(expected) else {}
        if i < len(expected) and type(event).__name__ != expected[i].type:
            keys = {}
        parts = [type(event).__name__]
        parts += [f"{k}={shown(getattr(event, k, '?'))}" for k in keys]
        out.append(" ".join(parts))
    return out


def wanted(expected: Sequence[Expected]) -> list[str]:
    return [" ".join([e.type, *(f"{k}={v}" for k, v in e.fields.items())]) for e in expected]


@pytest.mark.parametrize("name", all_fixtures())
async def test_the_fixture_gives_the_agent_events_and_interaction_row(
    name: str, db: Database
) -> None:
    fixture = load(name)
    run = await run_fixture(fixture, db)
    assert described(run.events, fixture.expected) == wanted(fixture.expected), fixture.title
    if fixture.row is None:
        assert run.rows == []
        return
    assert len(run.rows) == 1, [(r.status, r.end_reason) for r in run.rows]
    row = run.rows[0]
    got = {k: shown(getattr(row, k)) for k in fixture.row}
    assert got == {k: v if v != "" else "" for k, v in fixture.row.items()}
