"""The trainer's screen: scenario library, trainees online, runs; start, watch, stop, score.

Pick a scenario (its description and difficulty under the list), pick a trainee whose console
is logged in, press `s`: the run is recorded and the simulator plays the scenario's scripted
calls to the trainee's phone. `w` watches the trainee's console live (a read-only replay of
their recording that stays at the live edge), `x` stops a run, `c` shows the score card
(scored by itself once the simulator is done and every call is wrapped up; `S` scores now),
`h` the trainee's history, `p` replays a run from its start. Everything customer-related shown
here is masked (console.services.training.masking); the screen only draws what the services return.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from console.screens.lifecycle import while_shown
from console.screens.reason import ReasonScreen
from console.screens.scorecard import HistoryScreen, ScoreCardScreen
from console.services.training.training import (
    FINISHED,
    RUNNING,
    RunRecord,
    ScenarioEntry,
    Trainee,
    TraineeJoin,
    TrainingError,
    TrainingLink,
    TrainingService,
)
from console.widgets.command import ShellCommand

POLL_SECONDS = 2.0


def run_result(run: RunRecord) -> Text:
    """A run's outcome cell: total and verdict once scored, else its state."""
    if run.total is not None:
        verdict = "passed" if run.passed else "failed"
        return Text(f"{run.total:.1f} {verdict}", style="green" if run.passed else "red")
    return Text(run.status, style="yellow" if run.status == RUNNING else "dim")


class TrainerScreen(Screen[None]):
    """Where a trainer runs scenarios and follows trainees."""

    CSS_PATH = "trainer.tcss"
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("w", "watch", "Watch"),
        Binding("x", "stop", "Stop"),
        Binding("c", "card", "Score card"),
        Binding("S", "score_now", "Score now", show=False),
        Binding("h", "history", "History"),
        Binding("p", "replay", "Replay"),
        Binding("U", "replay_unmasked", "Replay unmasked"),  # with the unmask permission
        Binding("r", "refresh", "Refresh"),
        Binding("y", "copy_join", "Copy trainee command"),  # the demo: how a trainee joins
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        training: TrainingService,
        link: TrainingLink,
        *,
        trainer_id: int | None,
        export_dir: Path,
        open_watch: Callable[[RunRecord, bool], Any] | None = None,
        open_unmasked: Callable[[RunRecord, str], Any] | None = None,
        hint: str = "",
        join: TraineeJoin | None = None,
    ) -> None:
        super().__init__()
        self.training = training
        self.link = link
        self.trainer_id = trainer_id
        self.export_dir = export_dir
        self.open_watch = open_watch  # (run, follow) -> push the read-only console view
        self.open_unmasked = open_unmasked  # (run, reason): only for a trainer who may unmask
        self.hint = hint or "A trainee appears here once their console is logged in."
        self.join = join  # the command a trainee runs to join (the demo), shown full width
        self.scenarios: list[ScenarioEntry] = []
        self.trainees: list[Trainee] = []
        self.runs: list[RunRecord] = []
        self._scoring: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Label("Training", id="trainer-title")
        with Horizontal(id="trainer-top"):
            with Vertical(id="scenario-pane"):
                yield Label("Scenarios", classes="section")
                yield DataTable(id="scenarios", cursor_type="row", zebra_stripes=True)
                yield Static("", id="scenario-about")
            with Vertical(id="trainee-pane"):
                yield Label("Trainees online", classes="section")
                yield DataTable(id="trainees", cursor_type="row", zebra_stripes=True)
                yield Static(Text(self.hint, style="dim"), id="trainee-hint")
        if self.join is not None:
            with Vertical(id="trainee-join"):
                yield Static(Text(self.join.before), id="join-before")
                yield ShellCommand(self.join.argv, id="join-command")
                after = f"{self.join.after} (y copies the command)".strip()
                yield Static(Text(after, style="dim"), id="join-after")
        yield Label("Runs", classes="section")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        scenarios = self.query_one("#scenarios", DataTable)
        scenarios.add_columns("Scenario", "Level", "Calls", "Criteria", "From")
        self.query_one("#trainees", DataTable).add_columns("Trainee", "Login", "Phone", "Since")
        self.query_one("#runs", DataTable).add_columns(
            "Run", "Scenario", "Trainee", "Started", "Result"
        )
        self.load_scenarios()
        self.action_refresh()
        self.set_interval(POLL_SECONDS, self._poll)

    # ------------------------------------------------------------ loading

    def on_screen_resume(self) -> None:
        self.load_scenarios()  # a replay may have made a scenario (x)

    def load_scenarios(self) -> None:
        self.scenarios = self.training.library.entries()
        table = self.query_one("#scenarios", DataTable)
        table.clear()
        for entry in self.scenarios:
            style = "" if entry.trainable else "dim"
            table.add_row(
                Text(entry.name, style=style),
                Text(entry.difficulty or "-", style=style),
                Text(str(entry.calls), style=style),
                Text(str(entry.criteria), style=style),
                Text(entry.source, style=style),
                key=entry.key,
            )
        self._describe()

    def action_refresh(self) -> None:
        self._refresh()

    @work(exclusive=True, group="trainer-refresh", exit_on_error=False)
    @while_shown
    async def _refresh(self) -> None:
        try:
            self.trainees = await self.training.trainees(exclude=self.trainer_id)
            self.runs = await self.training.runs()
        except Exception as exc:  # the database is away: say so, keep what is shown
            self.notify(f"could not load trainees and runs: {exc}", severity="error", markup=False)
            return
        trainees = self.query_one("#trainees", DataTable)
        keep = trainees.cursor_row
        trainees.clear()
        for t in self.trainees:
            since = t.since.astimezone().strftime("%H:%M")
            trainees.add_row(
                Text(t.name), Text(t.login), Text(t.interface), since, key=t.session_id
            )
        if self.trainees:
            trainees.move_cursor(row=min(keep, len(self.trainees) - 1))
        self.query_one("#trainee-hint").display = not self.trainees
        if self.join is not None:
            self.query_one("#trainee-join").display = not self.trainees
        self._draw_runs()

    def _draw_runs(self) -> None:
        table = self.query_one("#runs", DataTable)
        keep = table.cursor_row
        table.clear()
        for run in self.runs:
            started = (run.started_at or run.created_at).astimezone().strftime("%d %b %H:%M")
            table.add_row(
                str(run.id),
                Text(run.scenario_name),
                Text(run.trainee_name),
                started,
                run_result(run),
                key=str(run.id),
            )
        if self.runs:
            table.move_cursor(row=min(keep, len(self.runs) - 1))

    @on(DataTable.RowHighlighted, "#scenarios")
    def _describe(self) -> None:
        entry = self._scenario()
        about = self.query_one("#scenario-about", Static)
        if entry is None:
            about.update(Text(""))
            return
        text = Text()
        text.append(f"{entry.name} ", style="bold")
        text.append(f"({entry.difficulty or 'no level'})\n", style="italic")
        if entry.error:
            text.append(entry.error, style="red")
        else:
            text.append(entry.description or "no description")
            if not entry.trainable:
                text.append("\nNo scripted calls or no rubric: not for training.", style="dim")
            else:
                text.append(f"\nPass mark {entry.pass_mark:g}.", style="dim")
        about.update(text)

    # ------------------------------------------------------------ selection

    def _scenario(self) -> ScenarioEntry | None:
        table = self.query_one("#scenarios", DataTable)
        if not self.scenarios or table.cursor_row < 0:
            return None
        return self.scenarios[min(table.cursor_row, len(self.scenarios) - 1)]

    def _trainee(self) -> Trainee | None:
        table = self.query_one("#trainees", DataTable)
        if not self.trainees or table.cursor_row < 0:
            return None
        return self.trainees[min(table.cursor_row, len(self.trainees) - 1)]

    def _run(self) -> RunRecord | None:
        table = self.query_one("#runs", DataTable)
        if not self.runs or table.cursor_row < 0:
            return None
        return self.runs[min(table.cursor_row, len(self.runs) - 1)]

    # ------------------------------------------------------------ actions

    async def action_start(self) -> None:
        entry, trainee = self._scenario(), self._trainee()
        if entry is None or not entry.trainable:
            self.notify(
                "pick a scenario with scripted calls and a rubric",
                severity="warning",
                markup=False,
            )
            return
        if trainee is None:
            self.notify(
                "no trainee online: their console must be logged in",
                severity="warning",
                markup=False,
            )
            return
        try:
            run = await self.training.start(
                self.link, trainer_id=self.trainer_id, trainee=trainee, scenario_key=entry.key
            )
        except (TrainingError, OSError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.action_refresh()
            return
        self.notify(f"run {run.id}: {entry.name} started for {trainee.name}", markup=False)
        self.action_refresh()

    async def action_stop(self) -> None:
        run = self._run()
        if run is None:
            return
        try:
            await self.training.stop(self.link, run.id)
        except TrainingError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"run {run.id} stopped", markup=False)
        self.action_refresh()

    def action_watch(self) -> None:
        run = self._run()
        if run is not None and self.open_watch is not None:
            self.open_watch(run, True)

    def action_replay(self) -> None:
        run = self._run()
        if run is not None and self.open_watch is not None:
            self.open_watch(run, False)

    def action_replay_unmasked(self) -> None:
        run, open_unmasked = self._run(), self.open_unmasked
        if run is None or open_unmasked is None:
            return

        def asked(reason: str | None) -> None:
            if reason:
                open_unmasked(run, reason)

        self.app.push_screen(
            ReasonScreen(
                "Why do you need the customer data unmasked? (audit-logged)",
                placeholder="e.g. checking the caller was verified correctly",
            ),
            callback=asked,
        )

    def action_copy_join(self) -> None:
        if self.join is None:
            return
        # OSC 52: terminals that allow it put the exact command on the clipboard.
        self.app.copy_to_clipboard(shlex.join(self.join.argv))
        self.notify("the trainee's command is on the clipboard", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replay_unmasked":
            return self.open_unmasked is not None  # hidden without the permission
        if action == "copy_join":
            return self.join is not None
        return True

    async def action_card(self) -> None:
        run = self._run()
        if run is None:
            return
        try:
            card = await self.training.scorecard(run.id)
        except TrainingError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        if card is None:
            self.notify(f"run {run.id} is not scored yet (S scores it now)", markup=False)
            return
        self.app.push_screen(ScoreCardScreen(card, run_id=run.id, export_dir=self.export_dir))

    async def action_score_now(self) -> None:
        run = self._run()
        if run is not None:
            await self._score(run.id, show=True)

    async def action_history(self) -> None:
        trainee = self._trainee()
        run = self._run()
        agent_id, name = (
            (trainee.agent_id, trainee.name)
            if trainee
            else (run.trainee_id, run.trainee_name)
            if run
            else (None, "")
        )
        if agent_id is None:
            return
        runs = await self.training.history(agent_id)
        self.app.push_screen(HistoryScreen(name, runs, self.training, export_dir=self.export_dir))

    def action_close(self) -> None:
        self.app.pop_screen()

    # ------------------------------------------------------------ following runs

    async def _poll(self) -> None:
        running = [r for r in self.runs if r.status in (RUNNING, FINISHED)]
        for run in running:
            try:
                progress = await self.training.progress(run.id)
            except Exception:
                continue
            if progress.ready_to_score and run.id not in self._scoring:
                await self._score(run.id, show=False)
        self.action_refresh()  # trainees come and go; runs change

    async def _score(self, run_id: int, *, show: bool) -> None:
        self._scoring.add(run_id)
        try:
            card = await self.training.score(run_id)
        except TrainingError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        finally:
            self._scoring.discard(run_id)
        verdict = "passed" if card.passed else "failed"
        self.notify(f"run {run_id} scored: {card.total:.1f} ({verdict})", markup=False)
        self.action_refresh()
        if show:
            self.app.push_screen(ScoreCardScreen(card, run_id=run_id, export_dir=self.export_dir))
