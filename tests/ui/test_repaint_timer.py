"""The agent screen's repaint timer: capped at one paint per period, with no phase to wait for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from textual import _time
from textual.app import App, ComposeResult
from textual.timer import EventTargetGone
from textual.widgets import Static

from console.screens.agent import AgentScreen
from console.screens.frames import FrameCapTimer, PromptRepaint

PERIOD = 1 / 60


@dataclass
class FakeClock:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def get_time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class RecordingTimer(FrameCapTimer):
    """Records its ticks and pauses after each, as Textual's screen does after a repaint."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock, PERIOD, name="screen_update", pause=True)
        self.clock = clock
        self.ticks: list[float] = []
        self.stop_after = 3

    async def _tick(self, *, next_timer: float, count: int) -> None:
        self.ticks.append(self.clock.now)
        self.pause()
        if len(self.ticks) == self.stop_after:
            raise EventTargetGone()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_paints_at_once_after_a_quiet_spell_and_never_twice_within_a_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_time, "get_time", clock.get_time)
    monkeypatch.setattr(_time, "sleep", clock.sleep)
    timer = RecordingTimer(clock)
    task = asyncio.create_task(timer._run())
    await settle()
    assert timer.ticks == []  # paused: nothing dirty, nothing painted

    timer.resume()  # a change after a quiet spell: painted now
    await settle()
    assert timer.ticks == [0.0]

    clock.now = 0.005  # a change 5 ms after that paint: waits out the period, no more
    timer.resume()
    await settle()
    assert timer.ticks == [0.0, pytest.approx(PERIOD)]

    clock.now = 0.100  # long after: at once again (Textual's own timer waited 1-2 periods)
    timer.resume()
    await asyncio.wait_for(task, 1)
    assert timer.ticks == [0.0, pytest.approx(PERIOD), 0.100]


class Plain(PromptRepaint):
    def compose(self) -> ComposeResult:
        yield Static("before", id="text")


class PlainApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Plain())


async def test_the_agent_screen_repaints_through_the_capped_timer() -> None:
    assert issubclass(AgentScreen, PromptRepaint)
    app = PlainApp()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        # Fails if Textual stops creating the screen's repaint timer through set_interval.
        assert isinstance(app.screen._update_timer, FrameCapTimer)
        app.screen.query_one("#text", Static).update("after")
        await pilot.pause()
        assert "after" in "".join(strip.text for strip in app.screen._compositor.render_strips())
