"""Snapshots of the main screens (pytest-textual-snapshot): review changes with
`pytest tests/ui/test_snapshots.py --snapshot-update` and look at the SVGs before committing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import TextArea

from console.app import CallConsoleApp, WallboardApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database, open_database
from console.screens.scorecard import ScoreCardScreen
from console.screens.wrapup import WrapUpScreen
from console.services.context import ServiceContext
from console.services.crm.agents import AgentDirectory
from console.services.desk.desk import DeskCall, DeskState
from console.services.desk.session import AgentSession
from tests.ui.conftest import one_customer_number, until
from tests.ui.shift import sloppy_card
from tests.ui.test_wallboard import board_after, many_queues
from tests.ui.test_worklist_screens import DEMO, make_runtime, open_worklist, seed

NOW = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)


def snapshot_app(path: Path) -> tuple[CallConsoleApp, Database]:
    db = open_database(f"sqlite:///{path}")
    runtime = AgentSession(
        # tz: "today" for the bar's figures, whatever the machine's zone
        ctx=ServiceContext(db=db, clock=lambda: NOW, tz=UTC),
        cti=AmiClient("127.0.0.1", 1, "agent", "x", tracker=CallTracker("PJSIP/1001")),
        agent_id=1,
        interface="PJSIP/1001",
        member_name="Demo Agent",
        queues=("support",),
    )
    return CallConsoleApp(runtime=runtime, connect=False), db


async def figures_read(app: CallConsoleApp) -> None:
    """The agent's own figures are on the bar (read once the screen is up)."""
    await until(lambda: app.agent_screen is not None and app.agent_screen.bar_model.today)


def ringing_call(number: str) -> DeskCall:
    return DeskCall(
        uniqueid="1761993000.1",
        linkedid="1761993000.1",
        queue="support",
        caller_id=number,
        caller_name="Ann Caller",
        channel="PJSIP/trunk-00000001",
        agent_channel="PJSIP/1001-00000002",
        offered_at=NOW - timedelta(seconds=4),
        waited=37.0,
        phase_since=NOW - timedelta(seconds=4),
    )


def test_idle_console_at_80x24(snap_compare: Any, crm_copy: Path) -> None:
    app, _ = snapshot_app(crm_copy)

    async def idle(pilot: Pilot[None]) -> None:
        await figures_read(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=idle)


def ring_with(app: CallConsoleApp, number: str) -> Any:
    """A `run_before` that shows `number` ringing with its real pop."""

    async def ring(pilot: Pilot[None]) -> None:
        await figures_read(app)
        pop = await app.runtime.screenpop.lookup(number)  # type: ignore[union-attr]
        assert app.agent_screen is not None
        app.agent_screen.show(DeskState(ringing_call(number), pop))
        await pilot.pause()

    return ring


def test_ringing_call_with_the_customer_popped(snap_compare: Any, crm_copy: Path) -> None:
    app, _ = snapshot_app(crm_copy)
    number, _ = one_customer_number(crm_copy)
    assert snap_compare(app, terminal_size=(120, 36), run_before=ring_with(app, number))


def test_ringing_call_at_80x24(snap_compare: Any, crm_copy: Path) -> None:
    app, _ = snapshot_app(crm_copy)
    number, _ = one_customer_number(crm_copy)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ring_with(app, number))


def test_unknown_caller(snap_compare: Any, crm_copy: Path) -> None:
    app, _ = snapshot_app(crm_copy)
    assert snap_compare(app, terminal_size=(100, 30), run_before=ring_with(app, "+12125550199"))


def test_ringing_call_in_the_light_theme(snap_compare: Any, crm_copy: Path) -> None:
    app, _ = snapshot_app(crm_copy)
    number, _ = one_customer_number(crm_copy)
    ring = ring_with(app, number)

    async def light(pilot: Pilot[None]) -> None:
        app.theme = "textual-light"
        await ring(pilot)

    assert snap_compare(app, terminal_size=(120, 36), run_before=light)


# ------------------------------------------------ an agent's shift at 80x24 and 120x40 (15.7)
# Each main screen of the shift in a tmux pane (80x24) and a roomy terminal (120x40), in the
# app's two themes (Textual's dark default and its light one). Fixed clock, seeded data.

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
THEMES = [pytest.param("textual-dark", id="dark"), pytest.param("textual-light", id="light")]


def themed(app: App[Any], theme: str, then: Any = None) -> Any:
    """A `run_before` that sets the theme, then runs `then` (another run_before)."""

    async def run(pilot: Pilot[None]) -> None:
        app.theme = theme
        if then is not None:
            await then(pilot)
        await pilot.pause()

    return run


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_shift_caller_popped(
    snap_compare: Any, crm_copy: Path, size: tuple[int, int], theme: str
) -> None:
    app, _ = snapshot_app(crm_copy)
    number, _ = one_customer_number(crm_copy)
    assert snap_compare(
        app, terminal_size=size, run_before=themed(app, theme, ring_with(app, number))
    )


def wrap_up_with(app: CallConsoleApp, number: str) -> Any:
    """A `run_before`: the call with `number` answered, ended 20 s ago, its wrap-up open."""

    async def wrap(pilot: Pilot[None]) -> None:
        runtime = app.runtime
        assert runtime is not None and app.agent_screen is not None
        pop = await runtime.screenpop.lookup(number)
        log = runtime.interactions
        call = ringing_call(number)
        record = await log.ring(
            uniqueid=call.uniqueid,
            linkedid=call.linkedid,
            agent_id=runtime.agent_id,
            queue_name=call.queue,
            caller_raw=number,
            caller_e164=number,
            caller_name=call.caller_name,
            customer_id=pop.profile.id if pop.profile else None,
            offered_at=NOW - timedelta(minutes=4),
            wait_seconds=37,
        )
        await log.answered(record.id, NOW - timedelta(minutes=3, seconds=50))
        record = await log.ended(record.id, NOW - timedelta(seconds=20))
        ended = replace(
            call,
            phase="wrapup",
            phase_since=record.ended_at,
            answered_at=record.answered_at,
            ended_at=record.ended_at,
            interaction_id=record.id,
        )
        app.agent_screen.show(DeskState(ended, pop))
        await pilot.pause()
        await app.push_screen(
            WrapUpScreen(
                log,
                record,
                agent_id=runtime.agent_id,
                ticket_service=runtime.tickets,
                followup_service=runtime.followups,
                tickets=pop.open_tickets,
                limit_seconds=runtime.options.wrap_limit_seconds,
                clock=runtime.clock,
                title=pop.profile.display_name if pop.profile else number,
            )
        )
        await pilot.pause()
        app.screen.query_one("#notes", TextArea).cursor_blink = False  # a steady frame

    return wrap


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_shift_wrap_up(
    snap_compare: Any, crm_copy: Path, size: tuple[int, int], theme: str
) -> None:
    app, _ = snapshot_app(crm_copy)
    number, _ = one_customer_number(crm_copy)
    run = themed(app, theme, wrap_up_with(app, number))
    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_shift_wallboard_with_many_queues(
    snap_compare: Any, size: tuple[int, int], theme: str
) -> None:
    live, _ = board_after(45, many_queues())
    app = WallboardApp(live, connect=False)
    assert snap_compare(app, terminal_size=size, run_before=themed(app, theme))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_shift_worklist(
    snap_compare: Any, crm_copy: Path, size: tuple[int, int], theme: str
) -> None:
    async def prepare() -> AgentSession:
        db = open_database(f"sqlite:///{crm_copy}")
        try:
            await seed(db)
            agent = await AgentDirectory(db).get(DEMO)
        finally:
            await db.dispose()
        assert agent is not None
        return make_runtime(open_database(f"sqlite:///{crm_copy}"), agent)

    app = CallConsoleApp(runtime=asyncio.run(prepare()), connect=False)

    async def open_it(pilot: Pilot[None]) -> None:
        await open_worklist(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=themed(app, theme, open_it))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_shift_score_card(
    snap_compare: Any, crm_copy: Path, tmp_path: Path, size: tuple[int, int], theme: str
) -> None:
    app, _ = snapshot_app(crm_copy)
    card = sloppy_card("angry_repeat_caller")

    async def show(pilot: Pilot[None]) -> None:
        await app.push_screen(ScoreCardScreen(card, run_id=7, export_dir=tmp_path))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=themed(app, theme, show))
