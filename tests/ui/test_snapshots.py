"""Snapshots of the main screens (pytest-textual-snapshot): review changes with
`pytest tests/ui/test_snapshots.py --snapshot-update` and look at the SVGs before committing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database, open_database
from console.factory import ConsoleRuntime
from console.services.desk import DeskCall, DeskState
from console.services.interactions import InteractionLog
from console.services.screenpop import ScreenPopService
from tests.ui.conftest import one_customer_number, until

NOW = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)


def snapshot_app(path: Path) -> tuple[CallConsoleApp, Database]:
    db = open_database(f"sqlite:///{path}")
    runtime = ConsoleRuntime(
        db=db,
        cti=AmiClient("127.0.0.1", 1, "agent", "x", tracker=CallTracker("PJSIP/1001")),
        screenpop=ScreenPopService(db, clock=lambda: NOW),
        interactions=InteractionLog(db, clock=lambda: NOW),
        agent_id=1,
        interface="PJSIP/1001",
        member_name="Demo Agent",
        queues=("support",),
        clock=lambda: NOW,
        tz=UTC,  # "today" for the bar's figures, whatever the machine's zone
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
