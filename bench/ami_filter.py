"""Event frames per console per minute, with and without AMI event filters, at 200 bots.

The simulator (200 instant-answer bots on 20 queues at 85 % load, two-minute calls: about 85
calls a minute) runs in virtual time behind its AMI server, in half-second slices with a
short real pause after each so the consoles' Filter actions reach the server as they would
on a live PBX. Three consoles log in over TCP: an agent's console on a filtered session
(the bot at PJSIP/3000 in queue q1, as `ConsoleContext.session_for` builds it), the same agent
with ``[pbx] event_filter = false``, and a wallboard (full stream, no tracker). Each count is
the event frames the client read (list items and answers excluded), divided by the simulated
minutes. The filtered agent's calls are checked against the unfiltered one's: the same offers
and endings must come out.

Usage: python bench/ami_filter.py [--minutes N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_throughput import mmc_scenario

from console.cti.ami import AmiClient
from console.cti.protocol import CallEnded, CallOffered, CtiEvent
from console.cti.tracker import CallTracker
from telephony_sim.ami_server import engine_server
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from telephony_sim.pbx import SimError

AGENT = "PJSIP/3000"  # a bot in queue q1: its calls are real, its console only watches
SLICE_S = 0.5  # simulated seconds per slice
PAUSE_S = 0.004  # real pause after each slice (a Filter round trip on localhost)


def call_log(events: list[CtiEvent]) -> list[tuple[str, str, str]]:
    """The agent's offers and endings, comparable between two consoles."""
    out = []
    for e in events:
        if isinstance(e, CallOffered):
            out.append(("offered", e.uniqueid, e.queue))
        elif isinstance(e, CallEnded):
            out.append(("ended", e.uniqueid, str(e.reason)))
    return out


async def measure(minutes: float) -> dict[str, float]:
    engine = Engine(mmc_scenario(20, 10, 0.85, 120.0), seed=1, clock=VirtualClock())
    server = engine_server(engine, (SimError,), {"bench": "bench"}, port=0)
    port = await server.start()
    logs: dict[str, list[CtiEvent]] = {"filtered": [], "unfiltered": []}

    def agent(kind: str, event_filter: bool) -> AmiClient:
        return AmiClient(
            "127.0.0.1",
            port,
            "bench",
            "bench",
            tracker=CallTracker(AGENT),
            event_filter=event_filter,
            queues=("q1",),
            on_event=logs[kind].append,
        )

    clients = {
        "agent, filtered": agent("filtered", True),
        "agent, event_filter = false": agent("unfiltered", False),
        "wallboard (full stream)": AmiClient("127.0.0.1", port, "bench", "bench"),
    }
    for client in clients.values():
        await client.start()
        await client.wait_connected()
    before = {name: c.stats.event_frames for name, c in clients.items()}
    for _ in range(int(minutes * 60 / SLICE_S)):
        engine.run_virtual(SLICE_S)
        await asyncio.sleep(PAUSE_S)
        while server.backlog() > 1 << 20:  # noqa: ASYNC110 - pace on the sockets
            await asyncio.sleep(0.002)
    for client in clients.values():  # a round trip: every frame sent before it has arrived
        await client.send_action("Ping")
    figures = {name: (c.stats.event_frames - before[name]) / minutes for name, c in clients.items()}
    filters = clients["agent, filtered"].stats.filters_added
    for client in clients.values():
        await client.close()
    await server.close()
    same = call_log(logs["filtered"]) == call_log(logs["unfiltered"])
    figures["filters added"] = filters
    figures["calls alike"] = float(same)
    figures["calls"] = float(len(call_log(logs["filtered"])) // 2)
    return figures


def main() -> None:
    """Parse the arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    args = parser.parse_args()
    figures = asyncio.run(measure(args.minutes))
    print(f"200 bots / 20 queues, {args.minutes:g} simulated minutes")
    print(
        f"  agent's calls (offered and ended): {figures['calls']:.0f}, "
        f"filters added: {figures['filters added']:.0f}, "
        f"filtered and unfiltered consoles saw the same calls: "
        f"{'yes' if figures['calls alike'] else 'NO'}"
    )
    for name in ("wallboard (full stream)", "agent, event_filter = false", "agent, filtered"):
        print(f"  {name:30} {figures[name]:10,.0f} event frames / minute")
    full = figures["agent, event_filter = false"]
    print(
        f"agent console: {full:,.0f} -> {figures['agent, filtered']:,.0f} frames/min "
        f"({figures['agent, filtered'] / full:.1%} of the full stream)"
    )


if __name__ == "__main__":
    main()
