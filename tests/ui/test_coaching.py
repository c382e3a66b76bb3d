"""Coach messages and the supervisor's live view (issue 19.2): a supervisor's text reaches the
agent's console at once (never the call), literally, audited; only supervisors and trainers
send; from the agent grid ``v`` opens the agent's console live and ``m`` sends a message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from console.db import Database
from console.models import AuditLog, CoachMessage, ConsoleSession
from console.screens.monitor import MonitorScreen
from console.screens.reason import ReasonScreen
from console.services.supervision.coaching import CoachError, CoachInbox, CoachService
from tests.factories import agent_console_app, grid_on, supervisor_app
from tests.pbx import running_pbx
from tests.ui.conftest import until
from tests.ui.terminal import Notifications

DEMO_AGENT, SUPERVISOR_ID = 1, 2  # seeded: the demo agent (PJSIP/1001), Sam Supervisor
WITH_AGENT_PHONE = """
name = "coaching"
[[queues]]
name = "support"
extension = "601"
[[agents]]
interface = "PJSIP/1001"
name = "Demo Agent"
kind = "phone"
queues = ["support"]
"""


async def test_a_coach_message_reaches_the_agents_console_at_once_and_literally(
    crm: Database,
) -> None:
    """The supervisor's console stores the message and rings the agent's (an AMI UserEvent
    naming the agent's interface, which the agent's filtered session takes); the agent's
    console reads it at once. Its slow poll is an hour here: only the doorbell can bring it."""
    async with running_pbx() as pbx:
        sam = (await supervisor_app(crm, pbx.port, SUPERVISOR_ID)).runtime
        assert sam is not None
        app = agent_console_app(crm, pbx.port, event_filter=True)
        assert app.runtime is not None
        app.runtime.options.coach_fallback_seconds = 3600.0
        await sam.cti.start()
        try:
            async with app.run_test(size=(120, 36)) as pilot:
                shown = Notifications(app)
                screen = app.agent_screen
                assert screen is not None
                await until(lambda: screen.bar_model.link == "connected")
                inbox = app.coach_inbox
                assert inbox is not None
                await until(lambda: inbox.rounds >= 1)  # the read at start: nothing yet
                await sam.cti.wait_connected()
                hostile = "Offer [b]10%[/b] off\x1b[2J — \u202eevil"
                sent = await sam.coach.send(SUPERVISOR_ID, DEMO_AGENT, hostile)
                await until(lambda: shown.any("Offer [b]10%[/b] off"), within=10)
                note = next(n for n in shown.shown if "Offer" in n.message)
                assert "\x1b" not in note.message and "\u202e" not in note.message
                assert note.title == "Coach · Sam Supervisor"
                await until(lambda: inbox.rounds >= 2)
                assert inbox.rounds == 2  # one read for the doorbell, no poll

                async def marked() -> bool:
                    return await sam.coach.seen(sent) is not None

                async with asyncio.timeout(10):
                    while not await marked():
                        await pilot.pause(0.05)
        finally:
            await sam.cti.close()
    async with crm.session() as conn:
        audit = (
            await conn.execute(
                select(AuditLog.actor_agent_id, AuditLog.entity_id, AuditLog.details).where(
                    AuditLog.action == "coach"
                )
            )
        ).one()
    assert audit[0] == SUPERVISOR_ID and audit[1] == DEMO_AGENT
    assert audit[2]["message"] == sent


async def test_only_supervisors_and_trainers_send_and_never_to_themselves(crm: Database) -> None:
    coach = CoachService(crm)
    with pytest.raises(CoachError, match="only supervisors and trainers"):
        await coach.send(DEMO_AGENT, SUPERVISOR_ID, "hi")
    with pytest.raises(CoachError, match="someone else"):
        await coach.send(SUPERVISOR_ID, SUPERVISOR_ID, "hi")
    with pytest.raises(CoachError, match="needs some text"):
        await coach.send(SUPERVISOR_ID, DEMO_AGENT, " \x07 ")
    with pytest.raises(CoachError, match="no agent 9999"):
        await coach.send(SUPERVISOR_ID, 9999, "hi")
    async with crm.session() as conn:
        assert (await conn.execute(select(CoachMessage.id))).all() == []


async def test_from_the_grid_v_opens_the_agents_console_live_and_m_coaches_them(
    crm: Database,
) -> None:
    async with crm.write_connection() as conn:  # the demo agent's console, running
        await conn.execute(
            insert(ConsoleSession).values(
                id="demo-live", agent_id=DEMO_AGENT, started_at=datetime.now(UTC)
            )
        )
    async with running_pbx(WITH_AGENT_PHONE) as pbx:
        app = await supervisor_app(crm, pbx.port, SUPERVISOR_ID)
        async with app.run_test(size=(140, 36)) as pilot:
            await grid_on(app, pilot, "PJSIP/1001")
            await pilot.press("v")
            await until(lambda: isinstance(app.screen, MonitorScreen))
            view = app.screen
            assert isinstance(view, MonitorScreen) and view.agent_id == DEMO_AGENT
            await pilot.press("m")
            await until(lambda: isinstance(app.screen, ReasonScreen))
            await pilot.press(*"Ask for the order number", "enter")
            await until(lambda: len(view.sent) == 1)
    async with crm.session() as conn:
        text = await conn.scalar(select(CoachMessage.text).where(CoachMessage.id == view.sent[0]))
        viewed = await conn.scalar(
            select(AuditLog.details).where(
                AuditLog.action == "view", AuditLog.entity_type == "agent"
            )
        )
    assert text == "Ask for the order number"
    assert viewed == {"what": "live console view", "session": "demo-live"}


async def test_the_inbox_loses_none_across_a_restart_and_shows_each_once(crm: Database) -> None:
    """Sent while the agent's console was away (a restart): shown when it is back. Sent long
    ago (an old shift): not. Two consoles of one agent: each message shown by one."""
    now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    clock = [now]
    coach = CoachService(crm, clock=lambda: clock[0])
    clock[0] = now - timedelta(hours=3)
    await coach.send(SUPERVISOR_ID, DEMO_AGENT, "old shift")
    clock[0] = now - timedelta(minutes=2)
    await coach.send(SUPERVISOR_ID, DEMO_AGENT, "during the restart")
    clock[0] = now
    first, second = CoachInbox(coach, DEMO_AGENT), CoachInbox(coach, DEMO_AGENT)
    seen: list[tuple[str, str]] = []
    assert await first.poll(lambda n: seen.append(("first", n.text))) == 1
    await coach.send(SUPERVISOR_ID, DEMO_AGENT, "now")
    await second.poll(lambda n: seen.append(("second", n.text)))
    await first.poll(lambda n: seen.append(("first", n.text)))
    assert seen == [("first", "during the restart"), ("second", "now")]
    async with crm.session() as conn:
        unshown = (
            (await conn.execute(select(CoachMessage.text).where(CoachMessage.shown_at.is_(None))))
            .scalars()
            .all()
        )
    assert unshown == ["old shift"]
