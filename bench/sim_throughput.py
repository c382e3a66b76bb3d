"""Simulated calls per wall-clock second in virtual mode.

(a) one M/M/c queue: 20 bot agents answering at once, exponential handle time, no abandonment,
    no AMI listener — the engine alone (target >= 10,000 calls/s).
(b) 200 bots on 20 queues behind the AMI server, with one logged-in client in another process
    reading every event frame from a real TCP socket (target >= 2,000 calls/s). The engine runs
    in slices of about 200 calls and yields to the event loop after each, as `Engine.run` does
    when serving, so each slice's frames leave in one write; it waits while more than 8 MB are
    queued for the client.

Usage: python bench/sim_throughput.py [--calls N] [--part a|b|both]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from callkit.scenario import AgentSpec, QueueSpec, Scenario, TrafficSpec
from callkit.specs import BotProfile, CallerMix, Dist
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine

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


def client_process(port: int) -> None:
    """The AMI client of part (b), run in its own process: log in, read every frame to EOF,
    print how many frames arrived."""
    import socket

    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
    frames = 0
    tail = b""
    while data := sock.recv(1 << 20):
        chunk = tail + data
        frames += chunk.count(b"\r\n\r\n")
        tail = chunk[-3:]  # a separator split across two reads is counted once, next time
    print(frames)


async def run_with_client(calls: int) -> tuple[int, float, int, int]:
    """(b): 200 bots on 20 queues behind the AMI server; one logged-in client in another
    process reads every event frame over TCP. Returns (calls offered, wall seconds, frames
    the engine emitted, frames the client received)."""
    import sys

    from telephony_sim.ami_server import engine_server
    from telephony_sim.pbx import SimError

    aht, load, queues, per_queue = 120.0, 0.85, 20, 10
    engine = Engine(mmc_scenario(queues, per_queue, load, aht), seed=1, clock=VirtualClock())
    server = engine_server(engine, (SimError,), {"bench": "bench"}, port=0)
    port = await server.start()
    emitted = 0

    def count(_name: str, _fields: list[tuple[str, str]]) -> None:
        nonlocal emitted
        emitted += 1

    engine.add_listener(count)
    client = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", str(port), stdout=asyncio.subprocess.PIPE
    )
    await server.subscribed.wait()

    rate = load * per_queue / aht * queues
    slice_s = 200 / rate  # about 200 calls per slice
    slices = max(1, int(calls / 200))
    t0 = time.perf_counter()
    for _ in range(slices):
        engine.run_virtual(slice_s)
        await asyncio.sleep(0)  # as Engine.run does: the slice's frames go to the socket
        while server.backlog() > 8 << 20:  # noqa: ASYNC110 - pace on the socket, as a real
            await asyncio.sleep(0.002)  # client would: polling the transport is the point
    while server.backlog():  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    wall = time.perf_counter() - t0
    await server.close()
    out, _err = await client.communicate()
    received = int(out.decode().strip() or 0)
    offered = sum(q.offered for q in engine.acd.queues.values())
    return offered, wall, emitted, received


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--part", choices=("a", "b", "both"), default="both")
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)  # part (b)'s reader
    args = parser.parse_args()
    if args.client is not None:
        client_process(args.client)
        return
    if args.part in ("a", "both"):
        offered, wall = run_engine_only(args.calls)
        print(f"(a) M/M/c, 20 bots, no listener: {offered} calls in {wall:.2f} s wall")
        print(f"(a) {offered / wall:,.0f} calls/s (target 10,000)")
    if args.part in ("b", "both"):
        offered, wall, emitted, received = asyncio.run(run_with_client(args.calls // 4))
        print(f"(b) 200 bots / 20 queues, AMI client process reading every event: {offered} calls")
        print(f"(b) {emitted} events emitted, {received} frames received over TCP, {wall:.2f} s")
        print(f"(b) {offered / wall:,.0f} calls/s (target 2,000)")


if __name__ == "__main__":
    main()
