"""The survey dialog: one question at a time, branching, wrong answers refused in one line,
closed and resumed where it stopped."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, Static

from console.screens.survey import SurveyResult, SurveyScreen
from console.services.outbound.scripts import ScriptFields, load_script

SCRIPT = load_script(
    "s.toml",
    """\
[[questions]]
id = "happy"
text = "Are you happy with us, {first_name}?"
kind = "yes_no"
next = { no = "why" }
then = "score"

[[questions]]
id = "why"
text = "Why not?"

[[questions]]
id = "score"
text = "From 1 to 10?"
kind = "scale"
low = 1
high = 10
""",
)
FIELDS = ScriptFields("Ann Lee", "Ann", "gold", "en", "", "Sam", "Survey")


class Host(App[None]):
    def __init__(self, screen: SurveyScreen) -> None:
        super().__init__()
        self.survey = screen
        self.results: list[SurveyResult] = []

    def on_mount(self) -> None:
        self.push_screen(self.survey, self.results.append)


def text_of(screen: SurveyScreen, widget_id: str) -> str:
    return str(screen.query_one(widget_id, Static).render())


async def answer(pilot: object, screen: SurveyScreen, value: str) -> None:
    box = screen.query_one(Input)
    box.value = value
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_a_survey_branches_refuses_and_finishes() -> None:
    screen = SurveyScreen(SCRIPT, FIELDS)
    app = Host(screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert text_of(screen, "#survey-question") == "Are you happy with us, Ann?"
        await answer(pilot, screen, "perhaps")
        assert "Not an answer to this question: y / n" in text_of(screen, "#survey-problem")
        await answer(pilot, screen, "n")
        assert text_of(screen, "#survey-question") == "Why not?"
        await answer(pilot, screen, "Too slow to answer the phone")
        assert text_of(screen, "#survey-question") == "From 1 to 10?"
        await answer(pilot, screen, "11")
        assert "1–10" in text_of(screen, "#survey-problem")
        await answer(pilot, screen, "7")
    assert app.results == [
        SurveyResult({"happy": "no", "why": "Too slow to answer the phone", "score": "7"}, True)
    ]


async def test_closing_keeps_the_answers_and_reopening_resumes() -> None:
    first = SurveyScreen(SCRIPT, FIELDS)
    app = Host(first)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await answer(pilot, first, "yes")
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [SurveyResult({"happy": "yes"}, False)]

    again = SurveyScreen(SCRIPT, FIELDS, app.results[0].answers)
    app2 = Host(again)
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert text_of(again, "#survey-question") == "From 1 to 10?"  # "yes" skips "why"
        await answer(pilot, again, "9")
    assert app2.results == [SurveyResult({"happy": "yes", "score": "9"}, True)]
