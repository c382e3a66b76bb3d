"""End-to-end screen pop: AgentCalled written on the AMI socket → the profile visible in the app.

    python bench/screenpop_e2e.py [--db PATH] [--calls 1000] [--no-recording]

The real simulator (engine + AMI server on a free port) and the real console (headless Textual,
AMI client over TCP, the SQLite CRM) run in this process. For each call a caller from the CRM
(80 %) or an unknown number (20 %) dials the queue; the clock starts when the simulator has
written the AgentCalled frame to the console's socket and stops when the caller's card has
been redrawn on screen (after Textual's refresh). The caller then hangs up and the next one
rings. Prints p50/p95/p99; target p99 <= 50 ms on the 1M-customer database. The session is
recorded as in the product (every CTI event and agent action, batched in the background; the
database must be at the current schema) unless `--no-recording`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from callkit.scenario import parse_scenario
from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import open_database
from console.services.context import ServiceContext
from console.services.desk.session import AgentSession, DeskOptions
from console.services.training.recording import NullRecorder, SessionRecorder
from console.widgets.profile_card import ProfileCard
from telephony_sim.ami_actions import EngineActions
from telephony_sim.ami_server import AmiServer
from telephony_sim.clock import RealTimeClock
from telephony_sim.engine import Engine, SimError

AGENT = "PJSIP/1001"
SCENARIO = """
name = "screenpop-e2e"
[[queues]]
name = "support"
extension = "601"
timeout = 300
"""


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def callers(path: Path, count: int, rng: random.Random) -> list[str]:
    con = sqlite3.connect(path)
    top = con.execute("SELECT max(id) FROM phone_numbers").fetchone()[0]
    known: list[str] = []
    while len(known) < count * 8 // 10:
        row = con.execute(
            "SELECT e164 FROM phone_numbers WHERE id >= ? ORDER BY id LIMIT 1",
            (rng.randrange(1, top + 1),),
        ).fetchone()
        if row:
            known.append(row[0])
    con.close()
    unknown = [f"+1212{rng.randrange(2_000_000, 10**7)}" for _ in range(count - len(known))]
    mixed = known + unknown
    rng.shuffle(mixed)
    return mixed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/data/screenpop-1m.db"))
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--no-recording", action="store_true", help="no session recording")
    args = parser.parse_args()
    if not args.db.exists():
        print(f"{args.db} is missing: build it with `python bench/screenpop.py`", file=sys.stderr)
        return 2
    numbers = callers(args.db, args.calls, random.Random(7))

    engine = Engine(parse_scenario(SCENARIO, "e2e.toml"), seed=1, clock=RealTimeClock(speed=1))
    server = AmiServer(EngineActions(engine, (SimError,)).actions(), {"bench": "bench"}, port=0)
    engine.add_listener(server.publish_event)
    port = await server.start()
    written: dict[str, float] = {}

    def on_event(name: str, fields: object) -> None:  # runs right after the server's write
        if name == "AgentCalled":
            written["at"] = time.perf_counter()

    engine.add_listener(on_event)
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))

    db = open_database(f"sqlite:///{args.db}")
    recorder = NullRecorder() if args.no_recording else SessionRecorder(db, agent_id=1)
    runtime = AgentSession(
        ctx=ServiceContext(db=db, recorder=recorder),
        cti=AmiClient("127.0.0.1", port, "bench", "bench", tracker=CallTracker(AGENT)),
        agent_id=1,
        interface=AGENT,
        member_name="Demo Agent",
        queues=("support",),
        options=DeskOptions(start_ready=True),
    )
    app = CallConsoleApp(runtime=runtime)
    latencies: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        assert screen is not None
        card = screen.query_one(ProfileCard)
        shown: dict[str, float] = {}
        original = card.show_pop

        def timed_show(pop: object) -> None:
            original(pop)  # type: ignore[arg-type]
            if pop is not None:
                card.call_after_refresh(lambda: shown.__setitem__("at", time.perf_counter()))

        card.show_pop = timed_show  # type: ignore[method-assign]

        async def until(check: object, within: float = 10.0) -> None:
            async with asyncio.timeout(within):
                while not check():  # type: ignore[operator]  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

        await until(lambda: screen.bar_model.agent_ready)
        for n, number in enumerate(numbers):
            written.clear()
            shown.clear()
            engine.inbound("support", number, "Bench Caller")
            await until(lambda: "at" in shown and "at" in written)
            latencies.append((shown["at"] - written["at"]) * 1000)
            await until(lambda: screen.desk.state.call is not None)
            call = screen.desk.state.call
            assert call is not None
            engine.hangup(call.channel)  # the caller gives up; the next one rings
            await until(lambda: screen.desk.state.phase == "idle")
            if n % 100 == 99:
                print(f"{n + 1} calls…", file=sys.stderr)
        await pilot.pause()
    stop.set()
    await runner
    await server.close()
    await db.dispose()

    p50, p95, p99 = percentiles(latencies)
    print(f"database: {args.db} ({args.db.stat().st_size / 1e6:,.0f} MB)")
    print(f"calls: {len(latencies)} (80% CRM callers, 20% unknown numbers)")
    if isinstance(recorder, SessionRecorder):
        stats = recorder.stats
        print(
            f"recording on: {stats.written} records written, {stats.pending} not saved, "
            f"{stats.failures} failed writes"
        )
    else:
        print("recording off")
    print(
        f"AgentCalled written → profile on screen: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
        f"p99 {p99:.1f} ms  max {max(latencies):.1f} ms   (target: p99 <= 50 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
