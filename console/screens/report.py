"""The supervisor's report screen: the rows of `callconsole report`, with a sparkline per figure.

It draws what a `ReportSource` (normally `ReportService`) loads for a period: the table in the
chosen grouping (``g`` cycles queue → agent → day → hour without reading again), and under it
one sparkline per figure over the period's hours (days, past two days). ``[`` and ``]`` move
to the previous or next period, ``r`` reads it again. Given a ready `ReportData` instead of a
source it shows that and cannot move. Names from the queue_log are `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Sparkline, Static

from callkit.metrics import MetricDefinitions
from console.screens.lifecycle import while_shown
from console.services.supervision.reports import (
    GroupBy,
    Report,
    ReportData,
    ReportError,
    ReportRow,
    clock,
    display_columns,
    make_report,
    percent,
)

GROUPS = tuple(GroupBy)
#: (label, value of a row for the plot, the total as shown)
PLOTS: tuple[tuple[str, Callable[[ReportRow], float | None], Callable[[ReportRow], str]], ...] = (
    ("Offered", lambda r: r.figures.offered, lambda r: str(r.figures.offered)),
    (
        "Service level",
        lambda r: r.summary.service_level,
        lambda r: percent(r.summary.service_level),
    ),
    ("ASA", lambda r: r.summary.asa, lambda r: clock(r.summary.asa)),
    ("AHT", lambda r: r.summary.aht, lambda r: clock(r.summary.aht)),
    ("Abandon rate", lambda r: r.summary.abandon_rate, lambda r: percent(r.summary.abandon_rate)),
    ("Occupancy", lambda r: r.summary.occupancy, lambda r: percent(r.summary.occupancy)),
)


class ReportSource(Protocol):
    """What the screen reads a period from (`ReportService` is one)."""

    async def load(self, start: datetime, end: datetime) -> ReportData: ...


def _today(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


class ReportScreen(Screen[None]):
    """Report rows and plots; Escape goes back."""

    CSS_PATH = "report.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "cycle_group", "Group by"),
        Binding("left_square_bracket", "shift(-1)", "Previous"),
        Binding("right_square_bracket", "shift(1)", "Next"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(
        self,
        source: ReportSource | ReportData,
        definitions: MetricDefinitions,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: GroupBy = GroupBy.QUEUE,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        super().__init__()
        self.definitions = definitions
        self.group_by = group_by
        self.data: ReportData | None = None
        self.report: Report | None = None
        self.loads = 0  # completed loads (tests wait on it)
        if isinstance(source, ReportData):
            self.source: ReportSource | None = None
            self.data = source
            self.start = source.local.at(source.start)
            self.end = source.local.at(source.end)
        else:
            self.source = source
            default_start, default_end = _today(now())
            self.start = start or default_start
            self.end = end or default_end

    def compose(self) -> ComposeResult:
        yield Static(Content("Report"), id="report-title", markup=False)
        yield DataTable(id="report-table", cursor_type="row", zebra_stripes=True)
        with Grid(id="report-plots"):
            for n, (name, _, _) in enumerate(PLOTS):
                with Vertical(classes="plot"):
                    yield Label(Content(name), id=f"plot-label-{n}", markup=False)
                    yield Sparkline([], id=f"plot-{n}")
        yield Static(Content(self.definitions.describe()), id="report-definitions", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        if self.data is not None:
            self._show()
        else:
            self.load()

    # ---------------------------------------------------------------- loading

    @work(exclusive=True, group="report-load", exit_on_error=False)
    @while_shown
    async def load(self) -> None:
        """Read the current period from the source and draw it."""
        if self.source is None:
            return
        title = self.query_one("#report-title", Static)
        title.update(Content(f"Reading {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M}…"))
        try:
            self.data = await self.source.load(self.start, self.end)
        except ReportError as exc:
            title.update(Content(f"Report: {exc}"))
            self.notify(str(exc), severity="error", markup=False)
            return
        self._show()
        self.loads += 1
        warning = self.data.stats.message()
        if warning is not None:
            self.notify(warning, severity="warning", markup=False)

    def _show(self) -> None:
        data = self.data
        assert data is not None
        report = self.report = make_report(data, self.group_by, self.definitions)
        self.query_one("#report-title", Static).update(
            Content.assemble(("Report ", "bold"), report.describe())
        )
        self._fill(self.query_one(DataTable), report)
        span = data.end - data.start
        timeline = make_report(
            data, GroupBy.HOUR if span <= 2 * 86_400 else GroupBy.DAY, self.definitions
        )
        for n, (name, value, shown) in enumerate(PLOTS):
            series = [float(v) if (v := value(row)) is not None else 0.0 for row in timeline.rows]
            self.query_one(f"#plot-{n}", Sparkline).data = series
            self.query_one(f"#plot-label-{n}", Label).update(
                Content(f"{name} {shown(timeline.total)}")
            )

    def _fill(self, table: DataTable[Text], report: Report) -> None:
        table.clear(columns=True)
        table.add_column(report.group_by.value.capitalize(), key="key")
        columns = display_columns()
        for header, _ in columns:
            table.add_column(Text(header, justify="right"), key=header)
        for row in report.rows:
            cells = [Text(cell(row), justify="right") for _, cell in columns]
            table.add_row(Text(row.key), *cells, key=row.key)
        total = report.total
        cells = [Text(cell(total), style="bold", justify="right") for _, cell in columns]
        table.add_row(Text("Total", style="bold"), *cells, key="\x00total")

    # ---------------------------------------------------------------- actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_cycle_group(self) -> None:
        self.group_by = GROUPS[(GROUPS.index(self.group_by) + 1) % len(GROUPS)]
        if self.data is not None:
            self._show()

    def action_shift(self, direction: int) -> None:
        if self.source is None:
            self.notify("this report has no source to read other periods from", markup=False)
            return
        span = self.end - self.start
        self.start, self.end = self.start + direction * span, self.end + direction * span
        self.load()

    def action_reload(self) -> None:
        if self.source is not None:
            self.load()
