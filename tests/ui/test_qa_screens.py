"""The QA screens with Pilot, keyboard only: an evaluator picks a sampled call, answers the form
beside the masked transcript and submits; the agent disputes it with a comment in "my
evaluations"; it is back on the evaluator's worklist, who closes it; a second evaluator's
calibration shows the spread; the QA report screen regroups."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.app import App
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input

from console.db import Database
from console.screens.qa import MyEvaluationsScreen, QaScreen
from console.screens.qa_calibration import CalibrationScreen
from console.screens.qa_evaluate import EvaluationScreen
from console.screens.qa_report import QaReportScreen
from console.services.quality.desk import QaDesk
from console.services.quality.evaluations import QaService
from console.widgets.transcript import TranscriptLog
from tests.quality_support import CUSTOMER, T0, build_world, record_transcript
from tests.ui.conftest import until

SIZE = (140, 44)
NOW = T0 + timedelta(days=1)  # the next day


class Host(App[None]):
    def __init__(self, screen: Screen[None]) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


def cells(table: DataTable[Text], column: int) -> list[str]:
    return [table.get_cell_at(Coordinate(r, column)).plain for r in range(table.row_count)]


# The standard form's answers, in form order, as keys: greeting y, identity y, listening 4,
# empathy N/A, hold N/A, resolved 5, notes y, disclosure y, closing y.
KEYS = ["y", "y", "4", "a", "a", "5", "y", "y", "y"]


async def test_evaluate_dispute_review_and_calibrate_by_keyboard(db: Database) -> None:
    world = await build_world(db)
    ann, lead, second = world.agents[0], world.lead, world.second
    first_call = world.calls[0]
    await record_transcript(db, ann.id, "l0-0", [f"Hello, {CUSTOMER} here, about my invoice."])
    desk = QaDesk(db, lead, clock=lambda: NOW)
    screen = QaScreen(desk)
    async with Host(screen).run_test(size=SIZE) as pilot:
        calls = screen.query_one("#qa-calls", DataTable)
        await until(lambda: calls.row_count > 0)
        # The sample "days:7 n:2": yesterday's calls, two per agent.
        assert set(cells(calls, 2)) == {"Ann", "Bob", "Cat"}
        at = cells(calls, 0).index(str(first_call))
        calls.move_cursor(row=at)
        await pilot.press("e")
        await until(lambda: isinstance(pilot.app.screen, EvaluationScreen))
        evaluation = pilot.app.screen
        assert isinstance(evaluation, EvaluationScreen)
        log = evaluation.query_one(TranscriptLog)
        shown = "\n".join(strip.text for strip in log.lines)
        assert "invoice" in shown and "Grace" not in shown and "Hopper" not in shown
        for key in KEYS:
            await pilot.press(key)
            await pilot.pause(0.05)
        await until(lambda: len(evaluation.record.answer_map()) == 9)
        await pilot.press("ctrl+s")
        await until(lambda: evaluation.record.status == "submitted")
        # 85 possible (empathy 10, hold 5 N/A); listening 4 of 1-5 loses 15/4.
        assert evaluation.record.score == round(100 * (85 - 15 / 4) / 85, 2)
        await pilot.press("escape")
        await until(lambda: pilot.app.screen is screen)
        # The sample is read again: the evaluated call leaves it, the cursor keeps its place
        # (it does not jump back to the top of the list).
        await until(lambda: str(first_call) not in cells(calls, 0))
        assert calls.cursor_row == min(at, calls.row_count - 1)

    # The agent disputes in "my evaluations".
    mine = MyEvaluationsScreen(QaDesk(db, ann, clock=lambda: NOW))
    async with Host(mine).run_test(size=SIZE) as pilot:
        table = mine.query_one("#qa-mine", DataTable)
        await until(lambda: table.row_count == 1)
        await pilot.press("D")
        await until(lambda: pilot.app.screen.query(Input))
        await pilot.press(*"I verified at 0:40")
        await pilot.press("enter")
        await until(lambda: cells(table, 5) == ["disputed"])

    # Back on the evaluator's worklist, first; re-reviewed with a reply.
    screen = QaScreen(desk)
    async with Host(screen).run_test(size=SIZE) as pilot:
        work = screen.query_one("#qa-work", DataTable)
        await until(lambda: work.row_count == 1)
        assert cells(work, 3) == ["disputed"] and cells(work, 5) == ["I verified at 0:40"]
        await pilot.press("w", "enter")
        await until(lambda: isinstance(pilot.app.screen, EvaluationScreen))
        await pilot.press("ctrl+r")
        await until(lambda: pilot.app.screen.query(Input))
        await pilot.press(*"Agreed, thanks", "enter")
        evaluation = pilot.app.screen
        assert isinstance(evaluation, EvaluationScreen)
        await until(lambda: evaluation.record.status == "reviewed")

    # A second evaluator scores the same call as a calibration; the spread shows.
    qa = QaService(db, clock=lambda: NOW)
    form = await qa.form(evaluation.record.form_id)
    other = await qa.start(first_call, form, second, calibration=True)
    answers = evaluation.record.answer_map() | {"listening": 2, "empathy": 5}
    await qa.save(other.id, second, answers)
    await qa.submit(other.id, second)
    screen = QaScreen(QaDesk(db, second, clock=lambda: NOW))
    async with Host(screen).run_test(size=SIZE) as pilot:
        calls = screen.query_one("#qa-calls", DataTable)
        filter_input = screen.query_one("#qa-filter", Input)
        filter_input.value = "days:7 agent:ann all"
        filter_input.focus()
        await pilot.press("enter")
        await until(lambda: str(first_call) in cells(calls, 0))
        calls.move_cursor(row=cells(calls, 0).index(str(first_call)))
        await pilot.press("k")
        await until(lambda: isinstance(pilot.app.screen, CalibrationScreen))
        table = pilot.app.screen.query_one(DataTable)
        rows = {r[0]: r for r in zip(*(cells(table, c) for c in range(7)), strict=True)}
        listening = rows["Listened without interrupting and restated the need"]
        assert listening[1:4] == ("4", "2", "50.0")  # Sue 4, Tim 2: spread 50 of 100
        assert rows["Score"][0] == "Score"

    report = QaReportScreen(QaDesk(db, lead, clock=lambda: NOW + timedelta(minutes=1)))
    async with Host(report).run_test(size=SIZE) as pilot:
        table = report.query_one(DataTable)
        await until(lambda: table.row_count == 2)
        assert cells(table, 0) == ["Ann", "Total"]
        await pilot.press("g")
        await until(lambda: cells(table, 0) == ["red", "Total"])


async def test_the_command_palette_opens_qa_for_evaluators_and_agents(db: Database) -> None:
    from console.app import CallConsoleApp
    from console.cti.ami import AmiClient
    from console.cti.tracker import CallTracker
    from console.services.context import ServiceContext
    from console.services.desk.session import AgentSession

    world = await build_world(db)

    def app_for(who: object) -> CallConsoleApp:
        runtime = AgentSession(
            ctx=ServiceContext(db=db, clock=lambda: NOW),
            cti=AmiClient("127.0.0.1", 1, "agent", "x", tracker=CallTracker("PJSIP/1004")),
            agent_id=who.id,  # type: ignore[attr-defined]
            interface="PJSIP/1004",
            member_name="x",
            queues=("support",),
            agent=who,  # type: ignore[arg-type]
        )
        return CallConsoleApp(runtime=runtime, connect=False)

    app = app_for(world.lead)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"QA: evaluate calls", "QA: report", "QA: my evaluations"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"QA: evaluate")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, QaScreen))
    app = app_for(world.agents[0])
    async with app.run_test(size=SIZE):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "QA: my evaluations" in titles and "QA: evaluate calls" not in titles
