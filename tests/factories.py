"""Builders and set-ups several test modules share: rows for the CRM, and the agent console
against the real simulator (an app, a ready agent, a popped ring, an answered call)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from textual.pilot import Pilot
from textual.widgets import DataTable

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.tracker import CallTracker
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.models import FollowUp
from console.screens.agent import AgentScreen
from console.screens.agent_grid import AgentGridScreen
from console.screens.wrapup import WrapUpScreen
from console.services.context import ServiceContext
from console.services.desk.session import AgentSession
from console.widgets.profile_card import ProfileCard
from tests.ui.conftest import FAST, until

AGENT = "PJSIP/1001"  # the seeded demo agent (id 1)


def agent_console_app(
    db: Database,
    port: int,
    queues: tuple[str, ...] = ("support",),
    *,
    event_filter: bool = False,
) -> CallConsoleApp:
    """The demo agent's console on the simulator at `port` (fast reconnect timings);
    `event_filter`: on the agent's filtered session, as `callconsole run` logs in."""
    cti = AmiClient(
        "127.0.0.1",
        port,
        "agent",
        "s3cret",
        tracker=CallTracker(AGENT),
        timings=FAST,
        event_filter=event_filter,
    )
    runtime = AgentSession(
        ctx=ServiceContext(db=db, journal_dir=_journal_dir(db)),
        cti=cti,
        agent_id=1,
        interface=AGENT,
        member_name="Demo Agent",
        queues=queues,
    )
    return CallConsoleApp(runtime=runtime)


def _journal_dir(db: Database) -> Path | None:
    """The journal beside a SQLite test database, as a console keeps one."""
    return None if db.sqlite_path is None else db.sqlite_path.parent / "journal"


async def ready_agent(app: CallConsoleApp, pilot: Pilot[None]) -> AgentScreen:
    """Wait for the CTI link and the queue login, then go ready (F6); the agent screen."""
    screen = app.agent_screen
    assert screen is not None
    await until(lambda: screen.bar_model.link == "connected")
    await until(lambda: screen.bar_model.agent_state != "Not ready")
    await pilot.press("f6")
    await until(lambda: screen.bar_model.agent_ready)
    return screen


async def ring_and_pop(app: CallConsoleApp, pilot: object, pbx: object, number: str) -> None:
    screen = app.agent_screen
    assert screen is not None
    await until(lambda: screen.bar_model.link == "connected")
    await until(lambda: screen.bar_model.agent_state != "Not ready")
    if not screen.bar_model.agent_ready:
        await pilot.press("f6")  # type: ignore[attr-defined]
        await until(lambda: screen.bar_model.agent_ready)
    pbx.ring(number, "Caller")  # type: ignore[attr-defined]
    card = screen.query_one(ProfileCard)
    await until(lambda: card.pop is not None and screen.desk.state.phase == "ringing")


async def answer_and_hang_up(app: CallConsoleApp, pilot: object, pbx: object, number: str) -> None:
    """Log in, get ready, take one call from `number` and hang up (leaves the wrap-up open)."""
    screen = await ready_agent(app, pilot)  # type: ignore[arg-type]
    pbx.ring(number, "Ann Caller")  # type: ignore[attr-defined]
    await until(lambda: screen.desk.state.phase == "ringing")
    await pilot.press("f2")  # type: ignore[attr-defined]
    await until(lambda: screen.desk.state.phase == "talking")
    await pilot.press("f5")  # type: ignore[attr-defined]
    await until(lambda: wrap_up_ready(app))


def wrap_up_ready(app: CallConsoleApp) -> bool:
    """The wrap-up is in front and composed (pushing a screen makes it `app.screen` at once,
    before its widgets exist: a test must not query them until it is mounted)."""
    return isinstance(app.screen, WrapUpScreen) and app.screen.is_mounted


def interaction_row(path: Path) -> dict[str, object]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM interactions ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row)
    finally:
        con.close()


async def add_followup(db: Database, now: datetime, **values: Any) -> int:
    """A pending task follow-up, due an hour before `now`, created a day before; `values`
    override any column. Its id."""
    row = {
        "kind": "task",
        "status": "pending",
        "summary": "follow up",
        "due_at": now - timedelta(hours=1),
        "priority": 3,
        "created_at": now - timedelta(days=1),
        "updated_at": now - timedelta(days=1),
        **values,
    }
    async with db.write_connection() as conn:
        return int(await conn.scalar(insert(FollowUp).values(**row).returning(FollowUp.id)) or 0)


async def supervisor_app(db: Database, port: int, supervisor_id: int = 2) -> CallConsoleApp:
    """The seeded supervisor's (Sam, id 2) full console on the simulator at ``port``."""
    context = ConsoleContext(
        db=db, pbx=PbxAddress("127.0.0.1", port, "agent", "s3cret"), timings=FAST
    )
    supervisor = await context.agents.get(supervisor_id)
    assert supervisor is not None
    return CallConsoleApp(runtime=await context.session_for(supervisor))


async def grid_on(app: CallConsoleApp, pilot: Pilot[None], interface: str) -> AgentGridScreen:
    """Wait for the link, open the agent grid (``g``) and highlight ``interface``'s row."""
    screen = app.agent_screen
    assert screen is not None
    await until(lambda: screen.bar_model.link == "connected")
    await pilot.press("g")
    await until(lambda: isinstance(app.screen, AgentGridScreen))
    grid = app.screen
    assert isinstance(grid, AgentGridScreen)
    await until(lambda: grid.roster_loads >= 1 and interface in grid.rows)
    table = grid.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(interface))
    return grid
