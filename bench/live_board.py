"""How fast `LiveBoard.feed` folds AMI events, and what a snapshot costs, on one core.

The simulator runs the wallboard benchmark's world (bench/wallboard_scenario.py: 20 queues,
500 bots, 85 % load) in virtual time and records every event as the AMI client would hand it
over (a parsed `Message`); then the frames are fed to a fresh board, timed, and snapshots of
20 queues and 500 agents are timed at the end. No sockets, no Textual: the state machine only.
The figure printed last is events/s.

Usage: python bench/live_board.py [--minutes 30] [--snapshots 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wallboard_scenario import BOTS, QUEUES, scenario_toml

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from console.services.supervision.live_board import LiveBoard
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine


def record(minutes: float) -> tuple[list[Message], list[Message], float]:
    """QueueStatus at the start, every event of ``minutes`` of traffic, the end time."""
    engine = Engine(parse_scenario(scenario_toml(), "bench.toml"), seed=1, clock=VirtualClock())
    engine.run_virtual(600)  # warm up: queues busy, bots spread over their states
    status = [Message((("Event", kind), *fields)) for kind, fields in engine.queue_status_items()]
    frames: list[Message] = []

    def listen(name: str, fields: list[tuple[str, str]]) -> None:
        stamp = f"{engine.pbx.epoch_now():.6f}"
        frames.append(Message((("Event", name), ("Timestamp", stamp), *fields)))

    engine.add_listener(listen)
    engine.run_virtual(minutes * 60)
    return status, frames, engine.pbx.epoch_now()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--snapshots", type=int, default=200)
    args = parser.parse_args()
    status, frames, end = record(args.minutes)
    rates = []
    for _ in range(3):
        board = LiveBoard(tz=UTC, clock=lambda: end)
        board.reconcile(status, at=end - args.minutes * 60)
        started = time.perf_counter()
        for frame in frames:
            board.feed(frame)
        rates.append(len(frames) / (time.perf_counter() - started))
    snap = board.snapshot(end)
    timings = []
    for i in range(args.snapshots):
        t0 = time.perf_counter()
        board.snapshot(end + i * 0.25)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    p50 = statistics.median(timings) * 1e3
    p99 = timings[int(0.99 * (len(timings) - 1))] * 1e3
    offered = sum(q.figures.offered for q in snap.queues)
    print(
        f"{len(frames):,} events ({args.minutes:g} min of {QUEUES} queues, {BOTS} bots; "
        f"{offered:,} calls offered); board: {len(snap.queues)} queues, {len(snap.agents)} agents"
    )
    print(f"snapshot p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"feed: {max(rates):,.0f} events/s (best of 3 on one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
