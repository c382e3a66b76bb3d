"""The supervisor's campaign board: every running or paused campaign, read from the database on
a timer (`console.services.outbound.board`), one row each — today's dials, connects,
right-party contacts and conversions, the 30-day abandon rate against the campaign's cap, the
pacing ratio (dials in flight per agent), its agents and what is left of its list. Drafts are
listed too. ``p`` pauses and ``r`` starts or resumes the campaign under the cursor; ``n``
opens the campaign builder (`console.screens.campaign_new`). Reached from the wallboard with
``c``.

Campaign names are `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.screens.campaign_new import CampaignBuilderScreen, DeskSource
from console.screens.lifecycle import while_shown
from console.services.errors import ServiceError
from console.services.outbound.board import CampaignTile
from console.services.outbound.results import percent
from console.services.training.training import TraineeJoin

REFRESH_SECONDS = 5.0
#: The abandon rate turns amber at this share of the cap (the dialer's own safety margin).
AMBER_AT = 0.8


class BoardSource(Protocol):
    """What the board reads and acts through (`CampaignBoard` is one)."""

    async def tiles(self) -> list[CampaignTile]: ...
    async def pause(self, name: str) -> None: ...
    async def resume(self, name: str) -> None: ...


def abandon_cell(tile: CampaignTile) -> Text:
    """``1.2% (3/250) / 3.0%``: the rate with its counts (a young campaign's rate rests on
    few calls), green under 80 % of the cap, amber up to it, red over it."""
    rate = tile.abandon_rate
    counts = f" ({tile.abandoned_30d}/{tile.live_30d})" if tile.live_30d else ""
    text = f"{percent(rate)}{counts} / {percent(tile.abandon_cap)}"
    if rate is None:
        return Text(text, style="dim", justify="right")
    style = "green" if rate < AMBER_AT * tile.abandon_cap else "yellow"
    if rate > tile.abandon_cap:
        style = "bold red"
    return Text(text, style=style, justify="right")


#: (header, cell) of each column after the campaign's name.
COLUMNS: tuple[tuple[str, Callable[[CampaignTile], Text]], ...] = (
    (
        "Status",
        lambda t: Text(t.status, style="bold" if t.running else "yellow"),
    ),
    ("Dialled", lambda t: Text(str(t.today.dialled), justify="right")),
    ("Connected", lambda t: Text(str(t.today.connected), justify="right")),
    ("RPC", lambda t: Text(str(t.today.right_party), justify="right")),
    ("Conv.", lambda t: Text(str(t.today.conversions), justify="right")),
    ("Abandon 30d / cap", abandon_cell),
    (
        "Pacing",
        lambda t: Text("—" if t.pacing is None else f"{t.pacing:.1f}", justify="right"),
    ),
    ("In flight", lambda t: Text(str(t.in_flight), justify="right")),
    ("Agents", lambda t: Text(str(t.agents), justify="right")),
    ("Remaining", lambda t: Text(f"{t.remaining:,}", justify="right")),
)


class CampaignBoardScreen(Screen[None]):
    """See the module docstring; Escape goes back."""

    CSS_PATH = "campaign_board.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "new", "New campaign"),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Start/Resume"),
        Binding("f5", "reload", "Reload", show=False),
    ]

    def __init__(
        self,
        source: BoardSource,
        *,
        desk: DeskSource | None = None,
        join: TraineeJoin | None = None,
        agents_on: Callable[[str], int | None] | None = None,
        now: Callable[[], datetime] = datetime.now,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        super().__init__()
        self.source = source
        self.desk = desk
        self.join = join
        # The PBX's count of a queue's agents at work (the supervisor's live board): phones
        # without a console (a softphone only, the demo's bots) count too. None: the tiles'
        # count, consoles alive in the queue.
        self.agents_on = agents_on
        self.now = now
        self.refresh_seconds = refresh_seconds
        self.tiles: list[CampaignTile] = []
        self.chosen_name: str | None = None  # a campaign just created: the cursor goes to it
        self.loads = 0  # completed reads (tests wait on it)

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("Campaigns", "bold"), id="cb-title", markup=False)
        yield DataTable(id="cb-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            Content(
                "today since local midnight: dialled, connected (an agent took it), RPC "
                "(right-party contacts), conversions · abandon = abandoned / live answers over "
                "30 days (the counts), against the cap · pacing = dials in flight per agent"
            ),
            id="cb-definitions",
            markup=False,
        )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Campaign", key="name")
        for header, _ in COLUMNS:
            table.add_column(Text(header, justify="right"), key=header)
        table.focus()
        self.load()
        self.set_interval(self.refresh_seconds, self.load)

    @work(exclusive=True, group="campaign-board", exit_on_error=False)
    @while_shown
    async def load(self) -> None:
        """Read the board and draw it (the cursor stays on its campaign)."""
        try:
            tiles = await self.source.tiles()
        except Exception as exc:  # the database away: say so, keep the last board
            self._title(f"not read: {' '.join(str(exc).split())[:120]}", "$text-error")
            return
        if self.agents_on is not None:
            counted = self.agents_on
            tiles = [t if (n := counted(t.queue)) is None else replace(t, agents=n) for t in tiles]
        self.tiles = tiles
        self._fill(tiles)
        by_status = {s: sum(t.status == s for t in tiles) for s in ("running", "paused", "draft")}
        counts = ", ".join(f"{n} {s}" for s, n in by_status.items() if n or s == "running")
        self._title(f"{counts} · read {self.now():%H:%M:%S}", "")
        self.loads += 1

    def _title(self, text: str, style: str) -> None:
        self.query_one("#cb-title", Static).update(
            Content.assemble(("Campaigns  ", "bold"), (text, style))
        )

    def _fill(self, tiles: list[CampaignTile]) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        chosen = self._chosen()
        table.clear()
        for tile in tiles:
            table.add_row(Text(tile.name), *(cell(tile) for _, cell in COLUMNS), key=str(tile.id))
        if not tiles:
            return
        wanted = self.chosen_name or (chosen.name if chosen else None)
        self.chosen_name = None
        index = next((n for n, t in enumerate(tiles) if t.name == wanted), 0)
        table.move_cursor(row=index)

    def _chosen(self) -> CampaignTile | None:
        table: DataTable[Text] = self.query_one(DataTable)
        if not self.tiles or not 0 <= table.cursor_row < len(self.tiles):
            return None
        return self.tiles[table.cursor_row]

    # ---------------------------------------------------------------- actions

    def action_back(self) -> None:
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "new":
            return self.desk is not None
        return True

    def action_new(self) -> None:
        if self.desk is None:
            return

        def created(name: str | None) -> None:
            if name:
                self.chosen_name = name
                self.load()

        self.app.push_screen(CampaignBuilderScreen(self.desk, join=self.join), callback=created)

    def action_reload(self) -> None:
        self.load()

    async def action_pause(self) -> None:
        await self._change("pause")

    async def action_resume(self) -> None:
        await self._change("resume")

    async def _change(self, what: str) -> None:
        tile = self._chosen()
        if tile is None:
            self.notify("No campaign to " + what, markup=False)
            return
        try:
            await getattr(self.source, what)(tile.name)
        except ServiceError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        except Exception as exc:  # the database away: one line, nothing changed
            self.notify(f"{tile.name}: not {what}d: {exc}", severity="error", markup=False)
            return
        done = "started" if what == "resume" and tile.status == "draft" else f"{what}d"
        self.notify(f"{tile.name}: {done}", markup=False)
        self.load()
