"""The wallboard and the agent grid under bot traffic: Pilot against the real simulator on a free
port, and snapshots of a deterministic (virtual-time) run. Review snapshot changes with
`pytest tests/ui/test_wallboard.py --snapshot-update` and look at the SVGs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Digits, OptionList, Select

from callkit.ami_frames import Message
from callkit.scenario import parse_scenario
from console.app import CallConsoleApp, WallboardApp
from console.db import Database, open_database
from console.factory import ConsoleContext, PbxAddress, build_live
from console.models import FollowUp
from console.models.enums import Role
from console.screens.agent import AgentScreen
from console.screens.agent_grid import ALL, AgentGridScreen, PickQueueScreen
from console.screens.not_ready import NotReadyScreen
from console.screens.team import PickAgentScreen
from console.screens.wallboard import WallboardScreen
from console.services.context import ServiceContext
from console.services.crm.agents import AgentIdentity
from console.services.desk.session import AgentSession
from console.services.supervision.live import LiveViews
from console.services.supervision.live_types import AgentActivity
from console.services.training.session_log import SessionLog
from console.widgets.queue_tile import BigQueueTile, QueueTile
from telephony_sim.clock import VirtualClock
from telephony_sim.engine import Engine
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, until
from tests.ui.terminal import Notifications

SUPERVISOR, ANTHONY = 2, 5  # seeded: Sam Supervisor; Anthony Nicholson (PJSIP/1005)
SAM = AgentIdentity(
    id=SUPERVISOR,
    login="super",
    display_name="Sam Supervisor",
    role=Role.SUPERVISOR,
    team="Red",
    extension="1002",
    interface="PJSIP/1002",
    member_name="Sam Supervisor",
    skills=(),
)
# Three queues with steady traffic, four pool bots and two bots on CRM agents' phones (so the
# grid has names, teams and follow-ups from the database). Busy enough that callers wait.
# About 3.6 erlangs on 6 agents.
BOTS = """
name = "wallboard-tests"
epoch = 1793610000
start = "09:00"

[[queues]]
name = "support"
extension = "601"
strategy = "rrmemory"
timeout = 15
retry = 2
wrapuptime = 5
[queues.traffic]
rate = 80
handle_time = { dist = "exponential", mean = 90 }
patience = { dist = "exponential", mean = 120 }

[[queues]]
name = "billing"
extension = "602"
strategy = "rrmemory"
timeout = 15
retry = 2
wrapuptime = 5
[queues.traffic]
rate = 30
handle_time = { dist = "exponential", mean = 120 }
patience = { dist = "exponential", mean = 150 }

[[queues]]
name = "sales"
extension = "600"
strategy = "rrmemory"
timeout = 15
retry = 2
[queues.traffic]
rate = 15
handle_time = { dist = "exponential", mean = 150 }
patience = { dist = "exponential", mean = 200 }

[[bot_pools]]
count = 4
first = 3001
queues = ["support", "billing", "sales"]
[bot_pools.bot]
answer_delay = { dist = "uniform", low = 1, high = 4 }
hold_share = 0.2
hold_time = 20
break_share = 0.05
break_time = 120

[[agents]]
interface = "PJSIP/1004"
name = "Agent 1004"
kind = "bot"
queues = ["support", "billing"]
[agents.bot]
answer_delay = 2

[[agents]]
interface = "PJSIP/1005"
name = "Agent 1005"
kind = "bot"
queues = ["support"]
wrapuptime = 30
[agents.bot]
answer_delay = 3
break_share = 0.3
break_time = 300
"""


# More queues than an 80x24 (or a 120x40) board shows at once; in name order.
MANY_QUEUE_NAMES = (
    "billing", "claims", "collections", "complaints", "enterprise", "helpdesk", "loyalty",
    "onboarding", "orders", "renewals", "retention", "sales", "support", "vip",
)  # fmt: skip


def many_queues(names: tuple[str, ...] = MANY_QUEUE_NAMES) -> str:
    """A scenario with a queue per name, uneven traffic, and one pool of bots serving all: some
    queues keep up, the busiest do not (red on the board)."""
    queues = "".join(
        f"""
[[queues]]
name = "{name}"
extension = "{700 + n}"
strategy = "rrmemory"
timeout = 15
retry = 2
[queues.traffic]
rate = {4 + 5 * (n % 4)}
handle_time = {{ dist = "exponential", mean = 120 }}
patience = {{ dist = "exponential", mean = 120 }}
"""
        for n, name in enumerate(names)
    )
    return f"""
name = "many-queues"
epoch = 1793610000
start = "09:00"
{queues}
[[bot_pools]]
count = 9
first = 3001
queues = {list(names)!r}
[bot_pools.bot]
answer_delay = {{ dist = "uniform", low = 1, high = 4 }}
""".replace("'", '"')


def board_after(minutes: float, scenario: str = BOTS) -> tuple[LiveViews, Engine]:
    """A live runtime whose board saw ``minutes`` of `scenario`'s traffic (virtual time, seed
    5): the same frames every run, so the snapshots are stable."""
    engine = Engine(parse_scenario(scenario, "wallboard-tests.toml"), seed=5, clock=VirtualClock())
    now = {"t": float(engine.pbx.epoch)}
    live = build_live(
        PbxAddress("127.0.0.1", 1, "agent", "x"),
        clock=lambda: datetime.fromtimestamp(now["t"], UTC),
        tz=UTC,
    )

    def listen(name: str, fields: list[tuple[str, str]]) -> None:
        now["t"] = engine.pbx.epoch_now()
        live.board.feed(Message((("Event", name), *fields)))

    # Members joined before the board listened: QueueStatus tells it, as after a connect.
    items = [Message((("Event", kind), *f)) for kind, f in engine.queue_status_items()]
    live.board.reconcile(items, at=now["t"])
    engine.add_listener(listen)
    engine.run_virtual(minutes * 60)
    now["t"] = engine.pbx.epoch_now()
    return live, engine


def wallboard_of(app: WallboardApp | CallConsoleApp) -> WallboardScreen:
    screen = app.screen
    assert isinstance(screen, WallboardScreen)
    return screen


def grid_of(app: CallConsoleApp) -> AgentGridScreen:
    screen = app.screen
    assert isinstance(screen, AgentGridScreen)
    return screen


# ---------------------------------------------------------------------- snapshots


def test_snapshot_wallboard(snap_compare: Any) -> None:
    live, _ = board_after(45)
    app = WallboardApp(live, connect=False)
    assert snap_compare(app, terminal_size=(150, 40))


def test_snapshot_wallboard_large(snap_compare: Any) -> None:
    live, _ = board_after(45)
    app = WallboardApp(live, large=True, connect=False)
    assert snap_compare(app, terminal_size=(150, 40))


def supervisor_runtime(db: Database, live: LiveViews) -> AgentSession:
    now = datetime.fromtimestamp(live.clock(), UTC)

    def clock() -> datetime:
        return now

    return AgentSession(
        ctx=ServiceContext(db=db, clock=clock),
        cti=live.cti,
        agent_id=SUPERVISOR,
        interface="PJSIP/1002",
        member_name="Sam Supervisor",
        queues=("support",),
        live=live,
    )


def open_grid(app: CallConsoleApp) -> Callable[[Pilot[None]], Any]:
    async def run_before(pilot: Pilot[None]) -> None:
        await until(lambda: isinstance(app.screen, AgentScreen))
        await pilot.press("g")
        await until(lambda: isinstance(app.screen, AgentGridScreen) and app.screen.roster_loads)
        await pilot.pause()

    return run_before


def test_snapshot_agent_grid(snap_compare: Any, crm_copy: Path) -> None:
    live, _ = board_after(45)
    db = open_database(f"sqlite:///{crm_copy}")
    runtime = supervisor_runtime(db, live)
    runtime.agent = SAM
    app = CallConsoleApp(runtime=runtime, connect=False)
    assert snap_compare(app, terminal_size=(130, 36), run_before=open_grid(app))


async def test_the_grid_filters_and_sorts_and_keeps_the_table_in_that_order(
    crm_copy: Path,
) -> None:
    live, engine = board_after(45)
    db = open_database(f"sqlite:///{crm_copy}")
    try:
        runtime = supervisor_runtime(db, live)
        runtime.agent = SAM
        app = CallConsoleApp(runtime=runtime, connect=False)
        async with app.run_test(size=(130, 36)) as pilot:
            await open_grid(app)(pilot)
            grid = grid_of(app)
            table = grid.query_one(DataTable)

            def shown() -> list[str]:
                return [str(row.key.value) for row in table.ordered_rows]

            async def choose(select_id: str, value: str) -> None:
                grid.query_one(f"#{select_id}", Select).value = value
                await pilot.pause()

            assert shown() == list(grid.rows) and len(shown()) == 6
            await choose("grid-sort", "name")
            names = [grid.rows[key].name.lower() for key in shown()]
            assert names == sorted(names) and shown() == list(grid.rows)
            await choose("grid-team", "Green")
            assert shown() == ["PJSIP/1005"]  # Anthony Nicholson, team Green in the CRM
            await choose("grid-team", ALL)
            await choose("grid-queue", "sales")
            assert shown() and all("sales" in grid.rows[k].agent.queues for k in shown())
            assert "PJSIP/1004" not in shown()  # support and billing only
            await choose("grid-queue", ALL)
            await choose("grid-state", "on call")
            assert all(grid.rows[k].agent.activity is AgentActivity.ON_CALL for k in shown())
            assert len(shown()) == 5
            # Time passes: the board moves on; the table follows in place, still sorted.
            await choose("grid-state", ALL)
            await choose("grid-sort", "time")
            for _ in range(3):
                engine.run_virtual(60)
                grid.redraw()
                now = live.clock()
                spent = [grid.rows[k].in_state(now) for k in shown()]
                assert spent == sorted(spent, reverse=True) and shown() == list(grid.rows)
    finally:
        await db.dispose()


# ---------------------------------------------------------------------- live, over AMI


async def test_the_wallboard_follows_bot_traffic_over_ami() -> None:
    async with running_pbx(BOTS, speed=60) as pbx:
        live = build_live(PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST)
        app = WallboardApp(live)
        async with app.run_test(size=(150, 40)) as pilot:
            screen = wallboard_of(app)
            await until(lambda: live.feed.reconciles >= 1 and len(screen.tiles) == 3)
            assert [tile.queue for tile in screen.tiles.values()] == ["billing", "sales", "support"]

            def offered() -> int:
                return sum(q.figures.offered for q in live.board.snapshot().queues)

            await until(lambda: offered() >= 5, within=10)
            # What the board counted is what the simulator did (both see the same calls).
            for name in ("support", "billing", "sales"):
                await until(
                    lambda n=name: next(
                        q.figures.offered == pbx.engine.figures(n).offered
                        and q.figures.answered == pbx.engine.figures(n).answered
                        for q in live.board.snapshot().queues
                        if q.queue == n
                    ),
                    within=5,
                )
            # The tiles draw the last snapshot the screen took.
            redraws = screen.redraws
            await until(lambda: screen.redraws > redraws)
            assert screen.snapshot is not None
            for q in screen.snapshot.queues:
                tile = screen.tiles[q.queue]
                assert isinstance(tile, QueueTile)
                counts = str(tile.query_one("#qt-counts").render())
                assert f"Off {q.summary.offered}" in counts
                agents = str(tile.query_one("#qt-agents").render())
                assert agents.startswith(f"Agents {q.logged_in}")
            assert screen.snapshot.queues[2].logged_in == 6  # 4 pool bots and 2 CRM agents
            title = str(screen.query_one("#wb-title").render())
            assert "PBX connected" in title and "3 queues" in title

            await pilot.press("l")  # large-screen mode
            await until(lambda: all(isinstance(t, BigQueueTile) for t in screen.tiles.values()))
            await until(lambda: screen.snapshot is not None and bool(screen.query(Digits)))
            await pilot.pause(0.6)
            tile = screen.tiles["support"]
            support = next(q for q in screen.snapshot.queues if q.queue == "support")
            assert tile.query_one("#bq-waiting Digits", Digits).value == str(support.waiting)
            await pilot.press("escape")  # a wall TV has nowhere to go back to
            assert app.screen is screen


async def test_an_agents_console_filters_its_stream_and_a_supervisors_keeps_the_figures(
    crm: Database,
) -> None:
    """An agent's session asks for its own events, so it builds no queue figures (its
    colleagues' member events never reach it); a supervisor's keeps the full stream and the
    figures the live board shows."""
    context = ConsoleContext(db=crm, pbx=PbxAddress("127.0.0.1", 1, "agent", "s3cret"))
    for agent_id, filtered in ((1, True), (SUPERVISOR, False)):
        agent = await context.agents.get(agent_id)
        assert agent is not None
        runtime = await context.session_for(agent)
        tracker = runtime.cti.tracker
        assert tracker is not None
        assert (runtime.cti.event_filter, tracker.queue_figures) == (filtered, not filtered)


async def test_supervisor_keys_and_grid_actions_reach_the_bots(crm: Database) -> None:
    async with running_pbx(BOTS, speed=60) as pbx:
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        supervisor = await context.agents.get(SUPERVISOR)
        assert supervisor is not None
        runtime = await context.session_for(supervisor)
        live = runtime.live
        assert live is not None  # a supervisor's console feeds the live board
        app = CallConsoleApp(runtime=runtime)
        async with app.run_test(size=(130, 36)) as pilot:
            await until(lambda: isinstance(app.screen, AgentScreen))
            await until(lambda: live.feed.reconciles >= 1)
            keys = {b.binding.key for b in app.screen.active_bindings.values()}
            assert {"b", "g", "t"} <= keys

            await pilot.press("b")
            await until(lambda: isinstance(app.screen, WallboardScreen))
            await until(lambda: len(wallboard_of(app).tiles) == 3)
            await pilot.press("g")  # the wallboard's way to the agents (listen, coach, states)
            await until(lambda: isinstance(app.screen, AgentGridScreen))
            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, WallboardScreen))
            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, AgentScreen))

            await pilot.press("g")
            await until(lambda: isinstance(app.screen, AgentGridScreen))
            grid = grid_of(app)
            await until(lambda: grid.roster_loads >= 1 and "PJSIP/1005" in grid.rows)
            table = grid.query_one(DataTable)
            assert str(table.get_row("PJSIP/1005")[0]) == "Anthony Nicholson"  # from the CRM

            # Force a bot not ready from the grid: the simulator pauses it, it takes no calls.
            bot = "PJSIP/3001"
            member = pbx.engine.acd.queues["support"].members[bot]
            await until(lambda: bot in grid.rows)
            table.move_cursor(row=table.get_row_index(bot))
            await pilot.press("n")
            await until(lambda: isinstance(app.screen, NotReadyScreen))
            options = app.screen.query_one(OptionList)
            options.highlighted = options.get_option_index("training")
            await pilot.press("enter")
            await until(lambda: member.paused and member.paused_reason == "training")
            # Not ready once the call it may be on is over (with its wrap-up).
            await until(lambda: grid.rows[bot].agent.activity is AgentActivity.NOT_READY, within=15)
            await until(lambda: str(table.get_row(bot)[1]) == "not ready")
            assert str(table.get_row(bot)[2]) == "Training"
            memberships = pbx.engine.acd.devices[bot].memberships.values()
            taken = sum(m.calls_taken for m in memberships)
            await pilot.pause(1.0)  # a minute of traffic
            assert sum(m.calls_taken for m in memberships) == taken

            await pilot.press("y")  # ready
            await until(lambda: not member.paused)
            await until(lambda: grid.rows[bot].agent.activity is not AgentActivity.NOT_READY)

            await pilot.press("x")  # log out of a queue: the first of its queues
            await until(lambda: isinstance(app.screen, PickQueueScreen))
            queue = app.screen.queues[0]
            await pilot.press("enter")
            await until(lambda: bot not in pbx.engine.acd.queues[queue].members)
            await until(lambda: queue not in grid.rows[bot].agent.queues)
            # What the supervisor did is in their own session's recording.
            await runtime.recorder.flush()
            done = [
                (r.kind, r.details.get("interface"))
                for r in await SessionLog(crm).for_session(runtime.recorder.session_id)
                if r.kind.startswith("supervisor_")
            ]
            assert done == [
                ("supervisor_not_ready", bot),
                ("supervisor_ready", bot),
                ("supervisor_log_out", bot),
            ]

            # Reassign Anthony's open follow-ups to another agent.
            fid = await add_followup(crm, target_agent_id=ANTHONY)
            grid.load_roster()
            await until(lambda: grid.rows["PJSIP/1005"].agent.followups_open >= 1)
            table.move_cursor(row=table.get_row_index("PJSIP/1005"))
            await pilot.press("R")
            await until(lambda: isinstance(app.screen, PickAgentScreen))
            picker = app.screen.query_one(OptionList)
            picker.highlighted = picker.get_option_index("4")
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, AgentGridScreen))
            async with crm.session() as session:
                target = await session.scalar(
                    select(FollowUp.target_agent_id).where(FollowUp.id == fid)
                )
            assert target == 4


async def add_followup(db: Database, **values: Any) -> int:
    now = datetime.now(UTC)
    row = {
        "kind": "task",
        "status": "pending",
        "summary": "call back about the refund",
        "due_at": now,
        "priority": 3,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    async with db.write_connection() as conn:
        return int(await conn.scalar(insert(FollowUp).values(**row).returning(FollowUp.id)) or 0)


# ---------------------------------------------------------------------- the wall-TV command


def wallboard_command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`callconsole wallboard …` as a user runs it, with settings from ``env`` only."""
    full = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    full |= {f"CALLCONSOLE_{key.upper()}": value for key, value in env.items()}
    return subprocess.run(
        [sys.executable, "-m", "console", "wallboard", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wallboard_command_errors_are_one_line(tmp_path: Path) -> None:
    down = wallboard_command(tmp_path, ami_port=str(free_port()))
    assert down.returncode == 1 and down.stdout == ""
    assert down.stderr.count("\n") == 1 and "connection refused" in down.stderr
    bad = tmp_path / "targets.toml"
    bad.write_text("[defaults]\nservice_level = 1.5\n")
    refused = wallboard_command(tmp_path, queue_targets=str(bad))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert f"queue targets: {bad}:2:" in refused.stderr


async def test_wallboard_command_runs_against_the_pbx(tmp_path: Path) -> None:
    async with running_pbx(BOTS, speed=60, users={"wall": "tv"}) as pbx:
        result = await asyncio.to_thread(
            wallboard_command,
            tmp_path,
            "--large",
            "--headless-seconds",
            "1",
            ami_port=str(pbx.port),
            ami_user="wall",
            ami_secret="tv",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("link connected; 3 queues, 6 agents")
    assert "reconciles 1" in result.stdout


async def test_a_long_wait_raises_an_alert_that_the_wallboard_announces_and_lists() -> None:
    from console.screens.alerts import AlertsScreen
    from console.screens.staffing import StaffingScreen

    live = build_live(PbxAddress("127.0.0.1", 1, "x", "x"))
    now = live.clock()
    live.board.feed(
        Message(
            (
                ("Event", "QueueCallerJoin"),
                ("Timestamp", f"{now - 300:.3f}"),  # joined five minutes ago, still waiting
                ("Queue", "support"),
                ("Uniqueid", "1700000000.1"),
                ("Channel", "PJSIP/trunk-00000001"),
                ("CallerIDNum", "+15551234567"),
                ("Position", "1"),
                ("Count", "1"),
            )
        )
    )
    app = WallboardApp(live, connect=False)
    notified = Notifications(app)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(lambda: notified.any("Longest wait"))
        assert [a.subject for a in live.alerts.open()] == ["support"]
        await pilot.press("a")
        await until(lambda: isinstance(app.screen, AlertsScreen))
        await pilot.press("escape")
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, StaffingScreen))
        await pilot.press("escape")
        await pilot.press("r")  # the wall TV has no database: no report
        await pilot.pause()
        assert isinstance(app.screen, WallboardScreen)


async def test_a_sparkline_with_one_sample_is_a_baseline_not_a_full_bar() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Sparkline

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield QueueTile("support")

    async with One().run_test() as pilot:
        tile = pilot.app.query_one(QueueTile)
        spark = tile.query_one("#qt-wait-spark", Sparkline)
        tile._spark("qt-wait-spark", [0.0])  # Textual would draw one sample as a full bar
        assert list(spark.data or []) == []
        tile._spark("qt-wait-spark", [0.0, 2.0])
        assert list(spark.data or []) == [0.0, 2.0]
