"""The replay screen: snapshots of a fixed recorded call at three moments, the keys, masked data
never on screen, and following a live session written by a real SessionRecorder.

Review snapshot changes with `pytest tests/ui/test_replay_screen.py --snapshot-update` and look
at the SVGs."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from console.db import Database
from console.screens.replay import ReplayScreen
from console.services.training.masking import Masker
from console.services.training.recording import SessionRecorder
from console.services.training.replay import Replay
from console.services.training.replay_sources import LiveTail
from console.services.training.session_log import RecordedEvent
from console.widgets.action_log import ActionLog
from console.widgets.profile_card import ProfileCard
from console.widgets.transcript import TranscriptLog
from tests.ui.conftest import until
from tests.ui.terminal import screen_text
from tests.unit.test_replay import EMAIL, NAME, NUMBER, recorded_call

SIZE = (120, 36)


class FakeMonotonic:
    """The playback clock's time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ReplayApp(App[None]):
    """Just the replay screen, pushed over an empty default screen."""

    def __init__(self, screen: ReplayScreen) -> None:
        super().__init__()
        self.replay_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.replay_screen)


def replay_app(
    *, masked: bool = False, clock: FakeMonotonic | None = None, **options: Any
) -> tuple[ReplayApp, ReplayScreen, FakeMonotonic]:
    mono = clock or FakeMonotonic()
    replay = Replay(recorded_call(), masker=Masker() if masked else None)
    screen = ReplayScreen(replay, title="call L1 · Demo Agent", monotonic=mono, **options)
    return ReplayApp(screen), screen, mono


def at_second(screen: ReplayScreen, seconds: float) -> Any:
    """A `run_before` that seeks to `seconds` (paused) and draws it."""

    async def seek(pilot: Pilot[None]) -> None:
        assert screen.player is not None
        screen.player.seek(seconds, screen.player._since)
        screen.redraw()
        await pilot.pause()

    return seek


def test_snapshot_ringing_with_the_pop(snap_compare: Any) -> None:
    app, screen, _ = replay_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=at_second(screen, 12))


def test_snapshot_talking_after_a_hold_masked(snap_compare: Any) -> None:
    app, screen, _ = replay_app(masked=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=at_second(screen, 47))


def test_snapshot_after_the_wrap_up(snap_compare: Any) -> None:
    app, screen, _ = replay_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=at_second(screen, 76))


# ---------------------------------------------------------------- keys


def status(screen: ReplayScreen) -> str:
    from textual.widgets import Static

    return str(screen.query_one("#status", Static).render())


async def test_the_keys_play_pause_change_speed_step_and_seek() -> None:
    app, screen, mono = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        player = screen.player
        assert player is not None and not player.playing
        screen.redraw()
        assert status(screen).startswith("❚❚ 1x  00:00:00 / 00:01:16  (record 1/26)")

        await pilot.press("space")
        assert player.playing
        mono.now += 5
        screen.redraw()
        assert screen.position == 5 and screen.frame is not None
        assert screen.frame.agent_state == "Available"
        await pilot.press("plus", "right_square_bracket")
        assert player.speed == 4
        mono.now += 1  # 4 s of replay
        screen.redraw()
        assert screen.position == 9
        await pilot.press("minus")
        assert player.speed == 2
        await pilot.press("left_square_bracket")
        assert player.speed == 1

        await pilot.press("full_stop")  # step: the offer at 10 s, paused
        assert not player.playing and player.position(mono.now) == 10
        screen.redraw()
        assert screen.frame is not None and screen.frame.phase == "ringing"
        await pilot.press("full_stop")
        screen.redraw()
        assert screen.query_one(ProfileCard).pop is not None

        await pilot.press("right")
        assert player.position(mono.now) == 20.05
        await pilot.press("shift+right")
        assert player.position(mono.now) == 76  # clamped at the end
        await pilot.press("shift+left", "left")
        assert player.position(mono.now) == 6
        await pilot.press("5")
        assert player.position(mono.now) == 38
        await pilot.press("0")
        assert player.position(mono.now) == 0
        await pilot.press("end")
        assert player.position(mono.now) == 76
        await pilot.press("home")
        assert player.position(mono.now) == 0
        await pilot.press("9")
        screen.redraw()
        assert status(screen).startswith("❚❚ 1x  00:01:08 / 00:01:16  (record 23/26)")

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReplayScreen)


async def test_playing_repaints_from_the_timer_at_most_ten_times_a_second() -> None:
    app, screen, _ = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        assert screen.player is not None
        screen._monotonic = time.monotonic  # real time for this one
        screen.player.set_speed(16, time.monotonic())
        screen.player.play(time.monotonic())
        ticks0, repaints0 = screen.ticks, screen.repaints
        await pilot.pause(1.0)
        ticks = screen.ticks - ticks0
        repaints = screen.repaints - repaints0
        assert 3 <= ticks <= 12 and repaints <= ticks
        assert screen.position > 6  # 16x for about a second


async def test_a_seek_back_rebuilds_the_transcript() -> None:
    app, screen, mono = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        assert screen.player is not None
        log = screen.query_one(TranscriptLog)

        def spoken() -> list[str]:
            return [strip.text for strip in log.lines if strip.text.startswith("caller: ")]

        screen.player.seek(17, mono.now)
        screen.redraw()
        await pilot.pause()
        assert len(spoken()) == 1
        screen.player.seek(55, mono.now)  # played on: the new lines appended
        screen.redraw()
        await pilot.pause()
        assert len(spoken()) == 3 and spoken()[2] == "caller: Thanks, [bold]bye[/]"
        screen.player.seek(17, mono.now)  # back: rebuilt
        screen.redraw()
        await pilot.pause()
        assert spoken() == ["caller: Hi, this is Jane Smith, my number is 415-555-0123"]
        assert screen.frame is not None
        assert screen.query_one(ActionLog).lines == screen.frame.actions


# ---------------------------------------------------------------- masking on screen


def svg_text(app: App[Any]) -> str:
    svg = app.export_screenshot(simplify=True)
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


RAW = (NUMBER, "415-555-0123", "415 555 0123", "4155550123", EMAIL, NAME, "Jane", "Smith")


async def test_masked_replay_never_shows_the_raw_number_email_or_name() -> None:
    app, screen, mono = replay_app(masked=True)
    async with app.run_test(size=SIZE) as pilot:
        assert screen.player is not None
        seen = []
        for t in (0, 10, 10.05, 12, 16, 20, 31, 47, 55, 61, 66, 70, 74, 76):
            screen.player.seek(t, mono.now)
            screen.redraw()
            await pilot.pause()
            for text in (screen_text(app), svg_text(app)):
                seen += [(t, raw) for raw in RAW if raw.casefold() in text.casefold()]
        assert seen == []
        text = screen_text(app)
        assert "J. S." in text and "customer data masked" in text
        screen.player.seek(21, mono.now)
        screen.redraw()
        await pilot.pause()
        assert "+1 ••• ••• 0123" in screen_text(app)


async def test_unmasked_replay_shows_what_the_agent_saw() -> None:
    app, screen, mono = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        assert screen.player is not None
        screen.player.seek(21, mono.now)
        screen.redraw()
        await pilot.pause()
        text = screen_text(app)
        assert NAME in text and EMAIL in text


# ---------------------------------------------------------------- following a live session


async def test_follow_mode_picks_up_what_a_recorder_writes(db: Database) -> None:
    recorder = SessionRecorder(
        db, agent_id=1, host="desk", flush_interval=0.05, details={"interface": "PJSIP/1001"}
    )
    recorder.start()
    records = recorded_call()
    events = iter(records)

    def record_until(kind: str) -> None:
        for r in events:
            if isinstance(r, RecordedEvent):
                recorder.record_event(r.event())  # type: ignore[arg-type]
            else:
                recorder.record_action(r.kind, call_id=r.call_id, **r.details)
            if r.kind == kind:
                return

    record_until("ready")
    await recorder.flush()
    tail = LiveTail(db, recorder.session_id, masker=Masker())
    screen = ReplayScreen(tail, title="trainee", follow=True, poll_seconds=0.1)
    app = ReplayApp(screen)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: screen.frame is not None and screen.frame.agent_ready)
            assert screen.player is not None and screen.player.live
            assert "● LIVE" in status(screen)

            record_until("pop_shown")  # a call rings on the trainee's console
            await until(lambda: screen.frame is not None and screen.frame.pop is not None)
            assert screen.frame is not None and screen.frame.phase == "ringing"
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None)
            assert card.pop is not None and card.pop.profile is not None
            assert card.pop.profile.display_name == "J. S."  # masked before the widget
            text = screen_text(app)
            assert NAME not in text and NUMBER not in text

            await pilot.press("space")  # pause: leaves the live edge, what arrived stays
            assert not screen.player.live
            record_until("CallAnswered")
            await until(
                lambda: (
                    screen.replay is not None and screen.replay.records[-1].kind == "CallAnswered"
                )
            )
            screen.redraw()
            assert screen.frame is not None and screen.frame.phase == "ringing"  # still paused
            assert "behind live" in status(screen)
            await pilot.press("end")  # back to live
            await until(lambda: screen.frame is not None and screen.frame.phase == "talking")
            assert "● LIVE" in status(screen)
    finally:
        await recorder.stop()
