"""The AMI server in front of the real simulator engine (scaled real time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from telephony_sim.ami_actions import EngineActions
from telephony_sim.ami_server import AmiServer
from telephony_sim.clock import RealTimeClock
from telephony_sim.engine import Engine, SimError
from telephony_sim.scenarios import default_scenario
from tests.integration.ami_support import RawClient


@pytest.fixture
async def live() -> AsyncIterator[tuple[AmiServer, Engine]]:
    engine = Engine(default_scenario(), seed=7, clock=RealTimeClock(speed=120))
    server = AmiServer(EngineActions(engine, (SimError,)).actions(), {"a": "b"}, port=0)
    engine.add_listener(server.publish_event)
    await server.start()
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))
    try:
        yield server, engine
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
        await server.close()


async def test_real_engine_lists_and_events(live: tuple[AmiServer, Engine]) -> None:
    server, _engine = live
    client = await RawClient.connect(server.port)
    try:
        await client.login("a", "b", events="off")
        await client.send(("Action", "QueueStatus"), ("ActionID", "snap"))
        ack, *items, done = await client.read_until(
            lambda m: m.get("Event") == "QueueStatusComplete"
        )
        assert ack.get("EventList") == "start"
        assert items and {m.get("ActionID") for m in items} == {"snap"}
        assert "QueueParams" in {m.get("Event") for m in items}
        assert done.get("ListItems") == str(len(items))

        refused = await client.action(
            ("Action", "SimPhone"), ("Interface", "PJSIP/no-such-phone"), ("Command", "answer")
        )
        assert refused.get("Response") == "Error"
        assert refused.get("Message")  # the engine's own wording

        await client.action(("Action", "Events"), ("EventMask", "on"))
        # At 120x, the default day brings a caller within a few wall seconds.
        events = await client.read_until(lambda m: m.get("Event") == "QueueCallerJoin")
        assert all("Event" in m for m in events)
    finally:
        await client.close()
