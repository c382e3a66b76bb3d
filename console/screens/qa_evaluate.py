"""Evaluating one call: the call (facts, notes, transcript — masked) beside the form.

Keyboard-first: ↑/↓ pick a question; `y` / `n` / `a` answer yes / no / N/A, a digit a scale
answer (`0` is 10); `m` comments on the question, `o` on the whole call; `p` opens the call's
recorded session in the replay view (masked; Esc comes back here); Ctrl+S submits a draft,
Ctrl+R closes a dispute with a reply. Every answer is saved as it is given (a closed console
loses nothing); the score shows as soon as every question is answered.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from console.screens.qa import evaluation_text, row_key, score_text
from console.screens.reason import ReasonScreen
from console.services.errors import ServiceError
from console.services.quality.callview import CallView
from console.services.quality.desk import QaDesk
from console.services.quality.forms import NA, NO, YES, Form, Question
from console.services.quality.records import DISPUTED, DRAFT, EvaluationRecord, QaError
from console.services.quality.scoring import missing_answers, score
from console.services.text import clean_text
from console.widgets.format import duration
from console.widgets.transcript import TranscriptLog


class EvaluationScreen(Screen[None]):
    """One evaluation; editable by its evaluator while a draft or disputed."""

    CSS_PATH = "qa.tcss"
    BINDINGS = [
        Binding("y", "answer('yes')", "Yes"),
        Binding("n", "answer('no')", "No"),
        Binding("a", "answer('na')", "N/A"),
        *(Binding(str(d), f"scale({d or 10})", str(d), show=False) for d in range(10)),
        Binding("m", "question_comment", "Comment"),
        Binding("o", "overall_comment", "Overall"),
        Binding("p", "replay", "Replay"),
        Binding("U", "replay_unmasked", "Replay unmasked"),  # with the unmask permission
        Binding("ctrl+s", "submit", "Submit"),
        Binding("ctrl+r", "review", "Close dispute"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, desk: QaDesk, record: EvaluationRecord, form: Form, call: CallView) -> None:
        super().__init__()
        self.desk = desk
        self.record = record
        self.form = form
        self.call = call

    @property
    def editable(self) -> bool:
        return self.record.evaluator_id == self.desk.viewer.id and self.record.status in (
            DRAFT,
            DISPUTED,
        )

    def compose(self) -> ComposeResult:
        yield Static(id="qe-title", markup=False)
        with Horizontal(id="qe-main"):
            with Vertical(id="qe-call"):
                yield Static(id="qe-facts", markup=False)
                yield Label("Transcript", classes="qa-section")
                yield TranscriptLog(id="qe-transcript")
            with Vertical(id="qe-form"):
                yield DataTable(id="qe-questions", cursor_type="row")
                yield Static(id="qe-detail", markup=False)
        yield Static(id="qa-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#qe-questions", DataTable)
        table.add_columns("section", "question", "answer", "")
        for section in self.form.sections:
            for q in section.questions:
                table.add_row(
                    Text(section.title),
                    Text(q.text),
                    Text(""),
                    Text(""),
                    key=q.id,
                )
        log = self.query_one(TranscriptLog)
        log.min_width = 10
        for speaker, text in self.call.transcript:
            log.add_line(speaker, text)
        if not self.call.transcript:
            log.add_line("–", "no transcript was recorded for this call")
        self._facts()
        self._redraw()
        table.focus()

    # ---------------------------------------------------------------- drawing

    def _facts(self) -> None:
        c = self.call
        facts = Text()
        facts.append(f"Call {c.interaction_id}", style="bold")
        facts.append(f"  {c.offered_at.astimezone(self.desk.tz):%a %d %b %Y %H:%M}\n")
        for label, value in (
            ("Agent", c.agent_name),
            ("Queue", c.queue),
            ("Customer", c.customer),
            ("Caller", c.caller),
            ("Talk", duration(c.talk_seconds)),
            ("Hold", duration(c.hold_seconds)),
            ("Wrap-up", duration(c.wrap_seconds)),
            ("Disposition", c.disposition),
        ):
            facts.append(f"{label}: ", style="bold")
            facts.append(clean_text(value, single_line=True, max_length=120) + "\n")
        facts.append("Notes: ", style="bold")
        facts.append(clean_text(c.notes, max_length=1500) or "–")
        if not c.recorded:
            facts.append("\n(no recording to replay)", style="dim")
        self.query_one("#qe-facts", Static).update(facts)

    def _redraw(self) -> None:
        r = self.record
        mode = "" if self.editable else " (read-only)"
        self.query_one("#qe-title", Static).update(
            Content.assemble(
                ("Evaluation ", "bold"),
                f"{r.id} · {r.kind} · {r.form_label} · {r.status}{mode} · agent ",
                clean_text(r.agent_name, single_line=True, max_length=60),
                ("  customer data masked", "$text-muted"),
            )
        )
        table = self.query_one("#qe-questions", DataTable)
        for q in self.form.questions:
            answer = r.answer_of(q.id)
            shown = "" if answer is None or answer.answer is None else str(answer.answer)
            style = "bold red" if q.auto_fail and shown == NO else "bold"
            table.update_cell(q.id, table.ordered_columns[2].key, Text(shown, style=style))
            mark = "✎" if answer is not None and answer.comment else ""
            table.update_cell(q.id, table.ordered_columns[3].key, Text(mark))
        self._detail()

    def _question(self) -> Question | None:
        key = row_key(self.query_one("#qe-questions", DataTable))
        return self.form.question(key) if key else None

    @on(DataTable.RowHighlighted, "#qe-questions")
    def _detail(self) -> None:
        q = self._question()
        out = Text()
        if q is not None:
            out.append(q.text + "\n", style="bold")
            weight = (
                "auto-fail: a no makes the evaluation 0" if q.auto_fail else f"weight {q.weight:g}"
            )
            out.append(f"answer {q.choices()} · {weight}\n", style="dim")
            if q.guide:
                out.append(q.guide + "\n", style="italic")
            answer = self.record.answer_of(q.id)
            if answer is not None and answer.comment:
                out.append("comment: ", style="bold")
                out.append(clean_text(answer.comment, max_length=1000) + "\n")
        answers = self.record.answer_map()
        left = missing_answers(self.form, answers)
        if left:
            out.append(f"{len(left)} of {len(self.form.questions)} questions left", style="dim")
        else:
            result = score(self.form, answers)
            out.append(f"Score {result.total:.1f}", style="bold")
            if result.auto_failed:
                out.append(
                    f" (auto-fail: {', '.join(result.failed_items)}; {result.raw:.1f} before)"
                )
            out.append(
                " pass" if result.passed else f" below the pass mark {self.form.pass_mark:g}"
            )
        if self.record.status not in (DRAFT,):
            out.append("\n")
            out.append_text(evaluation_text(self.record, None))
        self.query_one("#qe-detail", Static).update(out)

    def _say(self, message: str) -> None:
        self.query_one("#qa-status", Static).update(
            Content(clean_text(message, single_line=True, max_length=400))
        )

    # ---------------------------------------------------------------- answering

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("answer", "scale", "question_comment", "overall_comment"):
            return self.editable
        if action == "submit":
            return self.editable and self.record.status == DRAFT
        if action == "review":
            return self.editable and self.record.status == DISPUTED
        if action == "replay_unmasked":
            return self.desk.viewer.can_unmask
        return True

    def action_answer(self, value: str) -> None:
        self._give({YES: YES, NO: NO, "na": NA}[value])

    def action_scale(self, value: int) -> None:
        self._give(value)

    def _give(self, answer: object) -> None:
        q = self._question()
        if q is None:
            return
        if not q.accepts(answer):
            self._say(f"{q.id}: answer {q.choices()}")
            return
        self.run_worker(self._save({q.id: answer}, advance=True), exit_on_error=False)

    async def _save(
        self,
        answers: dict[str, object],
        *,
        comments: dict[str, str] | None = None,
        comment: str | None = None,
        advance: bool = False,
    ) -> None:
        try:
            self.record = await self.desk.save(
                self.record.id, answers, comments=comments, comment=comment
            )
        except QaError as exc:
            self._say(str(exc))
            return
        self._say("saved")
        self._redraw()
        if advance:
            self.query_one("#qe-questions", DataTable).action_cursor_down()

    def action_question_comment(self) -> None:
        q = self._question()
        if q is None:
            return

        def asked(text: str | None) -> None:
            if text:
                self.run_worker(self._save({}, comments={q.id: text}), exit_on_error=False)

        self.app.push_screen(ReasonScreen(f"Comment on: {q.text}"), callback=asked)

    def action_overall_comment(self) -> None:
        def asked(text: str | None) -> None:
            if text:
                self.run_worker(self._save({}, comment=text), exit_on_error=False)

        self.app.push_screen(
            ReasonScreen("Comment on the call (the agent reads it)"), callback=asked
        )

    async def action_submit(self) -> None:
        try:
            self.record = await self.desk.submit(self.record.id)
        except QaError as exc:
            self._say(str(exc))
            return
        self._say(f"submitted: score {score_text(self.record)}")
        self._redraw()
        self.refresh_bindings()

    def action_review(self) -> None:
        def asked(reply: str | None) -> None:
            if reply:
                self.run_worker(self._review(reply), exit_on_error=False)

        self.app.push_screen(
            ReasonScreen("Your reply to the agent's dispute (they read it)"), callback=asked
        )

    async def _review(self, reply: str) -> None:
        try:
            self.record = await self.desk.review(self.record.id, reply)
        except QaError as exc:
            self._say(str(exc))
            return
        self._say(f"dispute closed: score {score_text(self.record)}")
        self._redraw()
        self.refresh_bindings()

    async def action_replay(self) -> None:
        await self._replay("")

    def action_replay_unmasked(self) -> None:
        def asked(reason: str | None) -> None:
            if reason:
                self.run_worker(self._replay(reason), exit_on_error=False)

        self.app.push_screen(
            ReasonScreen("Why do you need the customer data unmasked? (audit-logged)"),
            callback=asked,
        )

    async def _replay(self, unmask_reason: str) -> None:
        from console.screens.replay import ReplayScreen

        call = self.call
        try:
            replay = await self.desk.replay(
                call.linkedid, interaction_id=call.interaction_id, unmask_reason=unmask_reason
            )
        except ServiceError as exc:  # no recording; unmask refused
            self._say(str(exc))
            return
        title = f"Call {call.interaction_id} (QA{', UNMASKED' if unmask_reason else ''})"
        await self.app.push_screen(ReplayScreen(replay, title=title, play=True))

    def action_close(self) -> None:
        self.dismiss(None)
