"""The report screen with Pilot: the rows as the CLI shows them, sparklines over the hours,
regrouping without a reload, moving to the previous period, and hostile names shown as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.text import Text
from textual.app import App
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Sparkline, Static

from callkit.metrics import MetricDefinitions, Outcome, QueueCall
from console.screens.report import ReportScreen
from console.services.supervision.reports import GroupBy, LocalTime, ReportData, ReportService
from tests.ui.conftest import until

DAY = datetime(2026, 11, 1, tzinfo=UTC)
DEFS = MetricDefinitions()
HOSTILE = "[bold red]Sales[/] \x1b[31m"
SIZE = (120, 36)


def at(hours: float) -> float:
    return (DAY + timedelta(hours=hours)).timestamp()


class ReportApp(App[None]):
    """A bare app that opens the screen under test."""

    def __init__(self, screen: ReportScreen) -> None:
        super().__init__()
        self.report_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.report_screen)


def _data() -> ReportData:
    calls = (
        QueueCall(
            "c1", HOSTILE, at(9.2), Outcome.ANSWERED, wait=5, agent="Ann", completed=True, talk=120
        ),
        QueueCall("c2", HOSTILE, at(9.5), Outcome.ABANDONED, wait=30),
        QueueCall("c3", "support", at(14.1), Outcome.ANSWERED, wait=40, agent="Bob"),
    )
    return ReportData(at(0), at(24), LocalTime(UTC), calls, (), None)


def _keys(table: DataTable[Text]) -> list[str]:
    return [table.get_cell_at(Coordinate(row, 0)).plain for row in range(table.row_count)]


async def test_rows_plots_and_regrouping() -> None:
    screen = ReportScreen(_data(), DEFS)
    async with ReportApp(screen).run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = screen.query_one(DataTable)
        # The hostile queue name is shown as plain text (cleaned of escapes), never as markup.
        assert _keys(table) == ["[bold red]Sales[/]", "support", "Total"]
        assert table.get_cell_at(Coordinate(0, 1)).plain == "2"  # offered
        assert table.get_cell_at(Coordinate(0, 6)).plain == "50.0%"  # SL: 1 of 2 within 20 s
        offered = screen.query_one("#plot-0", Sparkline)
        assert len(offered.data or []) == 24  # one point per hour of the day
        assert (offered.data or [])[9] == 2 and (offered.data or [])[14] == 1
        assert "Offered 3" in str(screen.query_one("#plot-label-0").render())
        assert DEFS.describe() in str(screen.query_one("#report-definitions", Static).render())

        await pilot.press("g")  # by agent: the calls each agent answered
        assert _keys(table) == ["Ann", "Bob", "Total"]
        assert table.get_cell_at(Coordinate(2, 1)).plain == "3"  # the total keeps every call
        await pilot.press("g")
        assert _keys(table) == ["2026-11-01", "Total"]
        await pilot.press("g")
        assert len(_keys(table)) == 25 and _keys(table)[9] == "2026-11-01 09:00"


async def test_a_source_is_read_and_the_period_moves(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text(
        f"{int(at(-14))}|c1|support|NONE|ENTERQUEUE||\n"  # 31 October, 10:00
        f"{int(at(-14)) + 3}|c1|support|NONE|ABANDON|1|1|3\n"
    )
    service = ReportService(None, log, DEFS, local=LocalTime(UTC))
    screen = ReportScreen(service, DEFS, start=DAY, end=DAY + timedelta(days=1))
    async with ReportApp(screen).run_test(size=SIZE) as pilot:
        await until(lambda: screen.loads == 1)
        table = screen.query_one(DataTable)
        assert _keys(table) == ["Total"]  # nothing on 1 November
        await pilot.press("left_square_bracket")
        await until(lambda: screen.loads == 2)
        assert screen.start == DAY - timedelta(days=1)
        assert _keys(table) == ["support", "Total"]
        assert table.get_cell_at(Coordinate(0, 3)).plain == "1"  # abandoned (a short one)
        title = str(screen.query_one("#report-title", Static).render())
        assert "2026-10-31 00:00 → 2026-11-01 00:00 by queue" in title


async def test_a_missing_queue_log_is_said_not_raised() -> None:
    service = ReportService(None, None, DEFS, local=LocalTime(UTC))
    screen = ReportScreen(service, DEFS, start=DAY, end=DAY + timedelta(days=1))
    async with ReportApp(screen).run_test(size=SIZE) as pilot:
        title = screen.query_one("#report-title", Static)
        await until(lambda: "no queue_log" in str(title.render()))
        await pilot.press("r")  # still usable
        assert screen.is_current
        assert GroupBy.QUEUE is screen.group_by
