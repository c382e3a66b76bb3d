"""The agent screen's repaint timer: capped at one paint per period, with no phase to wait for.

The cap's arithmetic (`FramePacer`) is checked with plain numbers; `FrameCapTimer` on asyncio's
loop (what is due when, never how long anything took); and a Pilot app checks that Textual still
hands a screen's repaints to it — the assumption console/screens/frames.py rests on.
"""

from __future__ import annotations

import asyncio
import math
from importlib.metadata import version
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.widgets import Static

from console.screens.agent import AgentScreen
from console.screens.frames import FrameCapTimer, FramePacer, PromptRepaint

PERIOD = 1 / 60
TEXTUAL = version("textual")
CHANGED = (
    f"Textual {TEXTUAL} no longer repaints a screen through the timer it makes with "
    "Screen.set_interval(..., name='screen_update') and drives with pause()/resume() "
    "(Screen._update_timer, Screen._on_idle, Screen._on_timer_update in 8.2): "
    "console/screens/frames.py's repaint cap is bypassed. Check whether Timer._run still rounds "
    "its catch-up one interval too far (docs/upstream/textual.md); if it was fixed, drop "
    "PromptRepaint, else re-hook the screen's repaint timer."
)


def test_paints_at_once_after_a_quiet_spell_and_never_twice_within_a_period() -> None:
    pacer = FramePacer(PERIOD)
    assert pacer.paint_at(0.0) == 0.0  # nothing painted yet: at once
    pacer.painted(0.0)
    assert pacer.paint_at(0.005) == pytest.approx(PERIOD)  # 5 ms after a paint: the rest of it
    pacer.painted(PERIOD)
    assert pacer.paint_at(0.100) == 0.100  # long after: at once (Textual's timer waited 1-2)


@given(st.lists(st.floats(0, 0.2), min_size=1, max_size=30))
def test_any_changes_are_painted_within_a_period_and_paints_a_period_apart(
    gaps: list[float],
) -> None:
    pacer = FramePacer(PERIOD)
    now, paints = 0.0, []
    for gap in gaps:  # each change comes `gap` after the previous paint
        now += gap
        at = pacer.paint_at(now)
        assert at - now <= PERIOD + 1e-12
        pacer.painted(at)
        paints.append(at)
        now = at
    assert all(b - a >= PERIOD - 1e-12 for a, b in pairwise(paints))


async def test_the_timer_paints_when_resumed_and_waits_out_the_period_after_a_paint() -> None:
    loop = asyncio.get_running_loop()
    painted: list[float] = []
    paint = asyncio.Event()

    def record() -> None:
        painted.append(loop.time())
        paint.set()

    async def one_paint() -> float:
        await asyncio.wait_for(paint.wait(), 5)
        paint.clear()
        return painted.pop()

    app: App[None] = App()
    async with app.run_test(size=(20, 3)):  # any running, attached screen will do as the target
        timer = FrameCapTimer(app.screen, PERIOD, record)
        assert timer.next_paint_at is None  # made paused, as Screen makes it
        timer.resume()
        first = await one_paint()

        timer.resume()  # a change right after that paint: due one period after it
        assert timer.next_paint_at == pytest.approx(first + PERIOD)
        timer.resume()  # a second change before then changes nothing
        assert timer.next_paint_at == pytest.approx(first + PERIOD)
        timer.pause()  # Screen pauses it when a layout refresh painted meanwhile
        assert timer.next_paint_at is None
        await asyncio.sleep(3 * PERIOD)
        assert painted == []  # paused: nothing painted

        timer.resume()  # three periods after the last paint: due now
        due = timer.next_paint_at
        assert due is not None and due <= loop.time()
        await one_paint()
        assert timer.paints == 2
        assert math.isfinite(timer.pacer.last_paint)

        await asyncio.sleep(3 * PERIOD)
        timer.resume()  # due at once, but the app exits first: as Textual's timer, no paint
        app.exit()
        for _ in range(5):
            await asyncio.sleep(0)
        assert painted == [] and timer.paints == 2


class Plain(PromptRepaint):
    def compose(self) -> ComposeResult:
        yield Static("before", id="text")


class PlainApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Plain())


async def test_textual_still_repaints_a_screen_through_the_capped_timer() -> None:
    assert issubclass(AgentScreen, PromptRepaint)
    assert TEXTUAL.startswith("8.2."), (
        f"console/screens/frames.py was checked against Textual 8.2, this is {TEXTUAL}: " + CHANGED
    )
    app = PlainApp()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, Plain)
        assert isinstance(screen.frame_cap, FrameCapTimer), CHANGED
        before = screen.frame_cap.paints
        screen.query_one("#text", Static).update("after")
        await pilot.pause()
        assert screen.frame_cap.paints > before, CHANGED
        assert "after" in app.export_screenshot()
