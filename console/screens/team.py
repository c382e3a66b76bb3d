"""The supervisor's team view: every open follow-up, overdue first; reassign one or many.

One table of `Worklist.team_view`, filtered by team (of the holder or the assignee) and to
overdue ones. Rows are marked with Space (`A` marks every row shown); `R` reassigns the marked
rows — or the highlighted one — to an agent picked from the active agents with their open load.
That list is a plain read-only query here (`roster.agent_loads`); the change goes through
`Worklist.reassign`, which checks the supervisor and writes the audit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Label, Select, Static

from console.db import Database
from console.models.enums import FollowUpStatus
from console.screens.choice import ChoiceScreen
from console.screens.lifecycle import while_shown
from console.screens.worklist import (
    DUE,
    KIND,
    PRIORITY,
    SLA,
    SUMMARY,
    cell,
    fill_placeholder,
    highlighted_key,
    item_cells,
    restore_cursor,
    set_columns,
)
from console.services.routing.worklist import ClaimError, WorkItem, Worklist
from console.services.supervision.roster import AgentLoad, agent_loads

ALL_TEAMS = "*all*"
MARK = "✓"
# The worklist's columns less the tries, narrower, and who has it: 120 columns show them all.
TEAM_COLUMNS = (
    ("✓", 1),
    PRIORITY,
    KIND,
    ("Customer", 12),
    SUMMARY,
    DUE,
    SLA,
    ("State", 17),
    ("Holder/assignee", 16),
    ("Team", 6),
)
MIN_SUMMARY = 10


def fit(text: str, width: int) -> str:
    """`text` cut (with "…") or padded to `width` terminal cells (CJK takes two)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def holder_text(item: WorkItem) -> str:
    """Who has it: the claimer, else the assignee (→), else the pool it waits in."""
    if item.status is FollowUpStatus.CLAIMED and item.claimed_by is not None:
        return item.claimed_by_name or f"agent {item.claimed_by}"
    if item.target_agent_id is not None:
        return f"→ {item.target_agent_name or f'agent {item.target_agent_id}'}"
    if item.target_queue_name:
        return f"queue {item.target_queue_name}"
    if item.target_skill:
        return f"skill {item.target_skill}"
    return "anyone"


def holder_id(item: WorkItem) -> int | None:
    if item.status is FollowUpStatus.CLAIMED and item.claimed_by is not None:
        return item.claimed_by
    return item.target_agent_id


class PickAgentScreen(ChoiceScreen[AgentLoad]):
    """Choose whom to give follow-ups to; dismisses with the agent, None to cancel."""

    def __init__(self, agents: list[AgentLoad], count: int) -> None:
        noun = "follow-up" if count == 1 else "follow-ups"
        options = [
            (
                str(agent.id),
                Content.assemble(
                    (fit(agent.name, 28), "bold"),
                    ("  " + fit(agent.team or "—", 10), "$text-muted"),
                    f"  {agent.open} open",
                ),
                agent,
            )
            for agent in agents
        ]
        super().__init__(Content.styled(f"Reassign {count} {noun} to…", "bold"), options, width=64)
        self.agents = {str(agent.id): agent for agent in agents}
        self.count = count


class TeamTable(DataTable[Text]):
    """Everyone's open follow-ups; rows keyed by follow-up id."""


class TeamScreen(Screen[None]):
    """Supervisors: see everyone's follow-ups, overdue first, and reassign them."""

    CSS_PATH = "team.tcss"
    BINDINGS = [
        Binding("escape", "back", "Clear/Back"),
        Binding("space", "mark", "Select"),
        Binding("A", "mark_all", "Select all"),
        Binding("R", "reassign", "Reassign"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(
        self,
        worklist: Worklist,
        db: Database,
        *,
        supervisor_id: int,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__()
        self.worklist = worklist
        self.db = db
        self.supervisor_id = supervisor_id
        self.clock = clock
        self.items: dict[str, WorkItem] = {}
        self.marked: set[str] = set()
        self.agents: list[AgentLoad] = []
        self.loads = 0  # completed loads (tests wait on it)
        self._shown: list[WorkItem] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("Team follow-ups", "bold"), id="team-title", markup=False)
        with Horizontal(id="team-filters"):
            yield Label("Team", classes="filter-label")
            yield Select(
                [("all teams", ALL_TEAMS)],
                value=ALL_TEAMS,
                allow_blank=False,
                compact=True,
                id="team-filter",
            )
            yield Checkbox("Overdue only", compact=True, id="overdue-only")
        yield TeamTable(id="team-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TeamTable).focus()
        self.load(agents=True)

    # ---------------------------------------------------------------- loading

    @work(exclusive=True, group="team-load", exit_on_error=False)
    @while_shown
    async def load(self, *, agents: bool = False) -> None:
        """Read the filtered view (and, `agents`, the agents and their teams) and draw it."""
        team = self.query_one("#team-filter", Select).value
        overdue = self.query_one("#overdue-only", Checkbox).value
        try:
            if agents or not self.agents:
                self.agents = await agent_loads(self.db)
                self._teams()
            items = await self.worklist.team_view(
                team=team if isinstance(team, str) and team != ALL_TEAMS else None,
                overdue_only=overdue,
            )
        except Exception as exc:  # one clear line; the last view stays
            self.notify(f"could not read the team view: {exc}", severity="error", markup=False)
            return
        self._show(items)
        self.loads += 1

    def _teams(self) -> None:
        select = self.query_one("#team-filter", Select)
        chosen = select.value
        teams = sorted({agent.team for agent in self.agents if agent.team})
        with self.prevent(Select.Changed):
            select.set_options([("all teams", ALL_TEAMS), *((t, t) for t in teams)])
            select.value = chosen if chosen in teams else ALL_TEAMS

    def _show(self, items: list[WorkItem]) -> None:
        self._shown = items
        now = self.clock()
        teams = {agent.id: agent.team for agent in self.agents}
        table = self.query_one(TeamTable)
        key, index = highlighted_key(table), table.cursor_row
        set_columns(table, TEAM_COLUMNS, MIN_SUMMARY)
        table.clear()
        self.items = {str(item.id): item for item in items}
        self.marked &= set(self.items)
        for item in items:
            who = holder_id(item)
            row_key = str(item.id)
            table.add_row(
                cell(MARK if row_key in self.marked else "", "bold"),
                *item_cells(item, now)[:-1],  # no tries
                cell(holder_text(item)),
                cell(teams.get(who, "") if who is not None else ""),
                key=row_key,
            )
        if not items:
            fill_placeholder(table, TEAM_COLUMNS)
        restore_cursor(table, key, index)
        self._title()

    def _title(self) -> None:
        overdue = sum(1 for item in self.items.values() if item.overdue)
        marked = f" · {len(self.marked)} selected" if self.marked else ""
        self.query_one("#team-title", Static).update(
            Content.assemble(
                ("Team follow-ups", "bold"),
                f"  · {len(self.items)} open · ",
                (f"{overdue} overdue", "$text-error" if overdue else ""),
                marked,
            )
        )

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        if self._shown is not None:
            self._show(self._shown)

    @on(Select.Changed, "#team-filter")
    @on(Checkbox.Changed, "#overdue-only")
    def _filtered(self) -> None:
        self.load()

    # ---------------------------------------------------------------- selection

    def _highlighted(self) -> str | None:
        key = next((highlighted_key(table) for table in self.query(TeamTable)), None)
        return key if key in self.items else None

    def _set_mark(self, key: str, marked: bool) -> None:
        if marked:
            self.marked.add(key)
        else:
            self.marked.discard(key)
        mark = cell(MARK if marked else "", "bold")
        self.query_one(TeamTable).update_cell(key, TEAM_COLUMNS[0][0], mark)

    def action_mark(self) -> None:
        key = self._highlighted()
        if key is not None:
            self._set_mark(key, key not in self.marked)
            self._title()

    def action_mark_all(self) -> None:
        """Select every row shown; with all already selected, clear them."""
        everything = set(self.items) <= self.marked
        for key in self.items:
            self._set_mark(key, not everything)
        self._title()

    def action_back(self) -> None:
        if self.marked:
            for key in list(self.marked):
                self._set_mark(key, False)
            self._title()
            return
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load(agents=True)

    # ---------------------------------------------------------------- reassign

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reassign" and not self.marked and self._highlighted() is None:
            return None
        return True

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    def action_reassign(self) -> None:
        ids = sorted(self.marked, key=int) if self.marked else []
        if not ids:
            key = self._highlighted()
            ids = [key] if key is not None else []
        if not ids:
            return
        chosen = [int(key) for key in ids]

        async def to(agent: AgentLoad | None) -> None:
            if agent is not None:
                await self._reassign(chosen, agent)

        self.app.push_screen(PickAgentScreen(self.agents, len(chosen)), callback=to)

    async def _reassign(self, ids: list[int], agent: AgentLoad) -> None:
        try:
            changed = await self.worklist.reassign(self.supervisor_id, ids, agent.id)
        except ClaimError as exc:
            self.notify(str(exc), severity="error", markup=False)
        else:
            noun = "follow-up" if changed == 1 else "follow-ups"
            self.notify(f"Reassigned {changed} {noun} to {agent.name}", markup=False)
            self.marked.clear()
        self.load(agents=True)
