"""The helpers that read the terminal through Textual's public API see what the user sees."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tests.ui.terminal import Notifications, drawn_segments, lines_of, screen_lines, screen_text


class Two(App[None]):
    CSS = "#left { width: 7; } #right { width: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("left", id="left")
            yield Static("☎ Zoë e\u0301 <&>\nsecond", id="right")


async def test_text_rows_and_a_widgets_own_lines() -> None:
    app = Two()
    async with app.run_test(size=(30, 3)) as pilot:
        await pilot.pause()
        right = app.query_one("#right", Static)
        assert lines_of(app, right) == ["☎ Zoë e\u0301 <&>", "second"]
        assert screen_lines(app)[1] == "       second" + " " * 17
        assert screen_lines(app)[0].startswith("left   ☎ Zoë")
        assert "second" in screen_text(app)


def actions(app: App[None]) -> list[str]:
    return [
        s.style.meta["@click"]
        for s in drawn_segments(app)
        if s.style and s.style.meta.get("@click")
    ]


async def test_styles_are_read_and_actions_are_seen() -> None:
    app = Two()
    async with app.run_test(size=(30, 3)) as pilot:
        await pilot.pause()
        assert actions(app) == []
        app.query_one("#left", Static).update("[@click=app.bell]ring[/]")
        await pilot.pause()
        assert actions(app) == ["app.bell"]


async def test_notifications_are_recorded_and_still_shown() -> None:
    app = Two()
    notified = Notifications(app)
    async with app.run_test(size=(60, 10), notifications=True) as pilot:
        app.query_one("#left", Static).notify("Saved", title="Ticket")
        await pilot.pause()
        assert notified.any("Saved") and not notified.any("Lost")
        assert [(n.title, n.message) for n in notified.shown] == [("Ticket", "Saved")]
        await pilot.pause(0.1)
        assert "Saved" in screen_text(app)  # Textual still shows the toast
