"""The wallboard: every queue live — callers waiting, longest wait, today's service level, ASA,
AHT, abandons, agents by state — coloured against each queue's targets, with an hour of
sparklines. ``l`` switches to the large-screen mode for a wall TV (big digits, three figures).

The screen redraws on a timer from `LiveBoard.snapshot`, never per AMI event; the board is fed
by the CTI link and reconciled by `LiveFeed` (console/services/live_feed.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.cti.protocol import LinkState
from console.services.alerts import queue_rag
from console.services.live_types import BoardSnapshot
from console.widgets.queue_tile import BigQueueTile, QueueTile

if TYPE_CHECKING:
    from console.factory import LiveRuntime

#: Redraws per second are 1 / this.
REFRESH_SECONDS = 0.5
TILE_WIDTH = {False: 44, True: 46}  # cells per tile column, normal and large


class WallboardScreen(Screen[None]):
    """Queues live; see the module docstring. ``standalone``: the only screen (a wall TV)."""

    CSS_PATH = "wallboard.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "toggle_large", "Large/normal"),
        Binding("a", "alerts", "Alerts"),
        Binding("s", "staffing", "Staffing"),
        Binding("r", "report", "Report"),
    ]

    def __init__(
        self,
        live: LiveRuntime,
        *,
        large: bool = False,
        standalone: bool = False,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.live = live
        self.large = large
        self.standalone = standalone
        self.refresh_seconds = refresh_seconds
        self.tiles: dict[str, QueueTile | BigQueueTile] = {}
        self._names: list[str] | None = None  # the queues the tiles were built for
        self.snapshot: BoardSnapshot | None = None
        self.redraws = 0  # tests wait on it

    def compose(self) -> ComposeResult:
        yield Static(id="wb-title", markup=False)
        yield Container(id="wb-tiles")
        yield Static(id="wb-definitions", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.large, "-large")
        self.query_one("#wb-definitions", Static).update(
            Content(self.live.definitions.describe_sl())
            + Content.styled(
                "  · ASA = wait of answered / answered · AHT = (talk + hold + wrap-up) / handled"
                " · today since local midnight",
                "$text-muted",
            )
        )
        self.redraw()
        self.set_interval(self.refresh_seconds, self.redraw)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return not self.standalone
        if action == "report":
            return self.live.reports is not None  # the wall TV has no database
        return True

    # ---------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Draw a fresh snapshot of the board."""
        now = self.live.clock()
        snapshot = self.snapshot = self.live.board.snapshot(now)
        names = [q.queue for q in snapshot.queues]
        if names != self._names:
            self._rebuild(names)
        targets = self.live.targets
        for q in snapshot.queues:
            self.tiles[q.queue].show(q, queue_rag(q, targets.for_queue(q.queue)))
        self._title(snapshot, now)
        self.redraws += 1

    def _rebuild(self, names: list[str]) -> None:
        box = self.query_one("#wb-tiles", Container)
        box.remove_children()
        self._names = names
        kind = BigQueueTile if self.large else QueueTile
        self.tiles = {name: kind(name) for name in names}
        if self.tiles:
            box.mount_all(self.tiles.values())
        else:
            box.mount(Static("No queues yet: waiting for the PBX.", classes="wb-empty"))
        self._columns()

    def _title(self, snapshot: BoardSnapshot, now: float) -> None:
        link = self.live.cti.link_state
        state = {
            LinkState.CONNECTED: ("PBX connected", "$text-success"),
            LinkState.RECONNECTING: (f"PBX reconnecting: {link.detail}", "bold $text-error"),
            LinkState.DOWN: (f"PBX down: {link.detail}", "bold $text-error"),
        }[link.state]
        waiting = sum(q.waiting for q in snapshot.queues)
        clock = datetime.fromtimestamp(now, self.live.board.tz).strftime("%H:%M:%S")
        self.query_one("#wb-title", Static).update(
            Content.assemble(
                ("Wallboard", "bold"),
                f"  {clock}  · {len(snapshot.queues)} queues · {waiting} waiting · ",
                state,
            )
        )

    def _columns(self) -> None:
        box = self.query_one("#wb-tiles", Container)
        columns = max(1, self.size.width // TILE_WIDTH[self.large])
        box.styles.grid_size_columns = min(columns, max(1, len(self.tiles)))

    def on_resize(self, event: Resize) -> None:
        self._columns()

    # ---------------------------------------------------------------- keys

    def action_toggle_large(self) -> None:
        self.large = not self.large
        self.set_class(self.large, "-large")
        self._names = None
        self.redraw()

    def action_alerts(self) -> None:
        from console.screens.alerts import AlertsScreen

        self.app.push_screen(AlertsScreen(self.live.alerts, clock=self.live.clock))

    def action_staffing(self) -> None:
        from console.screens.staffing import StaffingScreen

        board = self.live.board
        self.app.push_screen(
            StaffingScreen(
                board.snapshot,
                self.live.targets,
                recent_calls=board.visits,
                observed_since=board.day_start,
                definitions=self.live.definitions,
            )
        )

    def action_report(self) -> None:
        from console.screens.report import ReportScreen

        if self.live.reports is not None:
            self.app.push_screen(ReportScreen(self.live.reports, self.live.definitions))

    def action_back(self) -> None:
        if not self.standalone:
            self.dismiss(None)
