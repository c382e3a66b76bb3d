"""`while_shown` (console/screens/lifecycle.py): a screen worker whose widgets were taken away
while it awaited stops quietly; a worker that queries a widget that never existed still fails."""

from __future__ import annotations

import asyncio

import pytest
from textual import work
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import WorkerFailed

from console.screens.lifecycle import while_shown


class Loading(Screen[None]):
    def __init__(self, missing: str) -> None:
        super().__init__()
        self.go = asyncio.Event()
        self.missing = missing
        self.drawn = False

    def compose(self) -> ComposeResult:
        yield Static("…", id="body")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    @while_shown
    async def load(self) -> None:
        await self.go.wait()  # the database, in a real screen
        self.query_one(self.missing, Static).update("loaded")
        self.drawn = True


class Host(App[None]):
    def __init__(self, screen: Loading) -> None:
        super().__init__()
        self.loading = screen

    def on_mount(self) -> None:
        self.push_screen(self.loading)


async def test_a_load_whose_widgets_were_taken_away_stops_quietly() -> None:
    screen = Loading("#body")
    app = Host(screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        await screen.query("*").remove()  # what closing the console does before the worker ends
        screen.go.set()
        await pilot.pause()
        assert not screen.drawn
    assert app.return_code in (0, None)


async def test_a_query_for_a_widget_that_never_existed_still_fails() -> None:
    screen = Loading("#nowhere")
    app = Host(screen)
    with pytest.raises(WorkerFailed):
        async with app.run_test() as pilot:
            await pilot.pause()
            screen.go.set()
            await pilot.pause()
