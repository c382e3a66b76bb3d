"""A frame cap without a phase, for screens where the first paint after a change is the product.

Textual repaints a screen from a repeating "screen_update" timer that it pauses when nothing is
dirty and resumes on the next change. Its schedule is fixed to the timer's start, and when a tick
comes late (always, after an idle spell) the catch-up rounds one interval too far: the next
repaint then waits between one and two frame periods (17–33 ms at 60 fps) instead of at most
one. On the agent screen that wait landed on the screen pop, the one paint that must be fast:
the call that rings just after the previous one ended (a ring-no-answer, a short call) waited for
it. `FrameCapTimer` keeps the cap — never two repaints closer than one period — and nothing else:
a change after a quiet period paints at once, a change right after a paint waits out the rest of
the period.

Checked against Textual 8.2 (pinned in pyproject.toml); `tests/ui/test_repaint_timer.py` fails
if the screen stops creating its update timer through `set_interval`.
"""

from __future__ import annotations

import math

from textual import _time
from textual.screen import Screen
from textual.timer import EventTargetGone, Timer, TimerCallback

SCREEN_UPDATE = "screen_update"  # the name Textual's Screen gives its repaint timer


class FrameCapTimer(Timer):
    """A repeating timer that ticks when active, at most once per interval, with no phase."""

    async def _run(self) -> None:
        last = -math.inf
        while True:
            await self._active.wait()
            wait = last + self._interval - _time.get_time()
            if wait > 0:
                await _time.sleep(wait)
                await self._active.wait()
            last = _time.get_time()
            try:
                await self._tick(next_timer=last, count=0)
            except EventTargetGone:
                break


class PromptRepaint(Screen[None]):
    """A screen whose repaints use `FrameCapTimer`."""

    def set_interval(
        self,
        interval: float,
        callback: TimerCallback | None = None,
        *,
        name: str | None = None,
        repeat: int = 0,
        pause: bool = False,
    ) -> Timer:
        if name != SCREEN_UPDATE:
            return super().set_interval(interval, callback, name=name, repeat=repeat, pause=pause)
        timer = FrameCapTimer(self, interval, name=name, callback=callback, pause=pause)
        timer._start()
        self._timers.add(timer)
        return timer
