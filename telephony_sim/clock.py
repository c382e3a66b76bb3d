"""Clocks for the simulator: virtual time (as fast as the CPU allows) and real or scaled time.

Both keep one event heap of ``(time, seq, callback, args)`` tuples. ``seq`` is an insertion
counter, so two events due at the same instant always run in the order they were scheduled:
that tie-break is what makes a virtual run with a given seed reproduce byte for byte.

Time is a float of seconds since the start of the run (virtual t = 0). Mapping that to wall-clock
epochs and times of day is the engine's business, not the clock's.

Cancellation is deliberately absent: callers check the state of the object they scheduled for
(a generation counter, a call state) when the callback fires. That keeps every entry a plain
tuple and the hot path free of handle objects.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[..., None]


class VirtualClock:
    """An event heap driven by ``run_until``; time jumps from one event to the next."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callback, tuple[Any, ...]]] = []
        self._seq = 0
        self._now = 0.0

    def now(self) -> float:
        """Current simulated time in seconds since the start of the run."""
        return self._now

    def call_at(self, when: float, fn: Callback, *args: Any) -> None:
        """Run ``fn(*args)`` at simulated time ``when`` (never earlier than now)."""
        if when < self._now:
            when = self._now
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, fn, args))

    def call_later(self, delay: float, fn: Callback, *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` seconds of simulated time from now."""
        self._seq += 1
        heapq.heappush(self._heap, (self._now + max(delay, 0.0), self._seq, fn, args))

    def next_time(self) -> float | None:
        """Time of the earliest pending event, or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    def pending(self) -> int:
        """Number of scheduled events (including ones that will find their target gone)."""
        return len(self._heap)

    def run_until(self, end: float) -> int:
        """Process every event due at or before ``end``, then set the time to ``end``.

        Returns the number of events processed.
        """
        heap = self._heap
        pop = heapq.heappop
        count = 0
        # Local variables on purpose: this loop is the simulator's hot path.
        while heap and heap[0][0] <= end:
            when, _seq, fn, args = pop(heap)
            self._now = when
            fn(*args)
            count += 1
        if end > self._now:
            self._now = end
        return count


class RealTimeClock(VirtualClock):
    """The same heap, paced against the wall clock, optionally sped up (``speed`` > 1).

    Between events (for example while an AMI action from a client is handled) ``now()`` follows
    the wall clock, so actions are stamped with the time they really happened.
    """

    def __init__(self, speed: float = 1.0) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._wall_start: float | None = None
        self._dispatching = False
        self._wakeup: asyncio.Event | None = None

    def _wall_now(self) -> float:
        if self._wall_start is None:
            return self._now
        return (time.monotonic() - self._wall_start) * self.speed

    def now(self) -> float:
        """Simulated time: the event's time while dispatching, else the scaled wall time."""
        if self._dispatching or self._wall_start is None:
            return self._now
        return max(self._now, self._wall_now())

    def call_at(self, when: float, fn: Callback, *args: Any) -> None:
        """Schedule as the virtual clock does, waking the runner if this is the new earliest."""
        now = self.now()
        super().call_at(max(when, now), fn, *args)
        # Wake the runner only when the new entry became the earliest one.
        if self._wakeup is not None and self._heap[0][1] == self._seq:
            self._wakeup.set()

    def call_later(self, delay: float, fn: Callback, *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` simulated seconds from now."""
        self.call_at(self.now() + max(delay, 0.0), fn, *args)

    async def run(self, stop_event: asyncio.Event) -> None:
        """Dispatch events as their (scaled) wall time comes, until ``stop_event`` is set."""
        self._wall_start = time.monotonic() - self._now / self.speed
        self._wakeup = asyncio.Event()
        try:
            while not stop_event.is_set():
                due = self._wall_now()
                self._dispatching = True
                try:
                    self.run_until(due)
                finally:
                    self._dispatching = False
                nxt = self.next_time()
                delay = 0.5 if nxt is None else min(0.5, max(0.0, (nxt - due) / self.speed))
                self._wakeup.clear()
                stop_wait = asyncio.ensure_future(stop_event.wait())
                wake_wait = asyncio.ensure_future(self._wakeup.wait())
                try:
                    await asyncio.wait(
                        {stop_wait, wake_wait}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    stop_wait.cancel()
                    wake_wait.cancel()
        finally:
            self._now = self._wall_now()
            self._wall_start = None
            self._wakeup = None
