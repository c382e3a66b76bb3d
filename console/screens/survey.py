"""A campaign call's survey: one question at a time, branching on the answers.

The agent reads the question (the customer's fields filled in as plain text), types the
customer's answer and presses Enter; an answer the question does not take is said in one line
and the question stays. Esc closes the survey keeping the answers so far; opening it again
goes on from the next unanswered question. Dismisses with every answer given (question id →
answer) and whether the survey reached its end.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from console.services.outbound.scripts import CampaignScript, Question, ScriptFields, render


@dataclass(frozen=True, slots=True)
class SurveyResult:
    answers: dict[str, str]
    finished: bool


def hint(question: Question) -> str:
    """What the question takes, e.g. "y / n", "1–10", "Phone · Email · Letter"."""
    if question.kind == "yes_no":
        return "y / n"
    if question.kind == "scale":
        return f"{question.low}–{question.high}"
    if question.kind == "choice":
        return " · ".join(question.choices)
    return "a number" if question.kind == "number" else "free text"


def resume_at(script: CampaignScript, answers: dict[str, str]) -> str | None:
    """The first question on the path the answers so far take that has no answer yet (None:
    the survey is done)."""
    qid = script.first()
    seen: set[str] = set()
    while qid is not None and qid in answers and qid not in seen:
        seen.add(qid)
        qid = script.next_after(qid, answers[qid])
    return qid


class SurveyScreen(ModalScreen[SurveyResult]):
    DEFAULT_CSS = """
    SurveyScreen { align: center middle; }
    #survey { width: 76; height: auto; max-height: 100%; border: thick $accent;
              background: $surface; padding: 0 1; }
    #survey-hint, #survey-progress { color: $text-muted; }
    #survey-problem { color: $text-warning; height: auto; }
    """
    BINDINGS = [Binding("escape", "close", "Close (answers kept)")]

    def __init__(
        self,
        script: CampaignScript,
        fields: ScriptFields,
        answers: dict[str, str] | None = None,
        title: str = "Survey",
    ) -> None:
        super().__init__()
        self.script = script
        self.fields = fields
        self.answers: dict[str, str] = dict(answers or {})
        self.title_text = title
        self.current = resume_at(script, self.answers)

    def compose(self) -> ComposeResult:
        with Vertical(id="survey"):
            yield Label(Content.styled(self.title_text, "bold"))
            yield Static("", id="survey-progress", markup=False)
            yield Static("", id="survey-question", markup=False)
            yield Static("", id="survey-hint", markup=False)
            yield Input(id="survey-answer", placeholder="the customer's answer, then Enter")
            yield Static("", id="survey-problem", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.current is None:
            self.dismiss(SurveyResult(self.answers, True))
            return
        self._show()

    def _show(self) -> None:
        assert self.current is not None
        question = self.script.question(self.current)
        number = len(self.answers) + 1
        self.query_one("#survey-progress", Static).update(
            Content(f"question {number} of at most {len(self.script.questions)}")
        )
        self.query_one("#survey-question", Static).update(
            Content.styled(render(question.text, self.fields), "bold")
        )
        self.query_one("#survey-hint", Static).update(Content(hint(question)))
        self.query_one("#survey-problem", Static).update(Content(""))
        answer = self.query_one(Input)
        answer.value = ""
        answer.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.current is None:
            return
        question = self.script.question(self.current)
        value = question.check(event.value)
        if value is None:
            self.query_one("#survey-problem", Static).update(
                Content(f"Not an answer to this question: {hint(question)}")
            )
            return
        self.answers[self.current] = value
        self.current = self.script.next_after(self.current, value)
        if self.current is None:
            self.dismiss(SurveyResult(self.answers, True))
        else:
            self._show()

    def action_close(self) -> None:
        self.dismiss(SurveyResult(self.answers, False))
