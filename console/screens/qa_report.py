"""The QA report screen: `callconsole report --by evaluation…` on screen. `g` cycles the grouping
(week → agent → team → form → question), `[` / `]` move four weeks back or on."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.screens.lifecycle import while_shown
from console.services.quality.desk import QaDesk
from console.services.quality.records import QaError
from console.services.quality.reports import QaReport, QaReportBy, cells, columns
from console.services.text import clean_text

PERIOD = timedelta(days=28)
ORDER = tuple(QaReportBy)


class QaReportScreen(Screen[None]):
    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("g", "next_group", "Group by"),
        Binding("left_square_bracket", "move(-1)", "Earlier", key_display="["),
        Binding("right_square_bracket", "move(1)", "Later", key_display="]"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, desk: QaDesk, by: QaReportBy = QaReportBy.AGENT) -> None:
        super().__init__()
        self.desk = desk
        self.by = by
        self.end = desk.clock()
        self.report: QaReport | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="qa-title", markup=False)
        yield DataTable(id="qr-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="qa-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="qa-report", exit_on_error=False)
    @while_shown
    async def load(self) -> None:
        try:
            report = await self.desk.report(self.by, self.end - PERIOD, self.end)
        except QaError as exc:
            self.query_one("#qa-status", Static).update(Content(str(exc)))
            return
        self.report = report
        self.query_one("#qa-title", Static).update(Content.styled(report.describe(), "bold"))
        table = self.query_one("#qr-table", DataTable)
        table.clear(columns=True)
        table.add_columns(self.by.value, *columns(report))
        for row in report.rows:
            table.add_row(
                Text(clean_text(row.key, single_line=True, max_length=80)),
                *(Text(c) for c in cells(row)),
            )
        table.add_row(
            Text("Total", style="bold"), *(Text(c, style="bold") for c in cells(report.total))
        )
        note = "; ".join(report.notes) or "evaluations of record submitted in the period"
        self.query_one("#qa-status", Static).update(Content.styled(note, "$text-muted"))

    def action_next_group(self) -> None:
        self.by = ORDER[(ORDER.index(self.by) + 1) % len(ORDER)]
        self.load()

    def action_move(self, step: int) -> None:
        self.end += step * PERIOD
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
