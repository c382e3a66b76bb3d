"""A frame cap without a phase, for screens where the first paint after a change is the product.

Textual repaints a screen from a repeating "screen_update" timer that it pauses when nothing is
dirty and resumes on the next change. Textual 8.2's `Timer` keeps a schedule fixed to the timer's
start, and when a tick comes late (always, after an idle spell) its catch-up rounds one interval
too far: the next repaint then waits between one and two frame periods (17–33 ms at 60 fps)
instead of at most one (reported in docs/upstream/textual.md). On the agent screen that wait
landed on the screen pop, the one paint that must be fast: the call that rings just after the
previous one ended (a ring-no-answer, a short call) waited for it.

`PromptRepaint` hands its screen a `FrameCapTimer` in place of that timer. It keeps the cap —
never two repaints closer than one period (less the 1 ms of `SELECTOR_SLACK`) — and nothing
else: a change after a quiet period paints at once, a change right after a paint waits out the
rest of the period. It uses only public API: `Screen.set_interval` is overridden, and the
stand-in is a `Timer` whose public `pause`/`resume`/`stop`/`reset` schedule the paint on
asyncio's loop; none of Timer's private machinery runs. What it still relies on, which Textual
does not promise, is that a screen makes its repaint timer with
`set_interval(..., name="screen_update")` and drives it only through `pause()`/`resume()`
(`Screen._update_timer`, `Screen._on_idle`, `Screen._on_timer_update` in 8.2).
`tests/ui/test_repaint_timer.py` fails, naming the Textual version, the day that stops.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import weakref
from collections.abc import Awaitable

from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.timer import Timer, TimerCallback

SCREEN_UPDATE = "screen_update"  # the name Textual's Screen gives its repaint timer
# epoll waits in whole milliseconds, rounded up, so a timed paint would come up to 1 ms late;
# waking up to that much early instead keeps paints at least a period minus 1 ms apart (Textual's
# own `_time.sleep` takes 0.5 ms off every sleep for the same reason).
SELECTOR_SLACK = 0.001


class FramePacer:
    """When the next paint may happen: at once after a quiet period, else one period after the
    last paint. Pure: times are the caller's clock, in seconds."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.last_paint = -math.inf

    def paint_at(self, now: float) -> float:
        """The earliest time a change made at `now` may be painted."""
        return max(now, self.last_paint + self.period)

    def painted(self, at: float) -> None:
        """Record a paint made at `at`."""
        self.last_paint = at


class FrameCapTimer(Timer):
    """Stands in for a screen's repaint timer: `resume()` (something is dirty) schedules one call
    of the callback as `FramePacer` allows; `pause()` (nothing is) cancels it.

    The base class is only constructed, never started: no task, no private state is used.
    """

    def __init__(self, target: MessagePump, interval: float, callback: TimerCallback) -> None:
        super().__init__(target, interval, name=SCREEN_UPDATE, callback=callback, pause=True)
        self.pacer = FramePacer(interval)
        self.paints = 0  # how many times the callback ran (tests observe the wiring with it)
        self._frame_callback = callback
        self._frame_target = weakref.ref(target)
        # Made from the screen's own message loop (Screen._update_timer is first read there), so
        # the callback runs with the app and screen as active context, as Timer's task would.
        self._frame_context = contextvars.copy_context()
        self._frame_handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._frame_due: float | None = None

    @property
    def next_paint_at(self) -> float | None:
        """The loop time the pending paint is due, or None when none is pending."""
        return self._frame_due

    def resume(self) -> None:
        """Something changed: paint as soon as the cap allows (a pending paint stands)."""
        if self._frame_handle is not None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self.pacer.paint_at(now)
        self._frame_due = due
        if due <= now:
            self._frame_handle = loop.call_soon(self._paint, context=self._frame_context)
        else:  # asyncio's selector rounds its wait up to whole milliseconds: ask a little early
            wake = due - SELECTOR_SLACK
            self._frame_handle = loop.call_at(wake, self._paint, context=self._frame_context)

    def pause(self) -> None:
        """Nothing to paint (or it was just painted): drop the pending paint."""
        if self._frame_handle is not None:
            self._frame_handle.cancel()
        self._frame_handle = None
        self._frame_due = None

    def stop(self) -> None:
        """Stop for good (the same as a pause: nothing runs between paints)."""
        self.pause()

    def reset(self) -> None:
        """Forget the last paint and paint at once."""
        self.pause()
        self.pacer.painted(-math.inf)
        self.resume()

    def _paint(self) -> None:
        self._frame_handle = None
        self._frame_due = None
        target = self._frame_target()
        # No paint for a screen that closed, or left the app, or whose app is exiting (Textual's
        # own timer skips its tick once the app exits).
        if target is None or not target.is_running or not target.is_attached:
            return
        self.pacer.painted(asyncio.get_running_loop().time())
        self.paints += 1
        try:
            result = self._frame_callback()
            if inspect.isawaitable(result):  # an async callback finishes in the screen's loop
                target.call_later(_finish, result)
        except Exception as error:  # let the screen's message loop raise it, as Textual would
            target.call_later(_reraise, error)


def _reraise(error: Exception) -> None:
    raise error


async def _finish(awaitable: Awaitable[object]) -> None:
    await awaitable


class PromptRepaint(Screen[None]):
    """A screen whose repaints use `FrameCapTimer`."""

    frame_cap: FrameCapTimer | None = None  # set when the screen first needs a repaint

    def set_interval(
        self,
        interval: float,
        callback: TimerCallback | None = None,
        *,
        name: str | None = None,
        repeat: int = 0,
        pause: bool = False,
    ) -> Timer:
        """Textual's `set_interval`, except for the screen's own repaint timer."""
        if name != SCREEN_UPDATE or callback is None or repeat:
            return super().set_interval(interval, callback, name=name, repeat=repeat, pause=pause)
        self.frame_cap = FrameCapTimer(self, interval, callback)
        if not pause:
            self.frame_cap.resume()
        return self.frame_cap


__all__ = ["SCREEN_UPDATE", "FrameCapTimer", "FramePacer", "PromptRepaint"]
