"""How late the real-time clock fires an event scheduled from outside while it sleeps.

The runner sleeps towards its next event (capped at 0.5 s); scheduling an earlier one wakes it.
Each round: an event at simulated t + 20 s (0.2 s of wall time at speed 100), then, 10 ms later,
one at t + 6 s (0.06 s) from outside. The figure is how long after its due wall time the
earlier event fired: without the wake-up it would be about 0.14 s (the rest of the sleep).
Moved here from tests/unit/test_sim_runtime.py, which keeps only "never early".

Usage: python bench/clock_wakeup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from telephony_sim.clock import RealTimeClock

SPEED = 100.0


async def one_round() -> float:
    """Seconds between the outside event's due wall time and its firing."""
    clock = RealTimeClock(speed=SPEED)
    stop = asyncio.Event()
    fired = asyncio.Event()
    fired_at: list[float] = []
    clock.call_at(20.0, lambda: None)
    task = asyncio.create_task(clock.run(stop))
    await asyncio.sleep(0.01)
    due = time.monotonic() + 6.0 / SPEED
    clock.call_later(6.0, lambda: (fired_at.append(time.monotonic()), fired.set()))
    await fired.wait()
    stop.set()
    await task
    return fired_at[0] - due


def main() -> None:
    """Run the rounds and print the lateness figures, the median last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    late = [asyncio.run(one_round()) for _ in range(args.rounds)]
    print(f"{args.rounds} rounds; worst {1000 * max(late):.1f} ms late")
    print(f"wake-up lateness, median: {1000 * statistics.median(late):.1f} ms (no wake-up: ~140)")


if __name__ == "__main__":
    main()
