"""A trainee's score card and run history (read-only; export as Markdown or JSON)."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from console.services.training.scoring import ScoreCard
from console.services.training.training import (
    RunRecord,
    TrainingError,
    TrainingService,
    export_scorecard,
)
from console.widgets.tables import column_widths

RESULT, CRITERION, WEIGHT, CALL, EVIDENCE = "", "Criterion", "Weight", "Call", "Evidence"
MIN_EVIDENCE = 28
# On a narrow terminal the call gives way first (cut: the evidence names it whole), then the
# criterion (down to 30 cells), the evidence (20), the criterion again (24)…; the result and
# the weight never do. Criterion and evidence wrap, so nothing of them is cut: a row takes more
# lines instead.
CARD_SHRINK = (
    (CALL, 10),
    (CRITERION, 30),
    (EVIDENCE, 20),
    (CRITERION, 24),
    (CALL, 6),
    (EVIDENCE, 12),
)


class ScoreCardScreen(ModalScreen[None]):
    """Each criterion passed or failed with its evidence, the total and the verdict."""

    CSS_PATH = "trainer.tcss"
    BINDINGS = [
        Binding("m", "export('md')", "Export Markdown"),
        Binding("j", "export('json')", "Export JSON"),
        Binding("escape", "dismiss", "Close"),
    ]

    def __init__(self, card: ScoreCard, *, run_id: int, export_dir: Path) -> None:
        super().__init__()
        self.card = card
        self.run_id = run_id
        self.export_dir = export_dir
        # Criteria that all concern the same call(s) (a one-call scenario): the call is said
        # once above the table, not in a column repeating it on every row.
        calls = {r.calls for r in card.results}
        self.one_call = ", ".join(calls.pop()) if len(calls) == 1 else None

    def compose(self) -> ComposeResult:
        card = self.card
        verdict = "PASSED" if card.passed else "FAILED"
        head = Text()
        head.append(f"Run {self.run_id}: {card.scenario}", style="bold")
        head.append(f"   trainee {card.trainee}\n")
        head.append(
            f"{card.total:.1f} / 100 {verdict}", style="bold green" if card.passed else "bold red"
        )
        head.append(f"   (pass mark {card.pass_mark:g})", style="dim")
        if self.one_call:
            head.append(f"   call {self.one_call}", style="dim")
        yield Static(head, id="card-head")
        yield DataTable(id="card-criteria", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._fill)  # once the table has a width

    def on_resize(self, event: Resize) -> None:
        self.call_after_refresh(self._fill)  # once the table has its new width

    def _fill(self) -> None:
        """The criteria, in columns fitted to the table's width (rows as high as they need)."""
        table = self.query_one("#card-criteria", DataTable)
        if not table.size.width:
            return  # not laid out yet
        results = self.card.results
        wants = [
            (RESULT, 4),
            (CRITERION, max([len(CRITERION), *(cell_len(r.label) for r in results)])),
            (WEIGHT, len(WEIGHT)),
            (CALL, max([len(CALL), *(cell_len(call) for r in results for call in r.calls)])),
            (EVIDENCE, 0),
        ]
        if self.one_call is not None:
            wants.remove(wants[3])
        scrollbar = table.styles.scrollbar_size_vertical
        room = table.size.width - scrollbar - 2 * table.cell_padding * len(wants)
        widths = column_widths(wants, room, MIN_EVIDENCE, CARD_SHRINK)
        if [c.width for c in table.columns.values()] == widths:
            return
        row = table.cursor_row
        table.clear(columns=True)
        for (label, _), width in zip(wants, widths, strict=True):
            table.add_column(label, width=width, key=label or "result")
        for r in results:
            mark = Text("pass", style="green") if r.passed else Text("FAIL", style="bold red")
            cells = [mark, Text(r.label), Text(f"{r.weight:g}", justify="right")]
            if self.one_call is None:  # a call a line, cut: the evidence names them whole
                cells.append(Text("\n".join(r.calls), no_wrap=True, overflow="ellipsis"))
            cells.append(Text(r.evidence))
            # Criterion and evidence wrap: all of them, on as many lines as they need.
            table.add_row(*cells, key=r.id, height=None)
        if results:
            table.move_cursor(row=min(max(row, 0), len(results) - 1), animate=False)

    def action_export(self, fmt: str) -> None:
        try:
            path = export_scorecard(self.card, self.run_id, fmt, self.export_dir)
        except TrainingError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"written {path}", markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class HistoryScreen(ModalScreen[None]):
    """Every run of one trainee, newest first; Enter opens a run's score card."""

    CSS_PATH = "trainer.tcss"
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "open", "Score card")]

    def __init__(
        self, name: str, runs: list[RunRecord], training: TrainingService, *, export_dir: Path
    ) -> None:
        super().__init__()
        self.trainee_name = name
        self.runs = runs
        self.training = training
        self.export_dir = export_dir

    def compose(self) -> ComposeResult:
        scored = [r.total for r in self.runs if r.total is not None]
        summary = Text()
        summary.append(f"History: {self.trainee_name}", style="bold")
        if scored:
            passed = sum(1 for r in self.runs if r.passed)
            summary.append(
                f"   {len(scored)} scored, {passed} passed, "
                f"average {sum(scored) / len(scored):.1f}, best {max(scored):.1f}"
            )
        yield Label(summary, id="history-head")
        yield DataTable(id="history-runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history-runs", DataTable)
        table.add_columns("Run", "When", "Scenario", "Level", "Status", "Total", "Verdict")
        for r in self.runs:
            when = (r.started_at or r.created_at).astimezone().strftime("%Y-%m-%d %H:%M")
            total = f"{r.total:.1f}" if r.total is not None else "-"
            verdict = (
                Text("passed", style="green")
                if r.passed
                else Text("failed", style="red")
                if r.passed is False
                else Text("-")
            )
            table.add_row(
                str(r.id),
                when,
                Text(r.scenario_name),
                r.difficulty,
                r.status,
                total,
                verdict,
                key=str(r.id),
            )

    async def action_open(self) -> None:
        table = self.query_one("#history-runs", DataTable)
        if not self.runs:
            return
        run = self.runs[min(max(table.cursor_row, 0), len(self.runs) - 1)]
        card = await self.training.scorecard(run.id)
        if card is None:
            self.notify(f"run {run.id} is not scored", markup=False)
            return
        self.app.push_screen(ScoreCardScreen(card, run_id=run.id, export_dir=self.export_dir))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
