"""An agent's own figures on the call bar, and missed rings on the supervisor's agent grid:
the real simulator over a socket, a real SQLite CRM, Pilot (issue 15.2, 15.8)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Select

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.agent import AgentScreen
from console.screens.agent_grid import COLUMNS, AgentGridScreen
from console.screens.wrapup import WrapUpScreen
from console.services.context import ServiceContext
from console.services.desk.session import AgentSession
from console.widgets.call_bar import CallBar
from console.widgets.format import duration
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, one_customer_number, until

AGENT = "PJSIP/1001"  # the seeded demo agent (id 1)
SUPERVISOR_ID, SUPERVISOR = 2, "PJSIP/1002"  # seeded Sam Supervisor
# "support" rings a member for as long as it takes; "quick" gives up on a member after 2 s
# (Asterisk's queue `timeout`) and does not ring them again for 5 minutes (`retry`).
SCENARIO = """
name = "figures-tests"
[[queues]]
name = "support"
extension = "601"
timeout = 300
[[queues]]
name = "quick"
extension = "602"
timeout = 2
retry = 300
"""
# For the supervisor, whose CRM queues are support (and tier2, which this PBX lacks).
QUICK_SUPPORT = """
name = "grid-missed-tests"
[[queues]]
name = "support"
extension = "601"
timeout = 2
retry = 300
"""


def agent_app(db: Database, port: int) -> CallConsoleApp:
    cti = AmiClient("127.0.0.1", port, "agent", "s3cret", tracker=CallTracker(AGENT), timings=FAST)
    runtime = AgentSession(
        ctx=ServiceContext(db=db),
        cti=cti,
        agent_id=1,
        interface=AGENT,
        member_name="Demo Agent",
        queues=("support", "quick"),
    )
    return CallConsoleApp(runtime=runtime)


def rows(path: Path, ids: list[int]) -> list[tuple[str, int, int, int]]:
    con = sqlite3.connect(path)
    try:
        marks = ",".join("?" * len(ids))
        found = con.execute(
            f"SELECT status, talk_seconds, hold_seconds, wrap_seconds FROM interactions "
            f"WHERE id IN ({marks}) ORDER BY id",
            ids,
        ).fetchall()
    finally:
        con.close()
    return [(str(s), int(t), int(h), int(w)) for s, t, h, w in found]


def bar_lines(screen: AgentScreen) -> list[str]:
    return str(screen.query_one(CallBar).render()).split("\n")


async def take_call(
    app: CallConsoleApp, pilot: Pilot[None], ring: Callable[[], None], *, hold: bool
) -> int:
    """Ring, answer, talk a second (and hold one), hang up, write the wrap-up for a second,
    save it: the call's interaction id."""
    screen = app.agent_screen
    assert screen is not None
    ring()
    await until(lambda: screen.desk.state.phase == "ringing")
    await until(lambda: bool(screen.desk.state.call and screen.desk.state.call.interaction_id))
    call = screen.desk.state.call
    assert call is not None and call.interaction_id is not None
    await pilot.press("f2")
    await until(lambda: screen.desk.state.phase == "talking")
    await pilot.pause(1.1)
    if hold:
        await pilot.press("f3")
        await until(lambda: screen.desk.state.phase == "held")
        await pilot.pause(1.1)
        await pilot.press("f3")
        await until(lambda: screen.desk.state.phase == "talking")
    await pilot.press("f5")
    await until(lambda: isinstance(app.screen, WrapUpScreen))
    wrap = app.screen
    assert isinstance(wrap, WrapUpScreen)
    wrap.query_one("#disposition", Select).value = "resolved"
    await pilot.pause(1.1)
    await pilot.press("ctrl+s")
    await until(lambda: app.screen is screen and screen.desk.state.phase == "idle")
    await until(lambda: screen.bar_model.agent_ready)  # ready again after the wrap-up
    return call.interaction_id


async def test_the_bar_shows_my_calls_aht_and_missed_rings_today(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx(SCENARIO) as pbx:
        app = agent_app(crm, pbx.port)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.bar_model.agent_state != "Not ready")
            await until(lambda: screen.bar_model.today is not None)
            start = screen.bar_model.today
            assert start is not None and (start.handled, start.missed) == (0, 0)
            assert "Today 0 calls · AHT – · 0 missed" in bar_lines(screen)[1]
            await pilot.press("f6")
            await until(lambda: screen.bar_model.agent_ready)
            await until(lambda: bar_lines(screen)[1].startswith(" Available "))

            calls = [
                await take_call(app, pilot, lambda: pbx.ring(number, "Ann"), hold=False),
                await take_call(app, pilot, lambda: pbx.ring(number, "Ann"), hold=True),
            ]
            # A ring nobody answers: the queue gives up on the agent after 2 s.
            pbx.ring(number, "Ann", queue="quick")
            await until(lambda: screen.desk.state.phase == "ringing")
            await until(lambda: screen.missed == 1, within=15)
            await until(lambda: screen.bar_model.agent_state == "Not ready: Missed")

            # The figures: read after each wrap-up and the miss, from the rows.
            await until(lambda: bool(screen.bar_model.today and screen.bar_model.today.missed))
            today = screen.bar_model.today
            assert today is not None
            saved = rows(crm.sqlite_path, calls)
            assert [status for status, *_ in saved] == ["completed", "completed"]
            assert saved[1][2] >= 1  # the second call was held
            handle = sum(talk + hold + wrap for _, talk, hold, wrap in saved)
            assert (today.handled, today.missed) == (2, 1)
            assert today.aht == handle / 2
            line = bar_lines(screen)[1]
            assert re.match(r" Not ready: Missed (<1m|\d+m)  │ ", line)  # and time in it
            assert line.endswith(f"Today 2 calls · AHT {duration(handle / 2)} · 1 missed")
            assert len(line) <= 78  # inside the bar's padding at 80 columns


async def test_a_ring_that_times_out_shows_in_the_grids_missed_column(crm: Database) -> None:
    """The supervisor's own phone rings out (they joined their queue with F6): the grid shows
    1 in their Missed column, as many as the PBX sent AgentRingNoAnswer for them; a new
    console, whose board never saw that event, shows it too (it reads the interaction log)."""
    assert crm.sqlite_path is not None
    number, _ = one_customer_number(crm.sqlite_path)
    async with running_pbx(QUICK_SUPPORT) as pbx:
        unanswered: list[str] = []

        def listen(name: str, fields: list[tuple[str, str]]) -> None:
            if name == "AgentRingNoAnswer":
                unanswered.extend(v for k, v in fields if k == "Interface")

        pbx.engine.add_listener(listen)
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        supervisor = await context.agents.get(SUPERVISOR_ID)
        assert supervisor is not None

        async def open_grid(app: CallConsoleApp, pilot: Pilot[None]) -> AgentGridScreen:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await pilot.press("f6")  # a supervisor joins their queues to take calls
            await until(lambda: screen.bar_model.agent_ready)
            await pilot.press("g")
            await until(lambda: isinstance(app.screen, AgentGridScreen))
            grid = app.screen
            assert isinstance(grid, AgentGridScreen)
            await until(lambda: grid.roster_loads >= 1 and SUPERVISOR in grid.rows)
            return grid

        def missed_cell(grid: AgentGridScreen) -> str:
            column = [label for label, _ in COLUMNS].index("Missed")
            return str(grid.query_one(DataTable).get_row(SUPERVISOR)[column])

        app = CallConsoleApp(runtime=await context.session_for(supervisor))
        async with app.run_test(size=(130, 36)) as pilot:
            grid = await open_grid(app, pilot)
            assert missed_cell(grid) == "0"
            pbx.ring(number, "Ann")  # rings the supervisor's phone for 2 s, then gives up
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.missed == 1, within=15)
            grid.load_roster()  # the grid reads it every 15 s; now, for the test
            await until(lambda: missed_cell(grid) == "1")
            assert unanswered == [SUPERVISOR]  # the PBX's own count agrees
            assert grid.rows[SUPERVISOR].missed == 1

        # A supervisor console started afresh: its board never saw the AgentRingNoAnswer.
        again = CallConsoleApp(runtime=await context.session_for(supervisor))
        async with again.run_test(size=(130, 36)) as pilot:
            grid = await open_grid(again, pilot)
            assert again.runtime is not None and again.runtime.live is not None
            await until(lambda: missed_cell(grid) == "1")
            assert unanswered == [SUPERVISOR]
