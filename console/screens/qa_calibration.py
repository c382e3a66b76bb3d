"""A call's calibration: each evaluator's answers question by question, the spread (max − min
and standard deviation of the share met, 0-100) and the agreed value (the median), then the
scores and the agreed score (console.services.quality.calibration)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.services.quality.calibration import Calibration
from console.services.text import clean_text


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _answer(value: object) -> str:
    return "-" if value is None else str(value)


class CalibrationScreen(Screen[None]):
    """Read-only: the calibration of one call."""

    CSS_PATH = "qa.tcss"
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, calibration: Calibration) -> None:
        super().__init__()
        self.calibration = calibration

    def compose(self) -> ComposeResult:
        yield Static(id="qa-title", markup=False)
        yield DataTable(id="qc-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="qa-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        cal = self.calibration
        agreed = _num(cal.agreed_score)
        self.query_one("#qa-title", Static).update(
            Content.assemble(
                ("Calibration ", "bold"),
                f"of call {cal.interaction_id} on {cal.form_label} · "
                f"{len(cal.evaluators)} evaluators · agreed score ",
                (agreed, "bold"),
                f" · score spread {_num(cal.scores.spread)}",
            )
        )
        table = self.query_one("#qc-table", DataTable)
        names = [clean_text(n, single_line=True, max_length=20) for n in cal.evaluators]
        table.add_columns("question", *names, "spread", "std dev", "agreed", "n/a")
        for q in cal.questions:
            wide = (q.shares.spread or 0) >= 50
            table.add_row(
                Text(clean_text(q.text, single_line=True, max_length=60)),
                *(Text(_answer(a)) for a in q.answers),
                Text(_num(q.shares.spread), style="bold red" if wide else ""),
                Text(_num(q.shares.stdev)),
                Text(_num(q.shares.agreed)),
                Text(str(q.shares.na)),
                key=q.question_id,
            )
        table.add_row(
            Text("Score", style="bold"),
            *(Text(_num(v), style="bold") for v in cal.scores.values),
            Text(_num(cal.scores.spread), style="bold"),
            Text(_num(cal.scores.stdev), style="bold"),
            Text(_num(cal.agreed_score), style="bold"),
            Text(""),
            key="(score)",
        )
        table.add_row(
            Text("From agreed"),
            *(Text("-" if d is None else f"{d:+.1f}") for d in cal.deviations),
            Text(""),
            Text(""),
            Text(""),
            Text(""),
            key="(deviation)",
        )
        self.query_one("#qa-status", Static).update(
            Content.styled(
                "answers per evaluator; spread, std dev and agreed (median) in % of the question "
                "met; a spread of 50 or more is red",
                "$text-muted",
            )
        )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
