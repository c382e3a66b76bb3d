"""QA of real calls: the evaluator's screen (calls by filter or sample, the worklist of drafts and
disputes) and the agent's "my evaluations" (acknowledge, dispute with a comment).

Everything comes from a `QaDesk` (console.services.quality.desk); customer data is masked
there, and untrusted text (names, comments) is drawn as `Text`, never markup. The evaluation
itself is `qa_evaluate.EvaluationScreen`, the calibration `qa_calibration.CalibrationScreen`,
the report `qa_report.QaReportScreen`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from console.screens.lifecycle import while_shown
from console.screens.reason import ReasonScreen
from console.screens.worklist import restore_cursor
from console.services.quality.desk import QaDesk
from console.services.quality.forms import Form
from console.services.quality.records import EvaluationRecord, QaError
from console.services.quality.sampling import FILTER_HELP, CallCandidate, parse_filter
from console.services.text import clean_text

if TYPE_CHECKING:
    from textual.app import App

    from console.services.desk.session import AgentSession


def row_key(table: DataTable[Any]) -> str | None:
    """The key of the highlighted row (None: empty table)."""
    if table.row_count == 0 or not table.is_valid_row_index(table.cursor_row):
        return None
    value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return str(value) if value is not None else None


def score_text(record: EvaluationRecord) -> str:
    if record.score is None:
        return "-"
    return f"{record.score:.1f}" + (" auto-fail" if record.auto_failed else "")


def plain(value: object, limit: int = 200) -> Text:
    """Untrusted text as one literal line."""
    return Text(clean_text(str(value), single_line=True, max_length=limit))


class QaScreen(Screen[None]):
    """The evaluator's QA screen: calls to evaluate, and their own worklist."""

    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("e", "evaluate", "Evaluate"),
        Binding("c", "calibrate", "Calibrate"),
        Binding("k", "calibration", "Spread"),
        Binding("f", "next_form", "Form"),
        Binding("w", "focus_worklist", "Worklist"),
        Binding("R", "report", "Report"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, desk: QaDesk) -> None:
        super().__init__()
        self.desk = desk
        self.forms: list[Form] = []
        self.form_index = 0
        self.calls: dict[str, CallCandidate] = {}
        self.work: dict[str, EvaluationRecord] = {}
        self.form_errors: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="qa-title", markup=False)
        yield Input(placeholder=FILTER_HELP, id="qa-filter", value="days:7 n:2")
        yield Label("Calls", id="qa-calls-label", classes="qa-section")
        yield DataTable(id="qa-calls", cursor_type="row", zebra_stripes=True)
        yield Label("My worklist: disputes to re-review, then drafts", classes="qa-section")
        yield DataTable(id="qa-work", cursor_type="row")
        yield Static(id="qa-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        calls = self.query_one("#qa-calls", DataTable)
        calls.add_columns("call", "when", "agent", "queue", "duration", "disposition", "")
        work_table = self.query_one("#qa-work", DataTable)
        work_table.add_columns("evaluation", "call", "agent", "status", "score", "note")
        library = self.desk.library()
        self.forms = library.forms()
        self.form_errors = library.errors()
        self._title()
        self.query_one("#qa-calls", DataTable).focus()
        self.load_calls(self.query_one("#qa-filter", Input).value)
        self.load_worklist()

    def on_screen_resume(self) -> None:
        self.load_worklist()
        self.load_calls(self.query_one("#qa-filter", Input).value)

    @property
    def form(self) -> Form | None:
        return self.forms[self.form_index % len(self.forms)] if self.forms else None

    def _title(self) -> None:
        form = self.form
        parts: list[str | tuple[str, str] | Content] = [
            ("QA ", "bold"),
            f"· {self.desk.viewer.display_name} · form ",
            (form.label if form else "none", "bold"),
            f" ({form.title})" if form else "",
            ("  customer data masked", "$text-muted"),
        ]
        self.query_one("#qa-title", Static).update(Content.assemble(*parts))
        if self.form_errors:
            self._say(f"{len(self.form_errors)} form file(s) not loaded: {self.form_errors[0]}")

    def _say(self, message: str) -> None:
        self.query_one("#qa-status", Static).update(
            Content(clean_text(message, single_line=True, max_length=400))
        )

    # ---------------------------------------------------------------- loading

    @on(Input.Submitted, "#qa-filter")
    def _filter(self, event: Input.Submitted) -> None:
        self.load_calls(event.value)
        self.query_one("#qa-calls", DataTable).focus()

    @work(exclusive=True, group="qa-calls", exit_on_error=False)
    @while_shown
    async def load_calls(self, text: str) -> None:
        try:
            wanted = parse_filter(text, self.desk.clock(), self.desk.tz)
            calls = await self.desk.calls(wanted)
        except QaError as exc:
            self._say(str(exc))
            return
        table = self.query_one("#qa-calls", DataTable)
        chosen, index = row_key(table), table.cursor_row  # the cursor stays on its call
        table.clear()
        self.calls = {}
        for c in calls:
            key = str(c.interaction_id)
            self.calls[key] = c
            table.add_row(
                Text(key),
                Text(f"{c.offered_at.astimezone(self.desk.tz):%a %d %b %H:%M}"),
                plain(c.agent_name, 40),
                plain(c.queue, 30),
                Text(f"{c.seconds // 60}m{c.seconds % 60:02d}s"),
                plain(c.disposition, 30),
                Text("evaluated" if c.evaluated else ""),
                key=key,
            )
        restore_cursor(table, chosen, index)
        self.query_one("#qa-calls-label", Label).update(f"Calls ({len(calls)})")

    @work(exclusive=True, group="qa-work", exit_on_error=False)
    @while_shown
    async def load_worklist(self) -> None:
        try:
            records = await self.desk.worklist()
        except QaError as exc:
            self._say(str(exc))
            return
        table = self.query_one("#qa-work", DataTable)
        chosen, index = row_key(table), table.cursor_row
        table.clear()
        self.work = {}
        for r in records:
            key = str(r.id)
            self.work[key] = r
            note = r.dispute_comment if r.status == "disputed" else ""
            table.add_row(
                Text(key),
                Text(str(r.interaction_id)),
                plain(r.agent_name, 40),
                Text(r.status, style="bold" if r.status == "disputed" else ""),
                Text(score_text(r)),
                plain(note, 80),
                key=key,
            )
        restore_cursor(table, chosen, index)

    # ---------------------------------------------------------------- actions

    def action_focus_filter(self) -> None:
        self.query_one("#qa-filter", Input).focus()

    def action_focus_worklist(self) -> None:
        self.query_one("#qa-work", DataTable).focus()

    def action_next_form(self) -> None:
        if self.forms:
            self.form_index = (self.form_index + 1) % len(self.forms)
            self._title()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected, "#qa-calls")
    def _call_chosen(self) -> None:
        self.action_evaluate()

    @on(DataTable.RowSelected, "#qa-work")
    def _work_chosen(self) -> None:
        key = row_key(self.query_one("#qa-work", DataTable))
        if key in self.work:
            self.run_worker(self._open(self.work[key]), exit_on_error=False)

    def action_evaluate(self) -> None:
        self._start(calibration=False)

    def action_calibrate(self) -> None:
        self._start(calibration=True)

    def _start(self, *, calibration: bool) -> None:
        key = row_key(self.query_one("#qa-calls", DataTable))
        form = self.form
        if key is None or key not in self.calls:
            self._say("pick a call first")
            return
        if form is None:
            self._say("no form loads: see `callconsole qa forms list`")
            return
        self.run_worker(self._begin(int(key), form, calibration), exit_on_error=False)

    async def _begin(self, interaction_id: int, form: Form, calibration: bool) -> None:
        try:
            record = await self.desk.start(interaction_id, form, calibration=calibration)
        except QaError as exc:
            self._say(str(exc))
            return
        await self._open(record)

    async def _open(self, record: EvaluationRecord) -> None:
        from console.screens.qa_evaluate import EvaluationScreen

        try:
            form = await self.desk.form_of(record)
            call = await self.desk.call_view(record.interaction_id)
        except QaError as exc:
            self._say(str(exc))
            return
        await self.app.push_screen(EvaluationScreen(self.desk, record, form, call))

    def action_calibration(self) -> None:
        key = row_key(self.query_one("#qa-calls", DataTable))
        if key is None:
            self._say("pick a call first (filter with `all` to list evaluated calls)")
            return
        self.run_worker(self._calibration(int(key)), exit_on_error=False)

    async def _calibration(self, interaction_id: int) -> None:
        from console.screens.qa_calibration import CalibrationScreen

        try:
            calibration = await self.desk.calibration(interaction_id)
        except QaError as exc:
            self._say(str(exc))
            return
        await self.app.push_screen(CalibrationScreen(calibration))

    def action_report(self) -> None:
        from console.screens.qa_report import QaReportScreen

        self.app.push_screen(QaReportScreen(self.desk))


class MyEvaluationsScreen(Screen[None]):
    """An agent's own evaluations: read them, acknowledge, or dispute with a comment."""

    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("A", "acknowledge", "Acknowledge"),
        Binding("D", "dispute", "Dispute"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, desk: QaDesk) -> None:
        super().__init__()
        self.desk = desk
        self.records: dict[str, EvaluationRecord] = {}
        self.forms: dict[int, Form] = {}

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("My evaluations", "bold"), id="qa-title")
        yield DataTable(id="qa-mine", cursor_type="row", zebra_stripes=True)
        yield Static(id="qa-detail", markup=False)
        yield Static(id="qa-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#qa-mine", DataTable)
        table.add_columns("evaluation", "call", "evaluated", "form", "score", "status")
        table.focus()
        self.load()

    @work(exclusive=True, group="qa-mine", exit_on_error=False)
    @while_shown
    async def load(self) -> None:
        try:
            records = await self.desk.mine()
            for r in records:
                if r.form_id not in self.forms:
                    self.forms[r.form_id] = await self.desk.form_of(r)
        except QaError as exc:
            self._say(str(exc))
            return
        table = self.query_one("#qa-mine", DataTable)
        keep = row_key(table)
        table.clear()
        self.records = {}
        for r in records:
            key = str(r.id)
            self.records[key] = r
            table.add_row(
                Text(key),
                Text(f"{r.call_at.astimezone(self.desk.tz):%a %d %b %H:%M}"),
                Text(f"{r.submitted_at.astimezone(self.desk.tz):%d %b}" if r.submitted_at else ""),
                Text(r.form_label),
                Text(score_text(r)),
                Text(r.status),
                key=key,
            )
        if keep in self.records:
            table.move_cursor(row=list(self.records).index(keep))
        self._detail()

    def _say(self, message: str) -> None:
        self.query_one("#qa-status", Static).update(
            Content(clean_text(message, single_line=True, max_length=400))
        )

    def _selected(self) -> EvaluationRecord | None:
        key = row_key(self.query_one("#qa-mine", DataTable))
        return self.records.get(key) if key else None

    @on(DataTable.RowHighlighted, "#qa-mine")
    def _detail(self) -> None:
        record = self._selected()
        detail = self.query_one("#qa-detail", Static)
        if record is None:
            detail.update(Content("No evaluations yet."))
            return
        detail.update(evaluation_text(record, self.forms.get(record.form_id)))

    def action_acknowledge(self) -> None:
        record = self._selected()
        if record is not None:
            self.run_worker(self._change(self.desk.acknowledge(record.id)), exit_on_error=False)

    def action_dispute(self) -> None:
        record = self._selected()
        if record is None:
            return

        def asked(comment: str | None) -> None:
            if comment:
                self.run_worker(
                    self._change(self.desk.dispute(record.id, comment)), exit_on_error=False
                )

        self.app.push_screen(
            ReasonScreen(
                "What do you disagree with? (goes back to the evaluator)",
                placeholder="e.g. I did verify the caller at 0:40",
            ),
            callback=asked,
        )

    async def _change(self, change: Any) -> None:
        try:
            done = await change
        except QaError as exc:
            self._say(str(exc))
            return
        self._say(f"evaluation {done.id}: {done.status}")
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)


def evaluation_text(record: EvaluationRecord, form: Form | None) -> Text:
    """An evaluation in words: score, each answer with its comment, the comments exchanged.
    Every piece of text is literal."""
    out = Text()
    out.append(f"{record.form_label} · by {record.evaluator_name} · ", style="bold")
    out.append(f"score {score_text(record)}")
    if record.passed is not None:
        out.append(" pass" if record.passed else " below the pass mark")
    out.append("\n")
    questions = form.questions if form is not None else ()
    for q in questions:
        answer = record.answer_of(q.id)
        shown = "-" if answer is None or answer.answer is None else str(answer.answer)
        out.append(f"  {shown:>4}  ", style="bold")
        out.append(clean_text(q.text, single_line=True, max_length=120))
        if answer is not None and answer.comment:
            out.append(f"  — {clean_text(answer.comment, single_line=True, max_length=300)}")
        out.append("\n")
    for label, body in (
        ("Evaluator", record.comment),
        ("Your dispute", record.dispute_comment),
        ("Re-review", record.review_comment),
    ):
        if body:
            out.append(f"{label}: ", style="bold")
            out.append(clean_text(body, max_length=2000) + "\n")
    return out


def open_qa(app: App[None], runtime: AgentSession, what: str) -> None:
    """Push a QA screen for the logged-in agent: `evaluate` (evaluators), `report`
    (evaluators) or `mine` (anyone)."""
    from console.paths import data_dir
    from console.screens.qa_report import QaReportScreen

    if runtime.agent is None:
        return
    desk = QaDesk(
        runtime.db,
        runtime.agent,
        clock=runtime.clock,
        region=runtime.ctx.region,
        forms_dir=data_dir() / "qa_forms",
        tz=runtime.tz or datetime.now().astimezone().tzinfo or UTC,
    )
    if what == "mine":
        app.push_screen(MyEvaluationsScreen(desk))
    elif not desk.is_evaluator:
        app.notify(
            "QA evaluation is for supervisors and trainers", severity="warning", markup=False
        )
    elif what == "report":
        app.push_screen(QaReportScreen(desk))
    else:
        app.push_screen(QaScreen(desk))
