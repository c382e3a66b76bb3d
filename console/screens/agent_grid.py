"""The agent grid (supervisors): every agent's state and reason, time in state, current call,
calls handled and AHT today, missed rings today, open follow-ups; filtered by queue, team and
state, sorted.

Keys act on the highlighted agent: ``n`` force not ready with a reason, ``y`` ready (both
QueuePause in all their queues), ``x`` log out of one queue (QueueRemove), ``R`` reassign all
their open follow-ups to another agent (`Worklist.reassign`, as the team view does).

Live state comes from `LiveBoard.snapshot` on a timer, never per event; names, teams,
follow-up counts and missed rings from the database every ~15 s (`load_roster`). Missed rings
are counted from the interaction log every agent's console writes (the rows the agent's own
figures count), not from the events this console happened to see: the count survives a restart
of the supervisor's console and can be recounted with one query; agents without a console
(e.g. the simulator's bots) show "–". Cells are `Text`: agent and caller names are never markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Select, Static

from console.db import Database
from console.screens.agent_grid_monitor import MonitorKeys
from console.screens.choice import ChoiceScreen
from console.screens.lifecycle import while_shown
from console.screens.not_ready import NotReadyScreen
from console.screens.team import PickAgentScreen
from console.screens.worklist import cell, highlighted_key, restore_cursor
from console.services.crm.agents import NotReadyReason, not_ready_reason
from console.services.desk.agent_figures import today_bounds
from console.services.errors import ServiceError
from console.services.quality.monitoring import MonitoringService
from console.services.routing.worklist import Worklist
from console.services.supervision.coaching import CoachService
from console.services.supervision.live_types import AgentActivity, AgentLive
from console.services.supervision.roster import (
    AgentLoad,
    RosterEntry,
    agent_loads,
    load_roster,
    open_followup_ids,
)
from console.services.training.recording import NO_RECORDING, ActionRecorder
from console.widgets.format import duration

if TYPE_CHECKING:
    from console.services.supervision.live import LiveViews

REFRESH_SECONDS = 0.5
ROSTER_SECONDS = 15.0
ALL = "*all*"
COLUMNS = (
    ("Agent", 18),
    ("State", 10),
    ("Reason", 12),
    ("In state", 8),
    ("Caller", 12),
    ("Queue", 8),
    ("Call", 7),
    ("Handled", 7),
    ("AHT", 6),
    ("Missed", 6),
    ("F-ups", 5),
    ("Team", 6),
)
STATE_STYLES = {
    AgentActivity.AVAILABLE: "bold green",
    AgentActivity.RINGING: "bold cyan",
    AgentActivity.ON_CALL: "cyan",
    AgentActivity.WRAP_UP: "yellow",
    AgentActivity.NOT_READY: "bold red",
    AgentActivity.LOGGED_OUT: "dim",
}
_STATE_ORDER = {activity: i for i, activity in enumerate(STATE_STYLES)}


@dataclass(frozen=True, slots=True)
class GridRow:
    """One agent as the grid shows them."""

    agent: AgentLive
    name: str  # the CRM's display name, else the PBX's member name
    team: str
    agent_id: int | None  # None: not in the CRM (e.g. a simulator bot)
    missed: int = 0  # calls that rang out on their phone today (from the interaction log)

    def in_state(self, now: float) -> float:
        return max(0.0, now - self.agent.since)


SORTS: dict[str, tuple[str, Callable[[GridRow, float], tuple[object, ...]]]] = {
    "state": ("state", lambda r, now: (_STATE_ORDER[r.agent.activity], -r.in_state(now))),
    "name": ("name", lambda r, now: (r.name.lower(), r.agent.interface)),
    "time": ("longest in state", lambda r, now: (-r.in_state(now), r.name.lower())),
    "handled": ("most handled", lambda r, now: (-r.agent.handled, r.name.lower())),
    "aht": ("longest AHT", lambda r, now: (-(r.agent.aht or 0.0), r.name.lower())),
    "missed": ("most missed", lambda r, now: (-r.missed, r.name.lower())),
    "followups": ("most follow-ups", lambda r, now: (-r.agent.followups_open, r.name.lower())),
}


def reason_text(code: str) -> str:
    """A pause reason as agents chose it ("acw" → "After-call work"); others as the PBX says."""
    known = not_ready_reason(code)
    return known.label if known is not None else code


Cell = tuple[str, str]  # (text, style)


def row_values(row: GridRow, now: float) -> tuple[Cell, ...]:
    """The grid's cells for one agent at ``now``, as (text, style) pairs."""
    a = row.agent
    started = a.call_started
    return (
        (row.name, "bold"),
        (str(a.activity), STATE_STYLES[a.activity]),
        (reason_text(a.reason), ""),
        (duration(row.in_state(now)), ""),
        (a.caller, ""),
        (a.call_queue, ""),
        (duration(now - started) if started is not None else "", ""),
        (str(a.handled), ""),
        (duration(a.aht) if a.aht is not None else "–", ""),
        (str(row.missed) if row.agent_id is not None else "–", "bold yellow" if row.missed else ""),
        (str(a.followups_open) if row.agent_id is not None else "–", ""),
        (row.team, ""),
    )


class PickQueueScreen(ChoiceScreen[str]):
    """Which queue to log the agent out of; dismisses with its name, None to cancel."""

    def __init__(self, agent: str, queues: tuple[str, ...]) -> None:
        title = Content.assemble("Log ", (agent, "bold"), " out of…")
        super().__init__(title, [(str(i), Content(q), q) for i, q in enumerate(queues)])
        self.agent = agent
        self.queues = queues


class GridTable(DataTable[Text]):
    """Agents; rows keyed by queue interface."""


class AgentGridScreen(MonitorKeys, Screen[None]):
    """Supervisors: every agent live; see the module docstring."""

    CSS_PATH = "agent_grid.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("n", "not_ready", "Not ready"),
        Binding("y", "ready", "Ready"),
        Binding("x", "log_out", "Log out of queue"),
        Binding("R", "reassign", "Reassign follow-ups"),
        Binding("v", "view_live", "View live"),
        Binding("l", "listen('listen')", "Listen"),
        Binding("w", "listen('whisper')", "Whisper"),
        Binding("B", "listen('barge')", "Barge"),
        Binding("m", "coach", "Coach message"),
    ]

    def __init__(
        self,
        live: LiveViews,
        *,
        db: Database | None = None,
        worklist: Worklist | None = None,
        supervisor_id: int | None = None,
        recorder: ActionRecorder | None = None,
        monitoring: MonitoringService | None = None,
        coach: CoachService | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        roster_seconds: float = ROSTER_SECONDS,
    ) -> None:
        super().__init__()
        self.live = live
        self.recorder = recorder or NO_RECORDING  # the supervisor's own session recording
        self.db = db
        self.worklist = worklist
        self.supervisor_id = supervisor_id
        self.monitoring = monitoring  # listening (supervisors', trainers' consoles)
        self.coach = coach
        self.refresh_seconds = refresh_seconds
        self.roster_seconds = roster_seconds
        self.roster: dict[str, RosterEntry] = {}
        self.roster_loads = 0  # tests wait on these
        self.redraws = 0
        self.rows: dict[str, GridRow] = {}  # shown, by interface
        self._values: dict[str, tuple[Cell, ...]] = {}  # what each row shows
        self._name_cells: dict[str, Text] = {}  # each row's first cell (its identity sorts)
        self._options: dict[str, list[str]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="grid-title", markup=False)
        with Horizontal(id="grid-filters"):
            for label, select_id, default in (
                ("Queue", "grid-queue", ("all queues", ALL)),
                ("Team", "grid-team", ("all teams", ALL)),
                ("State", "grid-state", ("all states", ALL)),
            ):
                yield Label(label, classes="filter-label")
                yield Select([default], value=ALL, allow_blank=False, compact=True, id=select_id)
            yield Label("Sort", classes="filter-label")
            yield Select(
                [(label, key) for key, (label, _) in SORTS.items()],
                value="state",
                allow_blank=False,
                compact=True,
                id="grid-sort",
            )
        yield GridTable(id="grid-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="grid-definitions", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(GridTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width, key=label)
        table.focus()
        self._set_options("grid-state", "all states", [(str(a), str(a)) for a in STATE_STYLES])
        self.query_one("#grid-definitions", Static).update(
            Content.styled(
                "Today from midnight: AHT = (talk + hold + wrap-up) / handled; Missed = rang "
                "out on their phone · F-ups: open, held or assigned",
                "$text-muted",
            )
        )
        self.redraw()
        self.set_interval(self.refresh_seconds, self.redraw)
        if self.db is not None:
            self.load_roster()
            self.set_interval(self.roster_seconds, self.load_roster)

    # ---------------------------------------------------------------- data

    @work(exclusive=True, group="grid-roster", exit_on_error=False)
    @while_shown
    async def load_roster(self) -> None:
        """Names, teams, open follow-ups and missed rings from the database (every ~15 s)."""
        if self.db is None:
            return
        now = datetime.fromtimestamp(self.live.clock(), UTC)
        try:
            self.roster = await load_roster(self.db, today_bounds(now, self.live.board.tz))
        except Exception as exc:  # the last roster stays; one clear line
            self.notify(f"could not read the agents: {exc}", severity="warning", markup=False)
            return
        teams = sorted({entry.team for entry in self.roster.values() if entry.team})
        self._set_options("grid-team", "all teams", [(t, t) for t in teams])
        self.roster_loads += 1
        self.redraw()

    def _set_options(self, select_id: str, everything: str, options: list[tuple[str, str]]) -> None:
        values = [value for _, value in options]
        if self._options.get(select_id) == values:
            return
        self._options[select_id] = values
        select: Select[str] = self.query_one(f"#{select_id}", Select)
        chosen = select.value
        with self.prevent(Select.Changed):
            # Names come from the PBX and the CRM: Text, never markup.
            select.set_options([(everything, ALL), *((Text(lb), v) for lb, v in options)])
            select.value = chosen if chosen in values else ALL

    def _filter(self, select_id: str) -> str | None:
        value = self.query_one(f"#{select_id}", Select).value
        return value if isinstance(value, str) and value != ALL else None

    def grid_rows(self, agents: tuple[AgentLive, ...], now: float) -> list[GridRow]:
        """The agents to show, filtered and sorted as the selects say."""
        queue, team, state = (self._filter(s) for s in ("grid-queue", "grid-team", "grid-state"))
        rows = []
        for a in agents:
            entry = self.roster.get(a.interface)
            if entry is not None:
                a = replace(a, followups_open=entry.followups_open)
            row = GridRow(
                agent=a,
                name=entry.name if entry is not None else a.agent,
                team=entry.team if entry is not None else "",
                agent_id=entry.agent_id if entry is not None else None,
                missed=entry.missed_today if entry is not None else 0,
            )
            if queue is not None and queue not in a.queues and a.call_queue != queue:
                continue
            if team is not None and row.team != team:
                continue
            if state is not None and str(a.activity) != state:
                continue
            rows.append(row)
        sort = self.query_one("#grid-sort", Select).value
        key = SORTS[sort if isinstance(sort, str) and sort in SORTS else "state"][1]
        rows.sort(key=lambda r: key(r, now))
        return rows

    # ---------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Draw a fresh snapshot: rows added, removed and re-sorted, only changed cells redrawn.

        Rebuilding the table would cost tens of milliseconds for hundreds of agents, and with
        as many agents someone changes state (so the order) nearly every redraw.
        """
        now = self.live.clock()
        snapshot = self.live.board.snapshot(now)
        self._set_options("grid-queue", "all queues", [(q.queue, q.queue) for q in snapshot.queues])
        rows = self.grid_rows(snapshot.agents, now)
        self.rows = {row.agent.interface: row for row in rows}
        table = self.query_one(GridTable)
        key, index = highlighted_key(table), table.cursor_row
        values = {interface: row_values(row, now) for interface, row in self.rows.items()}
        for gone in [k for k in self._values if k not in values]:
            table.remove_row(gone)
            del self._values[gone], self._name_cells[gone]
        for interface, new in values.items():
            old = self._values.get(interface)
            if old is None:
                cells = [cell(text, style) for text, style in new]
                self._name_cells[interface] = cells[0]
                table.add_row(*cells, key=interface)
                continue
            for (label, _), before, after in zip(COLUMNS, old, new, strict=True):
                if before != after:
                    changed = cell(*after)
                    if label == COLUMNS[0][0]:
                        self._name_cells[interface] = changed
                    table.update_cell(interface, label, changed)
        self._values = values
        order = list(values)
        if [row.key.value for row in table.ordered_rows] != order:
            # Sorted in place by each row's rank: the name cell is the row's own object.
            rank = {id(self._name_cells[k]): i for i, k in enumerate(order)}
            table.sort(COLUMNS[0][0], key=lambda name_cell: rank[id(name_cell)])
        moved = key is None or key not in table.rows or table.get_row_index(key) != index
        if moved:  # keep the cursor on the agent it was on (the rows moved under it)
            restore_cursor(table, key, index)
        self._title(snapshot.agents, len(rows))
        self.redraws += 1

    def _title(self, agents: tuple[AgentLive, ...], shown: int) -> None:
        counts = {activity: 0 for activity in STATE_STYLES}
        for a in agents:
            counts[a.activity] += 1
        states = " · ".join(f"{n} {activity}" for activity, n in counts.items() if n)
        self.query_one("#grid-title", Static).update(
            Content.assemble(("Agents", "bold"), f"  {shown} of {len(agents)} shown · {states}")
        )

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.redraw()

    # ---------------------------------------------------------------- actions

    def selected(self) -> GridRow | None:
        """The highlighted agent's row."""
        key = highlighted_key(self.query_one(GridTable))
        return self.rows.get(key) if key is not None else None

    def _need_selection(self) -> GridRow | None:
        row = self.selected()
        if row is None:
            self.notify("Highlight an agent first.", timeout=3, markup=False)
        return row

    async def _act(
        self, what: str, action: Callable[[], Awaitable[None]], kind: str, **details: Any
    ) -> None:
        try:
            await action()
        except ServiceError as exc:
            self.notify(str(exc), severity="error", markup=False)
        else:
            self.recorder.record_action(kind, **details)  # in the supervisor's recording
            self.notify(what, timeout=4, markup=False)

    def action_not_ready(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        interface, name = row.agent.interface, row.name

        async def chosen(reason: NotReadyReason | None) -> None:
            if reason is not None:
                await self._act(
                    f"{name}: not ready ({reason.label})",
                    lambda: self.live.actions.force_not_ready(interface, reason.code),
                    "supervisor_not_ready",
                    interface=interface,
                    reason=reason.code,
                )

        self.app.push_screen(NotReadyScreen(), callback=chosen)

    async def action_ready(self) -> None:
        row = self._need_selection()
        if row is not None:
            interface = row.agent.interface
            await self._act(
                f"{row.name}: ready",
                lambda: self.live.actions.make_ready(interface),
                "supervisor_ready",
                interface=interface,
            )

    def action_log_out(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        if not row.agent.queues:
            self.notify(f"{row.name} is in no queue.", timeout=3, markup=False)
            return
        interface, name = row.agent.interface, row.name

        async def chosen(queue: str | None) -> None:
            if queue is not None:
                await self._act(
                    f"{name}: logged out of {queue}",
                    lambda: self.live.actions.log_out(interface, queue),
                    "supervisor_log_out",
                    interface=interface,
                    queue=queue,
                )

        self.app.push_screen(PickQueueScreen(name, row.agent.queues), callback=chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reassign":
            return self.db is not None and self.worklist is not None
        if action in ("view_live", "coach"):
            return self.db is not None and self.supervisor_id is not None
        if action == "listen":
            return self.db is not None and self.monitoring is not None
        return True

    async def action_reassign(self) -> None:
        row = self._need_selection()
        db, worklist, me = self.db, self.worklist, self.supervisor_id
        if row is None or db is None or worklist is None or me is None:
            return
        if row.agent_id is None:
            self.notify(f"{row.name} is not in the CRM: no follow-ups.", markup=False)
            return
        source = row.agent_id
        try:
            ids = await open_followup_ids(db, source)
            agents = [a for a in await agent_loads(db) if a.id != source]
        except Exception as exc:
            self.notify(f"could not read the follow-ups: {exc}", severity="error", markup=False)
            return
        if not ids:
            self.notify(f"{row.name} has no open follow-ups.", timeout=3, markup=False)
            return

        async def to(agent: AgentLoad | None) -> None:
            if agent is None:
                return
            try:
                changed = await worklist.reassign(me, ids, agent.id)
            except ServiceError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            noun = "follow-up" if changed == 1 else "follow-ups"
            self.notify(
                f"Reassigned {changed} {noun} from {row.name} to {agent.name}", markup=False
            )
            self.load_roster()

        self.app.push_screen(PickAgentScreen(agents, len(ids)), callback=to)

    def action_back(self) -> None:
        self.dismiss(None)
