"""A trainee's score card and run history (read-only; export as Markdown or JSON)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from console.services.scoring import ScoreCard
from console.services.training import RunRecord, TrainingError, TrainingService, export_scorecard


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

    def compose(self) -> ComposeResult:
        card = self.card
        verdict = "PASSED" if card.passed else "FAILED"
        head = Text()
        head.append(f"Run {self.run_id}: {card.scenario}", style="bold")
        head.append(f"   trainee {card.trainee}   ")
        head.append(
            f"{card.total:.1f} / 100 {verdict}", style="bold green" if card.passed else "bold red"
        )
        head.append(f"   (pass mark {card.pass_mark:g})", style="dim")
        yield Static(head, id="card-head")
        yield DataTable(id="card-criteria", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#card-criteria", DataTable)
        table.add_columns("", "Criterion", "Call", "Weight", "Evidence")
        for r in self.card.results:
            mark = Text("pass", style="green") if r.passed else Text("FAIL", style="bold red")
            table.add_row(
                mark,
                Text(r.label),
                Text(", ".join(r.calls)),
                f"{r.weight:g}",
                Text(r.evidence),
                key=r.id,
            )

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
