"""The staffing panel and the alert log, driven with Pilot over synthetic board snapshots."""

from __future__ import annotations

from datetime import datetime

from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Input, Select, Static

from callkit.metrics import Outcome, QueueCall
from console.screens.alerts import AlertsScreen, AlertTable
from console.screens.staffing import StaffingScreen
from console.services.supervision.alerts import AlertLog
from console.services.supervision.live_types import AgentActivity, BoardSnapshot
from console.services.supervision.queue_targets import TargetBook
from tests.ui.conftest import until
from tests.unit.test_alerts import agent_live, board, queue_live

NOW = 1_800_000_000.0
SIZE = (110, 34)


class Host(App[None]):
    """An empty app that opens one screen (the real app wires these the same way)."""

    def __init__(self, screen: Screen[None]) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


def snapshot() -> BoardSnapshot:
    """Twelve agents staffed in support, two queues on the board."""
    agents = tuple(
        agent_live(f"agent{i}", AgentActivity.AVAILABLE, NOW - 60, queues=("support",))
        for i in range(12)
    )
    return board(NOW, (queue_live("support"), queue_live("billing")), agents)


def calls() -> list[QueueCall]:
    """The textbook half hour: 100 calls, each handled in 180 s, nobody abandoning."""
    return [
        QueueCall(
            callid=f"c{i}",
            queue="support",
            entered_at=NOW - 1790 + i * 17,
            outcome=Outcome.ANSWERED,
            wait=5.0,
            completed=True,
            talk=150.0,
            wrap=30.0,
            ended_at=NOW - 1700 + i * 10,
        )
        for i in range(100)
    ]


def text_of(screen: Screen[None], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_staffing_what_if_updates_the_figures_as_you_type() -> None:
    screen = StaffingScreen(snapshot, TargetBook(), recent_calls=calls, queue="support")
    async with Host(screen).run_test(size=SIZE) as pilot:
        await until(lambda: screen.view is not None)
        assert screen.query_one("#staffing-queue", Select).value == "support"
        assert screen.queue == "support" and "support" in text_of(screen, "#staffing-title")
        assert "100 calls/h" not in text_of(screen, "#staffing-measured")
        assert "200 calls/h · AHT 3:00" in text_of(screen, "#staffing-measured")
        assert "12 agents staffed" in text_of(screen, "#staffing-measured")
        results = text_of(screen, "#staffing-results")
        # Erlang C at 12 agents on 10 erlangs: SL 64.0 %, P(wait) 44.9 %; 14 needed for 80/20.
        assert "At 12 agents (staffed now)" in results and "64.0%" in results
        assert "44.9%" in results
        assert screen.query_one("#whatif-agents", Input).has_focus

        await pilot.press("1", "4")
        await pilot.pause()
        assert screen.view is not None and screen.view.effective.agents == 14
        results = text_of(screen, "#staffing-results")
        assert "At 14 agents (what-if)" in results and "88.8%" in results

        await pilot.press("tab", "4", "0")  # calls/hour: 40 → 2 erlangs on 14 agents
        await pilot.pause()
        assert screen.view is not None and screen.view.traffic == 2.0
        assert "= 2.00 erlangs" in text_of(screen, "#staffing-results")

        # Erlang A appears once a patience is given (none was measured: nobody abandoned).
        assert "Erlang A needs the callers' patience" in text_of(screen, "#staffing-results")
        await pilot.press("tab", "tab", "1", "2", "0")
        await pilot.pause()
        assert screen.view is not None and screen.view.at_staffing_a is not None
        assert "Erlang A needs" not in text_of(screen, "#staffing-results")

        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.view is not None and screen.view.what_if.empty
        assert "At 12 agents (staffed now)" in text_of(screen, "#staffing-results")

        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen


async def test_staffing_explains_a_missing_aht_and_switches_queues() -> None:
    screen = StaffingScreen(snapshot, TargetBook(), recent_calls=lambda: [], queue="billing")
    async with Host(screen).run_test(size=SIZE) as pilot:
        await until(lambda: screen.measured is not None)
        assert screen.view is None and "no AHT yet" in screen.problem
        await pilot.press("tab", "tab", "9", "0")  # the AHT field
        await pilot.pause()
        assert screen.view is not None and screen.view.effective.aht == 90.0
        assert screen.problem == ""
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "backspace", "backspace")
        await pilot.pause()
        assert "window must be 1 to 1440 minutes (using 30)" in screen.problem
        assert screen.view is not None  # the figures stay, on the last good window
        await pilot.press("1", "5")
        await pilot.pause()
        assert screen.minutes == 15 and screen.problem == ""
        # Back to the queue picker with the keyboard, and choose "All queues".
        screen.query_one("#staffing-queue", Select).focus()
        await pilot.press("enter", "home", "enter")
        await pilot.pause()
        assert screen.queue is None and screen.measured is not None
        assert screen.measured.agents == 12
        assert "all queues" in text_of(screen, "#staffing-title")


async def test_alert_screen_shows_open_alerts_first_then_history() -> None:
    log = AlertLog()
    evil = "[bold red]x[/"  # a queue name that would break (or style) markup
    log.evaluate(
        board(
            NOW - 300,
            (queue_live(evil, longest_wait=200.0), queue_live("billing", longest_wait=300.0)),
            (agent_live("ann", AgentActivity.NOT_READY, NOW - 2000, reason="lunch"),),
        ),
        TargetBook(),
    )
    screen = AlertsScreen(log, clock=lambda: NOW, refresh_every=0.05)
    async with Host(screen).run_test(size=SIZE) as pilot:
        opened = screen.query_one("#alerts-open", AlertTable)
        history = screen.query_one("#alerts-history", AlertTable)
        await until(lambda: opened.row_count == 3)
        assert history.row_count == 0
        rows = [[cell.plain for cell in opened.get_row_at(i)] for i in range(3)]
        names = {row[3] for row in rows}
        assert names == {evil, "billing", "ann"}  # the name is shown literally
        evil_row = next(row for row in rows if row[3] == evil)
        assert evil_row[1:3] == ["5:00", "Longest wait"]  # open for 5 minutes
        assert evil_row[4:7] == ["3:20", "3:20", "2:00"]
        ann = next(row for row in rows if row[3] == "ann")
        assert ann[2] == "Not ready too long" and ann[7] == "support; lunch"
        assert "3 open" in text_of(screen, "#alerts-title")

        # The evil queue's caller is answered: its alert moves to the history.
        log.evaluate(
            board(
                NOW,
                (queue_live(evil, longest_wait=0.0), queue_live("billing", longest_wait=300.0)),
                (agent_live("ann", AgentActivity.NOT_READY, NOW - 2000, reason="lunch"),),
            ),
            TargetBook(),
        )
        await until(lambda: history.row_count == 1 and opened.row_count == 2)
        past = [cell.plain for cell in history.get_row_at(0)]
        raised = datetime.fromtimestamp(NOW - 300).strftime("%H:%M:%S")
        cleared = datetime.fromtimestamp(NOW).strftime("%H:%M:%S")
        assert past[:5] == [raised, cleared, "5:00", "Longest wait", evil]
        assert isinstance(opened, DataTable) and opened.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen
