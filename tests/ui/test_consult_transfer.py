"""Consult (attended) transfer, conference and warm handoff, end to end.

The agent's console (Pilot) and a colleague's desk (the UI-free `AgentDesk` with its own AMI
client) on one real simulator over a socket and one real SQLite CRM. The colleague's phone is a
simulator desk phone in the sales queue (ext 600), answered with SimPhone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from textual.widgets import Input, Static

from console.app import CallConsoleApp
from console.cti.ami import AmiClient
from console.cti.protocol import CtiEvent
from console.cti.tracker import CallTracker
from console.db import Database
from console.screens.transfer import TransferScreen
from console.services.desk.desk import AgentDesk
from console.services.desk.interactions import InteractionLog
from console.services.desk.screenpop import ScreenPopService
from console.widgets.call_bar import CallBar
from tests.factories import agent_console_app as make_app
from tests.factories import ring_and_pop, wrap_up_ready
from tests.pbx import SCENARIO, Pbx, running_pbx
from tests.ui.conftest import FAST, one_customer_number, until
from tests.ui.terminal import Notifications

COLLEAGUE = "PJSIP/1002"
WITH_COLLEAGUE = (
    SCENARIO
    + f"""
[[agents]]
interface = "{COLLEAGUE}"
name = "Colleague"
kind = "phone"
queues = ["sales"]
"""
)


class Colleague:
    """The consulted agent (agent id 2): their own CTI link and desk, no screen."""

    def __init__(self, db: Database, port: int) -> None:
        self.cti = AmiClient(
            "127.0.0.1", port, "agent", "s3cret", tracker=CallTracker(COLLEAGUE), timings=FAST
        )
        self.desk = AgentDesk(
            agent_id=2, screenpop=ScreenPopService(db), interactions=InteractionLog(db)
        )
        self._stream = self.cti.events()

    async def follow(self) -> None:
        async for event in self._stream:
            if _mine(event):
                await self.desk.handle(event)


def _mine(event: CtiEvent) -> bool:
    return getattr(event, "interface", None) in (None, COLLEAGUE)


@contextlib.asynccontextmanager
async def colleague_desk(db: Database, pbx: Pbx) -> AsyncIterator[Colleague]:
    colleague = Colleague(db, pbx.port)
    await colleague.cti.start()
    task = asyncio.create_task(colleague.follow())
    try:
        yield colleague
    finally:
        await colleague.cti.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def rows(path: Path) -> list[dict[str, object]]:
    """The rows of the newest call (every leg of it: same Linkedid), oldest first."""
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        found = con.execute(
            "SELECT * FROM interactions WHERE linkedid = "
            "(SELECT linkedid FROM interactions ORDER BY id DESC LIMIT 1) ORDER BY id"
        )
        return [dict(r) for r in found]
    finally:
        con.close()


async def consulting(
    app: CallConsoleApp, pilot: object, pbx: Pbx, colleague: Colleague, notes: str = ""
) -> None:
    """A call answered by the agent (who writes `notes` during it), then a consult to sales
    (600) the colleague answers."""
    screen = app.agent_screen
    assert screen is not None
    press = pilot.press  # type: ignore[attr-defined]
    await press("f2")
    await until(lambda: screen.desk.state.phase == "talking")
    if notes:
        await press("f9")
        await until(lambda: wrap_up_ready(app))
        await press(*notes)
        await press("ctrl+s")  # back to the call; the draft is saved
        await until(lambda: app.screen is screen)
    await press("f7")
    await until(lambda: isinstance(app.screen, TransferScreen))
    assert app.screen.consult
    app.screen.query_one("#extension", Input).focus()
    await press(*"600", "enter")
    call = lambda: screen.desk.state.call  # noqa: E731
    await until(lambda: call() is not None and call().consulting == "600")  # type: ignore[union-attr]
    await until(lambda: screen.desk.state.phase == "held")  # the caller holds
    bar = str(screen.query_one(CallBar).render())
    assert "CONSULTING 600" in bar
    await until(lambda: colleague.desk.state.phase == "ringing")
    pbx.engine.phone(COLLEAGUE, "answer")
    await until(lambda: colleague.desk.state.phase == "talking")


async def test_a_consult_completed_hands_the_caller_over_with_the_customer(
    crm: Database,
) -> None:
    assert crm.sqlite_path is not None
    number, customer = one_customer_number(crm.sqlite_path)
    async with running_pbx(WITH_COLLEAGUE) as pbx, colleague_desk(crm, pbx) as colleague:
        app = make_app(crm, pbx.port)
        notified = Notifications(app)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await consulting(app, pilot, pbx, colleague, notes="Double charged in May")
            # The colleague's pop is the caller's customer, handed over with the notes.
            pop = colleague.desk.state.pop
            assert pop is not None and pop.profile is not None
            assert pop.profile.id == customer
            assert pop.handoff is not None and pop.handoff.from_agent
            assert pop.handoff.notes == "Double charged in May"
            # F5 now would complete the transfer by accident: it says what the keys do.
            await pilot.press("f5")
            await until(lambda: notified.any("F4 completes the transfer"))
            assert screen.desk.state.phase == "held"
            await pilot.press("f4")  # complete: the agent's leg hangs up
            await until(lambda: wrap_up_ready(app))
            mine, theirs = rows(crm.sqlite_path)
            assert (mine["agent_id"], theirs["agent_id"]) == (1, 2)
            assert mine["end_reason"] == "transfer" and mine["transferred_to"] == "600"
            assert mine["linkedid"] == theirs["linkedid"]
            assert theirs["customer_id"] == customer
            assert colleague.desk.state.phase == "talking"  # the caller talks to the colleague


async def test_a_consult_cancelled_brings_the_agent_back_to_the_caller(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _customer = one_customer_number(crm.sqlite_path)
    async with running_pbx(WITH_COLLEAGUE) as pbx, colleague_desk(crm, pbx) as colleague:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await consulting(app, pilot, pbx, colleague)
            await pilot.press("f8")  # back to the caller (CancelAtxfer)
            call = lambda: screen.desk.state.call  # noqa: E731
            await until(lambda: screen.desk.state.phase == "talking")
            assert call() is not None and call().consulting == ""  # type: ignore[union-attr]
            await until(lambda: colleague.desk.state.phase == "wrapup")  # their leg ended
            assert "CONSULTING" not in str(screen.query_one(CallBar).render())
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
            mine = rows(crm.sqlite_path)[0]
            assert mine["end_reason"] == "agent" and mine["transferred_to"] == ""


async def test_a_conference_joins_all_three_and_the_agent_can_leave_it(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _customer = one_customer_number(crm.sqlite_path)
    async with running_pbx(WITH_COLLEAGUE) as pbx, colleague_desk(crm, pbx) as colleague:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await consulting(app, pilot, pbx, colleague)
            await pilot.press("f7")  # conference (PlayDTMF *3, Receive)
            call = lambda: screen.desk.state.call  # noqa: E731
            await until(lambda: call() is not None and call().conference == "600")  # type: ignore[union-attr]
            assert screen.desk.state.phase == "talking"
            assert "CONFERENCE +600" in str(screen.query_one(CallBar).render())
            await pilot.press("f5")  # leave: caller and colleague talk on
            await until(lambda: wrap_up_ready(app))
            assert colleague.desk.state.phase == "talking"
            mine = rows(crm.sqlite_path)[0]
            assert mine["end_reason"] == "agent"


async def test_a_consult_the_pbx_refuses_is_one_line_and_the_call_stays(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, _customer = one_customer_number(crm.sqlite_path)
    async with running_pbx(WITH_COLLEAGUE) as pbx:
        app = make_app(crm, pbx.port)
        notified = Notifications(app)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await ring_and_pop(app, pilot, pbx, number)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f7")
            await until(lambda: isinstance(app.screen, TransferScreen))
            app.screen.query_one("#extension", Input).focus()
            await pilot.press(*"9999", "enter")
            await until(lambda: notified.any("consult 9999 failed: Extension does not exist."))
            assert screen.desk.state.phase == "talking"
            assert not screen.query_one("#handoff", Static).display


async def test_a_warm_handoff_shows_who_handed_over_their_notes_and_their_customer(
    crm: Database,
) -> None:
    """The colleague takes a sales call, finds the customer (not the number's), writes notes
    and blind-transfers to support: this agent's pop is that customer, with the notes."""
    assert crm.sqlite_path is not None
    number, own = one_customer_number(crm.sqlite_path)
    con = sqlite3.connect(crm.sqlite_path)
    try:
        (other,) = con.execute("SELECT min(id) FROM customers WHERE id != ?", (own,)).fetchone()
    finally:
        con.close()
    async with running_pbx(WITH_COLLEAGUE) as pbx, colleague_desk(crm, pbx) as colleague:
        app = make_app(crm, pbx.port)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await pilot.press("f6")
            await until(lambda: screen.bar_model.agent_ready)
            pbx.ring(number, "Caller", queue="sales")
            await until(lambda: colleague.desk.state.phase == "ringing")
            pbx.engine.phone(COLLEAGUE, "answer")
            await until(lambda: colleague.desk.state.phase == "talking")
            await colleague.desk.choose_customer(other)  # the colleague found the right one
            theirs = colleague.desk.state.call
            assert theirs is not None and theirs.interaction_id is not None
            await InteractionLog(crm).save_draft(
                theirs.interaction_id, notes="[b]VIP[/b] wants the refund\x1b[31m today"
            )
            tracker = colleague.cti.tracker
            assert tracker is not None
            leg = tracker.agent_channel(theirs.uniqueid, theirs.agent_channel)
            result = await colleague.cti.blind_transfer(leg, "601")  # to support: this agent
            assert result.ok
            await until(lambda: screen.desk.state.phase == "ringing")
            pop = screen.desk.state.pop
            assert pop is not None and pop.profile is not None
            assert pop.profile.id == other  # the colleague's customer, not the number's
            handoff = screen.query_one("#handoff", Static)
            await until(lambda: handoff.display)
            shown = str(handoff.render())
            assert "Handed over by" in shown
            assert "[b]VIP[/b] wants the refund" in shown  # text, never markup
            assert "\x1b" not in shown  # no terminal control codes
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            assert handoff.display
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
    mine = rows(crm.sqlite_path)[-1]
    assert (mine["agent_id"], mine["customer_id"]) == (1, other)
