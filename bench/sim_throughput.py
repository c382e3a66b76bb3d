"""Simulated calls per wall-clock second in virtual mode.

(a) one M/M/c queue: 20 bot agents answering at once, exponential handle time, no abandonment,
    no AMI listener — the engine alone (target >= 10,000 calls/s).
(b) 200 bots on 20 queues behind the AMI server, with one logged-in client on a real TCP
    socket reading every event frame (target >= 2,000 calls/s).

Usage: python bench/sim_throughput.py [--calls N] [--part a|b|both]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from telephony_sim.bots import BotProfile
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.scenarios import AgentSpec, QueueSpec, Scenario, TrafficSpec
from telephony_sim.traffic import CallerMix, Dist

_INSTANT = BotProfile(answer_delay=Dist("fixed", 0.0))


def mmc_scenario(queues: int, agents_per_queue: int, load: float, aht: float) -> Scenario:
    """``queues`` independent M/M/c queues at ``load`` (utilisation) with instant-answer bots."""
    rate_per_hour = load * agents_per_queue / aht * 3600.0
    specs = []
    agents = []
    for qi in range(queues):
        name = f"q{qi + 1}"
        traffic = TrafficSpec(
            hourly=(rate_per_hour,) * 24,
            handle_time=Dist("exponential", aht),
            patience=Dist("none"),
        )
        specs.append(
            QueueSpec(name, extension=str(600 + qi), strategy="leastrecent", traffic=traffic)
        )
        for ai in range(agents_per_queue):
            ext = 3000 + qi * agents_per_queue + ai
            agents.append(
                AgentSpec(f"PJSIP/{ext}", f"Bot {ext}", "bot", ((name, 0),), profile=_INSTANT)
            )
    return Scenario(
        name="bench",
        callers=CallerMix(unknown_share=1.0, withheld_share=0.0, malformed_share=0.0),
        queues=tuple(specs),
        agents=tuple(agents),
    )


def run_engine_only(calls: int) -> tuple[int, float]:
    """(a): one M/M/c queue, 20 bots, no listener; returns (calls offered, wall seconds)."""
    aht, load, agents = 120.0, 0.85, 20
    engine = Engine(mmc_scenario(1, agents, load, aht), seed=1, clock=VirtualClock())
    duration = calls / (load * agents / aht)
    t0 = time.perf_counter()
    engine.run_virtual(duration)
    wall = time.perf_counter() - t0
    return sum(q.offered for q in engine.acd.queues.values()), wall


async def run_with_client(calls: int) -> tuple[int, float, int]:
    """(b): 200 bots on 20 queues behind the AMI server, one logged-in client reading every
    event over TCP. Returns (calls offered, wall seconds, events received by the client)."""
    from telephony_sim.ami_actions import EngineActions
    from telephony_sim.ami_server import AmiServer
    from telephony_sim.pbx import SimError

    aht, load, queues, per_queue = 120.0, 0.85, 20, 10
    engine = Engine(mmc_scenario(queues, per_queue, load, aht), seed=1, clock=VirtualClock())
    server = AmiServer(EngineActions(engine, (SimError,)).actions(), {"bench": "bench"}, port=0)
    port = await server.start()
    emitted = 0

    def count(_name: str, _fields: list[tuple[str, str]]) -> None:
        nonlocal emitted
        emitted += 1

    engine.add_listener(server.publish_event)
    engine.add_listener(count)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.readline()  # greeting
    writer.write(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    received = 0
    pending = b""

    async def drain() -> None:
        nonlocal received, pending
        while True:
            data = await reader.read(1 << 20)
            if not data:
                return
            chunk = pending + data
            received += chunk.count(b"\r\n\r\n")
            pending = chunk[-3:]  # a separator may straddle two reads
            if pending.count(b"\r\n\r\n"):
                pending = b""

    reading = asyncio.create_task(drain())
    await server.subscribed.wait()
    base_received, base_emitted = received, emitted
    rate = load * per_queue / aht * queues
    slice_s = 200 / rate  # about 200 calls per slice, then let the client catch up
    slices = max(1, int(calls / 200))
    t0 = time.perf_counter()
    for _ in range(slices):
        engine.run_virtual(slice_s)
        # Polling with sleep(0) yields one loop turn at a time: cheaper than an Event per slice.
        while received - base_received < emitted - base_emitted:  # noqa: ASYNC110
            await asyncio.sleep(0)
    wall = time.perf_counter() - t0
    writer.close()
    await writer.wait_closed()
    await reading
    await asyncio.sleep(0.05)  # let the server notice the client left before closing it
    await server.close()
    offered = sum(q.offered for q in engine.acd.queues.values())
    return offered, wall, received


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--part", choices=("a", "b", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("a", "both"):
        offered, wall = run_engine_only(args.calls)
        print(f"(a) M/M/c, 20 bots, no listener: {offered} calls in {wall:.2f} s wall")
        print(f"(a) {offered / wall:,.0f} calls/s (target 10,000)")
    if args.part in ("b", "both"):
        offered, wall, received = asyncio.run(run_with_client(args.calls // 4))
        print(f"(b) 200 bots / 20 queues, AMI client reading every event: {offered} calls")
        print(f"(b) {received} event frames over TCP in {wall:.2f} s wall")
        print(f"(b) {offered / wall:,.0f} calls/s (target 2,000)")


if __name__ == "__main__":
    main()
