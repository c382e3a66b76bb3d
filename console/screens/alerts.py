"""The supervisor's alert log: open alerts first, then the recent history.

The screen shows an `AlertLog` it is given; whoever feeds the board evaluates the log (and
writes the audit entries). It redraws every `refresh_every` seconds: the open alerts' ages tick,
the tables are rebuilt when the log changed. Queue and agent names come from the PBX, so every
cell is a `Text`, never markup. Tab moves between the tables, Escape goes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from console.services.supervision.alerts import Alert, AlertLog, format_seconds

OPEN_COLUMNS = (
    "Raised",
    "Open for",
    "Alert",
    "Queue / agent",
    "Latest",
    "Worst",
    "Bound",
    "Detail",
)
HISTORY_COLUMNS = (
    "Raised",
    "Cleared",
    "Lasted",
    "Alert",
    "Queue / agent",
    "Worst",
    "Bound",
    "Detail",
)
_OPEN_STYLE = "bold red"


def _clock_time(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S")


class AlertTable(DataTable[Text]):
    """Alerts, one a row, keyed by alert id."""


class AlertsScreen(Screen[None]):
    """Open alerts and the alert history."""

    CSS_PATH = "alerts.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(
        self,
        log: AlertLog,
        *,
        clock: Callable[[], float] = time.time,
        refresh_every: float = 1.0,
    ) -> None:
        super().__init__()
        self.alerts = log
        self.clock = clock
        self.refresh_every = refresh_every
        self._drawn_version = -1

    def compose(self) -> ComposeResult:
        yield Static("", id="alerts-title", markup=False)
        yield Label(Content.styled("Open", "bold"), classes="alerts-heading")
        yield AlertTable(id="alerts-open", cursor_type="row", zebra_stripes=True)
        yield Label(Content.styled("History (newest first)", "bold"), classes="alerts-heading")
        yield AlertTable(id="alerts-history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#alerts-open", AlertTable).add_columns(*OPEN_COLUMNS)
        self.query_one("#alerts-history", AlertTable).add_columns(*HISTORY_COLUMNS)
        self.redraw()
        self.query_one("#alerts-open", AlertTable).focus()
        self.set_interval(self.refresh_every, self.redraw)

    def action_back(self) -> None:
        self.dismiss(None)

    def redraw(self) -> None:
        """Redraw the open alerts (their ages move) and, when the log changed, the history."""
        now = self.clock()
        opened = self.alerts.open()
        self._fill(
            self.query_one("#alerts-open", AlertTable),
            [self._open_row(alert, now) for alert in opened],
            [alert.id for alert in opened],
        )
        if self.alerts.version != self._drawn_version:
            history = [alert for alert in self.alerts.history() if not alert.is_open]
            self._fill(
                self.query_one("#alerts-history", AlertTable),
                [self._history_row(alert) for alert in history],
                [alert.id for alert in history],
            )
            self._drawn_version = self.alerts.version
        title = Content.assemble(
            ("Alerts", "bold"),
            "  · ",
            (f"{len(opened)} open", "$text-error" if opened else "$text-success"),
        )
        self.query_one("#alerts-title", Static).update(title)

    @staticmethod
    def _fill(table: AlertTable, rows: list[list[Text]], keys: list[int]) -> None:
        row = table.cursor_row
        table.clear()
        for key, cells in zip(keys, rows, strict=True):
            table.add_row(*cells, key=str(key))
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1))

    @staticmethod
    def _open_row(alert: Alert, now: float) -> list[Text]:
        return [
            Text(_clock_time(alert.raised_at)),
            Text(format_seconds(now - alert.raised_at), style=_OPEN_STYLE),
            Text(alert.label, style=_OPEN_STYLE),
            Text(alert.subject),
            Text(alert.format_value(alert.last)),
            Text(alert.format_value(alert.worst)),
            Text(alert.format_value(alert.threshold)),
            Text(alert.detail),
        ]

    @staticmethod
    def _history_row(alert: Alert) -> list[Text]:
        cleared = alert.cleared_at if alert.cleared_at is not None else alert.raised_at
        return [
            Text(_clock_time(alert.raised_at)),
            Text(_clock_time(cleared)),
            Text(format_seconds(cleared - alert.raised_at)),
            Text(alert.label),
            Text(alert.subject),
            Text(alert.format_value(alert.worst)),
            Text(alert.format_value(alert.threshold)),
            Text(alert.detail),
        ]
