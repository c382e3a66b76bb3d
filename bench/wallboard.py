"""How many AMI events a second the supervisor's wallboard keeps up with, and its refresh time.

The simulator runs in its own process exactly as a user starts it
(``python -m telephony_sim serve --scenario … --speed S``) with 500 bots on 20 queues
(bench/wallboard_scenario.py); its clock runs S times faster than the wall clock, so the event
rate grows with S. The supervisor console (the wall-TV wallboard: AMI client → LiveBoard →
WallboardScreen redrawn twice a second) runs headless in this process. For each speed, for
``--seconds`` seconds, it records:

- events/s: AMI events the board was fed per wall second;
- backlog: an AMI Ping sent every 0.5 s is answered after every event queued before it, so its
  round trip is how far behind the console is reading. "Keeps up" = the Ping round trip stays
  under 1 s at p99 and does not grow (its last third is no worse than 2x its first third);
- refresh: WallboardScreen.redraw's duration (snapshot of 20 queues and 500 agents, tiles
  updated) and the event loop's lag (a 10 ms sleep's overshoot), both p99.

The figure printed last is the highest rate kept up with, and its refresh p99.

Usage: python bench/wallboard.py [--speeds 20,40,80,160] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wallboard_scenario import BOTS, QUEUES, write_scenario


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    speed: float
    rate: float
    ping_p99: float
    ping_first: float
    ping_last: float
    redraw_p50: float
    redraw_p99: float
    lag_p99: float
    redraws: int

    @property
    def kept_up(self) -> bool:
        return self.ping_p99 < 1.0 and self.ping_last <= max(2 * self.ping_first, 0.05)


async def _start_sim(scenario: Path, speed: float, port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephony_sim",
        "serve",
        "--scenario",
        str(scenario),
        "--speed",
        f"{speed:g}",
        "--port",
        str(port),
        "--user",
        "bench",
        "--secret=bench",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        w.close()
        return proc
    proc.kill()
    raise SystemExit("the simulator did not start listening")


async def run_step(scenario: Path, speed: float, seconds: float) -> Step:
    """One speed: start the simulator, run the wallboard against it, measure."""
    from console.app import WallboardApp
    from console.factory import PbxAddress, build_live
    from console.screens.wallboard import WallboardScreen

    port = _free_port()
    sim = await _start_sim(scenario, speed, port)
    live = build_live(PbxAddress("127.0.0.1", port, "bench", "bench"))
    redraws: list[float] = []
    original = WallboardScreen.redraw

    def timed(self: WallboardScreen) -> None:
        t0 = time.perf_counter()
        original(self)
        redraws.append(time.perf_counter() - t0)

    WallboardScreen.redraw = timed  # type: ignore[method-assign]
    pings: list[float] = []
    lags: list[float] = []
    try:
        await live.cti.start()
        app = WallboardApp(live, large=False, started=True)
        async with app.run_test(size=(180, 60)):
            await asyncio.sleep(2.0)  # warm up: members added, first calls queued
            redraws.clear()
            seen0, t0 = live.board.events_seen, time.perf_counter()
            next_ping = t0
            while (now := time.perf_counter()) - t0 < seconds:
                if now >= next_ping:
                    next_ping = now + 0.5
                    sent = time.perf_counter()
                    result = await live.cti.send_action("Ping")
                    if result.ok:
                        pings.append(time.perf_counter() - sent)
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)
            rate = (live.board.events_seen - seen0) / (time.perf_counter() - t0)
    finally:
        WallboardScreen.redraw = original  # type: ignore[method-assign]
        await live.cti.close()
        sim.terminate()
        await sim.wait()
    third = max(1, len(pings) // 3)
    return Step(
        speed=speed,
        rate=rate,
        ping_p99=_p(pings, 0.99),
        ping_first=statistics.median(pings[:third]) if pings else float("nan"),
        ping_last=statistics.median(pings[-third:]) if pings else float("nan"),
        redraw_p50=_p(redraws, 0.50),
        redraw_p99=_p(redraws, 0.99),
        lag_p99=_p(lags, 0.99),
        redraws=len(redraws),
    )


async def main_async(speeds: list[float], seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = write_scenario(Path(tmp) / "wallboard_bench.toml")
        print(f"{QUEUES} queues, {BOTS} bots; {seconds:g} s per speed")
        print(
            f"{'speed':>6} {'events/s':>9} {'ping p99':>9} {'first':>7} {'last':>7}"
            f" {'redraw p50':>11} {'p99':>8} {'loop lag p99':>13}  kept up"
        )
        best: Step | None = None
        for speed in speeds:
            step = await run_step(scenario, speed, seconds)
            print(
                f"{step.speed:>6g} {step.rate:>9,.0f} {step.ping_p99 * 1e3:>7.1f}ms"
                f" {step.ping_first * 1e3:>5.1f}ms {step.ping_last * 1e3:>5.1f}ms"
                f" {step.redraw_p50 * 1e3:>9.1f}ms {step.redraw_p99 * 1e3:>6.1f}ms"
                f" {step.lag_p99 * 1e3:>11.1f}ms"
                f"  {'yes' if step.kept_up else 'NO'}",
                flush=True,
            )
            if step.kept_up and (best is None or step.rate > best.rate):
                best = step
        if best is None:
            print("kept up with none of the rates tried")
        else:
            print(
                f"highest rate kept up with: {best.rate:,.0f} events/s (target 2,000); "
                f"redraw p50 {best.redraw_p50 * 1e3:.1f} ms, p99 {best.redraw_p99 * 1e3:.1f} ms, "
                f"event-loop lag p99 {best.lag_p99 * 1e3:.1f} ms"
            )


def main() -> None:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="20,40,80,160", help="simulator speeds to try")
    parser.add_argument("--seconds", type=float, default=20.0, help="wall seconds per speed")
    args = parser.parse_args()
    try:
        speeds = [float(s) for s in args.speeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--speeds: numbers separated by commas, not {args.speeds!r}")
    if not speeds or min(speeds) <= 0:
        parser.error("--speeds: positive numbers")
    asyncio.run(main_async(speeds, args.seconds))


if __name__ == "__main__":
    main()
