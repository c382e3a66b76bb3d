"""The AMI server in front of the real simulator engine, in scaled real time and virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callkit.ami_frames import encode
from callkit.scenario import default_scenario, parse_scenario
from telephony_sim.ami_server import AmiServer
from telephony_sim.clock import RealTimeClock, VirtualClock
from telephony_sim.engine import Engine, SimError
from tests.integration.ami_support import RawClient, serving


@pytest.fixture
async def live() -> AsyncIterator[tuple[AmiServer, Engine]]:
    engine = Engine(default_scenario(), seed=7, clock=RealTimeClock(speed=120))
    async with serving(engine, (SimError,)) as server:
        stop = asyncio.Event()
        runner = asyncio.create_task(engine.run(stop))
        try:
            yield server, engine
        finally:
            stop.set()
            await asyncio.wait_for(runner, timeout=5)


async def test_real_engine_lists_and_events(live: tuple[AmiServer, Engine]) -> None:
    server, _engine = live
    client = await RawClient.connect(server.port)
    try:
        await client.login(events="off")
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


AWKWARD = """
name = "awkward"
[[queues]]
name = "support"
strategy = "ringall"
wrapuptime = 3
[queues.traffic]
rate = 400
handle_time = 30
patience = { dist = "exponential", mean = 40 }
[[bot_pools]]
count = 3
[bot_pools.bot]
answer_delay = { dist = "uniform", low = 0, high = 6 }
miss_share = 0.2
hold_share = 0.5
hold_time = 5
[[calls]]
at = 5
queue = "support"
number = "+442079460018"
name = "José \\r\\nEvent: Forged"
tier = "platinum"
transcript = [{ at = "1s", text = "Line one\\nline two" }]
"""


async def test_a_client_reads_exactly_the_codecs_bytes_for_every_event() -> None:
    # Virtual time, events batched per turn of the loop: the bytes on the socket must be those
    # `encode` gives each event, in order, with nothing lost, merged or split differently.
    engine = Engine(parse_scenario(AWKWARD, "awkward.toml"), seed=3, clock=VirtualClock())
    expected: list[bytes] = []
    async with serving(engine, (SimError,)) as server:
        engine.add_listener(lambda n, f: expected.append(encode([("Event", n), *f])))
        client = await RawClient.connect(server.port)
        try:
            await client.login()
            for _ in range(60):
                engine.run_virtual(10)
                await asyncio.sleep(0)
            wanted = b"".join(expected)
            got = b""
            async with asyncio.timeout(10):
                while len(got) < len(wanted):
                    got += await client.reader.read(1 << 16)
        finally:
            await client.close()
    assert len(expected) > 200
    assert got == wanted
    assert b"Forged" in got and b"\r\nEvent: Forged" not in got
