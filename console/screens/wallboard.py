"""The wallboard: every queue live — callers waiting, longest wait, today's service level, ASA,
AHT, abandons, agents by state — coloured against each queue's targets, with an hour of
sparklines. ``l`` switches to the large-screen mode for a wall TV (big digits, three figures).

More queues than fit are paged, not scrolled: PgDn/PgUp turn a page, the arrows move a row of
tiles, Home/End go to the first and last queues, and a line under the tiles says which are
shown ("queues 3-4 of 14") and how many red queues are on other pages. A page holds only whole
tiles, so a queue's coloured border is never cut off with its figures, the position is exact,
and only the tiles shown are redrawn.

The screen redraws on a timer from `LiveBoard.snapshot`, never per AMI event; the board is fed
by the CTI link and reconciled by `LiveFeed` (console/services/supervision/live_feed.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.cti.protocol import LinkState
from console.services.supervision.alerts import Rag, queue_rag
from console.services.supervision.live_types import AgentActivity, BoardSnapshot
from console.widgets.queue_tile import BigQueueTile, QueueTile, worst

if TYPE_CHECKING:
    from console.services.supervision.live import LiveViews

#: Redraws per second are 1 / this.
REFRESH_SECONDS = 0.5
TILE_WIDTH = {False: 44, True: 46}  # cells per tile column, normal and large
# Rows a tile takes, normal and large: their CSS (queue_tile.py) gives borders + 6 lines and
# borders + 5 (name, label, three rows of digits). A test checks each page's tiles are whole.
TILE_HEIGHT = {False: 8, True: 7}
CHROME_ROWS = 3  # title, definitions and footer (a row each): what the tiles never get


class WallboardScreen(Screen[None]):
    """Queues live; see the module docstring. ``standalone``: the only screen (a wall TV)."""

    CSS_PATH = "wallboard.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        # Paging first: on a narrow footer it is what is kept (shown only when queues are hidden).
        Binding("pagedown", "page(1)", "Next page"),
        Binding("pageup", "page(-1)", "Prev page"),
        Binding("l", "toggle_large", "Large/normal"),
        Binding("a", "alerts", "Alerts"),
        Binding("s", "staffing", "Staffing"),
        Binding("r", "report", "Report"),
        Binding("c", "campaigns", "Campaigns"),
        Binding("g", "agents", "Agents"),  # a supervisor's console: the agent grid
        Binding("down", "row(1)", "Next row", show=False),
        Binding("up", "row(-1)", "Previous row", show=False),
        Binding("home", "first", "First queues", show=False),
        Binding("end", "last", "Last queues", show=False),
    ]

    def __init__(
        self,
        live: LiveViews,
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
        self.first = 0  # index (in name order) of the first queue shown
        self.columns = 1  # tiles per row
        self.page_size = 1  # tiles shown at once: whole rows that fit the height
        self.snapshot: BoardSnapshot | None = None
        self.redraws = 0  # tests wait on it

    def compose(self) -> ComposeResult:
        yield Static(id="wb-title", markup=False)
        yield Container(id="wb-tiles")
        yield Static(id="wb-pager", markup=False)  # shown when some queues are on other pages
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
        if action == "campaigns":
            return self.live.campaigns is not None
        if action == "agents":
            return self._grid_opener() is not None
        if action in ("page", "row", "first", "last"):
            return len(self.tiles) > self.page_size  # no paging keys when every queue shows
        return True

    def _agents_on(self, queue: str) -> int | None:
        """Agents of ``queue`` at work now (logged in, not paused), as the PBX says; None
        when the board does not know the queue (no PBX link yet)."""
        snapshot = self.live.board.snapshot()
        if not any(q.queue == queue for q in snapshot.queues):
            return None
        idle = (AgentActivity.NOT_READY, AgentActivity.LOGGED_OUT)
        return sum(1 for a in snapshot.agents if queue in a.queues and a.activity not in idle)

    def _grid_opener(self) -> Any:
        """The supervisor's own agent screen (it opens the grid with its services); None on
        the wall TV, which has no database and no one to listen with."""
        screen = getattr(self.app, "agent_screen", None)
        return screen if screen is not None and screen.is_supervisor else None

    def action_agents(self) -> None:
        """The agent grid, where listening, coaching and agent states are (``g``)."""
        opener = self._grid_opener()
        if opener is not None:
            opener.action_agent_grid()

    # ---------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Draw a fresh snapshot of the board."""
        now = self.live.clock()
        snapshot = self.snapshot = self.live.board.snapshot(now)
        names = [q.queue for q in snapshot.queues]
        if names != self._names:
            self._rebuild(names)
        targets = self.live.targets
        shown = range(self.first, self.first + self.page_size)
        red_elsewhere = 0
        for index, q in enumerate(snapshot.queues):
            rag = queue_rag(q, targets.for_queue(q.queue))
            if index in shown:
                self.tiles[q.queue].show(q, rag)
            elif worst(rag) is Rag.RED:
                red_elsewhere += 1
        self._title(snapshot, now)
        self._pager(len(snapshot.queues), red_elsewhere)
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
        self._layout(redraw=False)  # the redraw under way draws the page

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

    def _pager(self, total: int, red_elsewhere: int) -> None:
        pager = self.query_one("#wb-pager", Static)
        pager.display = total > self.page_size
        if not pager.display:
            return
        last = min(total, self.first + self.page_size)
        parts = [
            Content.styled(f"queues {self.first + 1}-{last} of {total}", "bold"),
            Content.styled("PgDn/PgUp for the others", "$text-muted"),
        ]
        if red_elsewhere:
            parts.append(Content.styled(f"{red_elsewhere} red on other pages", "bold $text-error"))
        pager.update(Content(" · ").join(parts), layout=False)

    def _layout(self, *, redraw: bool = True) -> None:
        """Tile columns for the width, whole rows of tiles for the height: the page."""
        box = self.query_one("#wb-tiles", Container)
        columns = max(1, self.size.width // TILE_WIDTH[self.large])
        self.columns = min(columns, max(1, len(self.tiles)))
        box.styles.grid_size_columns = self.columns
        height = self.size.height - CHROME_ROWS  # for the tiles, and the pager if it shows
        tile = TILE_HEIGHT[self.large]
        if len(self.tiles) > self.columns * (height // tile):
            height -= 1  # some queues will be on other pages: the pager line says so
        self.page_size = self.columns * max(1, height // tile)
        self._turn_to(self.first, redraw=redraw)

    def _last_first(self) -> int:
        """The first queue of the last page: a full page that ends with the last queue."""
        overflow = len(self.tiles) - self.page_size
        return 0 if overflow <= 0 else -(-overflow // self.columns) * self.columns

    def _turn_to(self, first: int, *, redraw: bool = True) -> None:
        """Show the page that starts at queue `first` (clamped), hide the other tiles."""
        self.first = max(0, min(first, self._last_first()))
        for index, tile in enumerate(self.tiles.values()):
            shown = self.first <= index < self.first + self.page_size
            if tile.display != shown:
                tile.display = shown
        self.refresh_bindings()
        if redraw:
            self.redraw()  # now, not at the next tick: hidden tiles were not drawn

    def on_resize(self, event: Resize) -> None:
        self._layout()

    # ---------------------------------------------------------------- keys

    def action_page(self, pages: int) -> None:
        """Turn `pages` pages forward (negative: back)."""
        self._turn_to(self.first + pages * self.page_size)

    def action_row(self, rows: int) -> None:
        """Move `rows` rows of tiles forward (negative: back)."""
        self._turn_to(self.first + rows * self.columns)

    def action_first(self) -> None:
        self._turn_to(0)

    def action_last(self) -> None:
        self._turn_to(self._last_first())

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

    def action_campaigns(self) -> None:
        from console.screens.campaign_board import CampaignBoardScreen

        if self.live.campaigns is not None:
            self.app.push_screen(
                CampaignBoardScreen(
                    self.live.campaigns,
                    desk=self.live.campaign_desk,
                    join=self.live.join,
                    agents_on=self._agents_on,
                )
            )

    def action_back(self) -> None:
        if not self.standalone:
            self.dismiss(None)
