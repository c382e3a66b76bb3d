"""Listening from the supervisor's agent grid against the simulator (issue 19: "a supervisor
picks a talking agent in the grid, listens, reads the live transcript, whispers a coach
message, and barges, all with audit rows"): ``l`` rings the supervisor's phone into ChanSpy
and opens the agent's console live; ``w`` and ``B`` switch the mode, ``m`` coaches, ``s``
stops; the PBX's events and the audit rows say the same."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from textual.widgets import Static

from console.db import Database
from console.models import AuditLog, CoachMessage, ConsoleSession
from console.screens.agent_grid import AgentGridScreen
from console.screens.monitor import ListenScreen, MonitorScreen
from console.screens.reason import ReasonScreen
from tests.factories import grid_on, supervisor_app
from tests.pbx import running_pbx
from tests.ui.conftest import until

DEMO_AGENT, SUPERVISOR_ID = 1, 2  # seeded: the demo agent (PJSIP/1001), Sam (PJSIP/1002)
AGENT, SUPERVISOR_PHONE = "PJSIP/1001", "PJSIP/1002"
SCENARIO = """
name = "grid-monitoring"
[[queues]]
name = "support"
extension = "601"
timeout = 300
[[agents]]
interface = "PJSIP/1001"
name = "Demo Agent"
kind = "phone"
queues = ["support"]
[[agents]]
interface = "PJSIP/1002"
name = "Sam Supervisor"
kind = "phone"
[[calls]]
at = 0.2
queue = "support"
number = "+14155550100"
name = "Ann Caller"
handle_time = 600
transcript = [
  { at = "2s", text = "Hello, I was charged twice." },
  { at = "20s", text = "Both on the third of the month." },
  { at = "40s", text = "Can you refund one of them?" },
]
"""


async def test_listen_whisper_coach_barge_and_stop_from_the_grid(crm: Database) -> None:
    async with crm.write_connection() as conn:  # the demo agent's console, running
        await conn.execute(
            insert(ConsoleSession).values(
                id="demo-live", agent_id=DEMO_AGENT, started_at=datetime.now(UTC)
            )
        )
    async with running_pbx(SCENARIO) as pbx:
        dev = pbx.engine.acd.devices[AGENT]
        await until(lambda: dev.ringing)
        pbx.engine.phone(AGENT, "answer")  # the agent talks with Ann
        app = await supervisor_app(crm, pbx.port, SUPERVISOR_ID)
        async with app.run_test(size=(140, 40)) as pilot:
            await grid_on(app, pilot, AGENT)
            screen = app.agent_screen
            assert screen is not None
            await pilot.press("l")
            await until(lambda: isinstance(app.screen, MonitorScreen))
            view = app.screen
            assert isinstance(view, MonitorScreen) and view.spy is not None
            await until(lambda: view._current() is not None and view.spy.state == "spying")
            spies = pbx.engine.spies.active
            (spy,) = spies.values()
            assert spy.mode == "listen"
            # The spy rings the supervisor's own phone: not a call of their desk.
            assert screen.desk.state.call is None
            await pilot.press("w")
            await until(lambda: spy.mode == "whisper")
            await pilot.press("m")
            await until(lambda: isinstance(app.screen, ReasonScreen))
            await pilot.press(*"Apologise, then refund", "enter")
            await until(lambda: len(view.sent) == 1)
            await pilot.press("B")
            await until(lambda: spy.mode == "barge")
            await pilot.press("s")
            await until(lambda: not pbx.engine.spies.active)
            assert view.spy is not None and not view.spy.active
            monitoring = app.agent_screen.runtime.monitoring  # type: ignore[union-attr]
            assert monitoring is not None
            await monitoring.settle()
    async with crm.session() as conn:
        audit = (
            await conn.execute(
                select(AuditLog.action, AuditLog.details)
                .where(AuditLog.actor_agent_id == SUPERVISOR_ID)
                .order_by(AuditLog.id)
            )
        ).all()
        coached = await conn.scalar(select(CoachMessage.text))
    actions = [a for a, _d in audit]
    assert actions == [
        "monitor_start",
        "view",
        "monitor_switch",
        "coach",
        "monitor_switch",
        "monitor_stop",
    ], actions
    modes = [d.get("mode") for a, d in audit if a.startswith("monitor_")]
    assert modes == ["listen", "whisper", "barge", "barge"]
    assert coached == "Apologise, then refund"


async def test_an_agent_without_a_console_is_listened_to_with_the_calls_words(
    crm: Database,
) -> None:
    """A phone with no console (no session to follow): ``l`` opens the listening view — the
    caller and the talk time from the PBX, and the words of that call as the PBX's
    Transcript events bring them; ``s`` stops."""
    async with running_pbx(SCENARIO, speed=4.0) as pbx:
        dev = pbx.engine.acd.devices[AGENT]
        await until(lambda: dev.ringing)
        pbx.engine.phone(AGENT, "answer")
        app = await supervisor_app(crm, pbx.port, SUPERVISOR_ID)
        async with app.run_test(size=(140, 40)) as pilot:
            await grid_on(app, pilot, AGENT)
            screen = app.agent_screen
            assert screen is not None
            await pilot.press("l")
            await until(lambda: isinstance(app.screen, ListenScreen))
            view = app.screen
            assert isinstance(view, ListenScreen)
            await until(lambda: view.spy is not None and view.spy.state == "spying")
            await until(lambda: any("refund" in w.text for w in view.heard), within=20)
            assert all(w.linkedid == view.spy.linkedid for w in view.heard)
            texts = [w.text for w in view.heard]
            # Said before the supervisor listened (the call began before their console did):
            # shown from what the feed kept; nothing twice.
            assert texts[0] == "Hello, I was charged twice." and len(set(texts)) == len(texts)
            call = str(view.query_one("#listen-call", Static).render())
            assert "Ann Caller" in call  # from ChanSpyStart: the call began before this console
            await pilot.press("s")
            await until(lambda: not pbx.engine.spies.active)
            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, AgentGridScreen))
