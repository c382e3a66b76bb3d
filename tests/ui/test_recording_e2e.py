"""Session recording end to end: the real simulator, the console built by the factory, Pilot.

One call taken, held, resumed and wrapped up with a note and a new ticket must be in the
database afterwards as the CTI events the console received and the agent's actions, in order,
with what a replay and a rubric need.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from textual.widgets import Input, Select

from console.app import CallConsoleApp
from console.db import Database
from console.factory import ConsoleContext, PbxAddress
from console.screens.wrapup import NEW_TICKET, WrapUpScreen
from console.services.training.session_log import RecordedAction, RecordedEvent, SessionLog
from console.widgets.profile_card import ProfileCard
from tests.factories import interaction_row, wrap_up_ready
from tests.pbx import running_pbx
from tests.ui.conftest import FAST, one_customer_number, until


async def test_a_call_is_recorded_as_events_and_actions_in_order(crm: Database) -> None:
    assert crm.sqlite_path is not None
    number, customer_id = one_customer_number(crm.sqlite_path)
    async with running_pbx() as pbx:
        context = ConsoleContext(
            db=crm, pbx=PbxAddress("127.0.0.1", pbx.port, "agent", "s3cret"), timings=FAST
        )
        agent = await context.agents.authenticate("demo", "demo")
        assert agent is not None
        runtime = await context.session_for(agent)
        started = runtime.clock()
        app = CallConsoleApp(runtime=runtime)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.agent_screen
            assert screen is not None
            await until(lambda: screen.bar_model.link == "connected")
            await until(lambda: screen.bar_model.agent_state != "Not ready")
            await pilot.press("f6")  # ready
            await until(lambda: screen.bar_model.agent_ready)
            pbx.ring(number, "Ann Caller")
            card = screen.query_one(ProfileCard)
            await until(lambda: card.pop is not None and card.pop.profile is not None)
            await pilot.press("f2")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f3")
            await until(lambda: screen.desk.state.phase == "held")
            await pilot.press("f3")
            await until(lambda: screen.desk.state.phase == "talking")
            await pilot.press("f5")
            await until(lambda: wrap_up_ready(app))
            wrap = app.screen
            assert isinstance(wrap, WrapUpScreen)
            await pilot.press(*"Refund agreed")
            # The whole text saved as a draft (a slow machine may also save "R" on the way).
            await until(lambda: interaction_row(crm.sqlite_path)["notes"] == "Refund agreed")
            wrap.query_one("#disposition", Select).value = "ticket_opened"
            wrap.query_one("#ticket", Select).value = NEW_TICKET
            await until(lambda: wrap.query_one("#new-ticket").display)
            wrap.query_one("#ticket-subject", Input).value = "Double charge"
            await pilot.press("ctrl+s")
            await until(lambda: not isinstance(app.screen, WrapUpScreen))
            await until(lambda: screen.bar_model.agent_ready)  # ready again after the wrap-up
        # The app is gone: the recorder wrote what was left and closed the session.
    ended = runtime.clock()
    row = interaction_row(crm.sqlite_path)
    linkedid = str(row["linkedid"])
    log = SessionLog(crm)

    call = await log.for_call(linkedid)
    session_id = runtime.recorder.session_id
    assert {r.session_id for r in call} == {session_id}
    assert [r.seq for r in call] == sorted(r.seq for r in call)
    assert [r.at for r in call] == sorted(r.at for r in call)
    # The caller's wait, asked of the PBX at the offer (a filtered session hears no join): it
    # comes while the pop is fetched, before or after "pop_shown".
    assert [r.kind for r in call].count("CallWaitMeasured") == 1
    steps = [
        r.kind
        for r in call
        if r.kind
        not in (
            "notes_saved",
            "AgentStateChanged",
            "QueueChanged",
            "TranscriptLine",
            "CallWaitMeasured",
        )
    ]
    assert steps == [
        "CallOffered",
        "pop_shown",
        "answer",
        "CallAnswered",
        "hold",
        "CallHeld",
        "unhold",
        "CallResumed",
        "hangup",
        "CallEnded",
        "wrap_up_opened",
        "ticket_created",
        "wrap_up_saved",
    ]
    by_kind = {r.kind: r for r in call}

    offered = by_kind["CallOffered"]
    assert isinstance(offered, RecordedEvent)
    cti_offer = offered.event()
    assert cti_offer is not None and cti_offer.linkedid == linkedid  # type: ignore[union-attr]
    assert offered.payload["caller_name"] == "Ann Caller"

    pop = by_kind["pop_shown"]
    assert isinstance(pop, RecordedAction)
    assert pop.details["pop"]["profile"]["id"] == customer_id  # what the agent saw
    assert pop.details["pop"]["caller"]["e164"] == number

    drafts = [r for r in call if r.kind == "notes_saved"]
    assert drafts and isinstance(drafts[-1], RecordedAction)
    assert drafts[-1].details["notes"] == "Refund agreed"
    assert all(d.interaction_id == row["id"] for d in drafts)

    ticket = by_kind["ticket_created"]
    assert isinstance(ticket, RecordedAction) and ticket.interaction_id == row["id"]
    assert ticket.details["ticket"]["subject"] == "Double charge"
    assert ticket.details["ticket"]["id"] == row["ticket_id"]

    wrapped = by_kind["wrap_up_saved"]
    assert isinstance(wrapped, RecordedAction)
    assert wrapped.details["disposition"] == "ticket_opened"
    assert wrapped.details["notes"] == "Refund agreed"
    assert wrapped.details["ticket_id"] == row["ticket_id"]
    assert wrapped.details["category"] == row["category"]

    # The agent's shift: the state changes (outside any call) are there too, in order.
    shift = await log.for_agent(agent.id, started - timedelta(seconds=1), ended)
    states = [
        (r.kind, r.details.get("reason"))
        for r in shift
        if isinstance(r, RecordedAction) and r.kind in ("ready", "not_ready")
    ]
    assert states == [("ready", ""), ("not_ready", "acw"), ("ready", "")]
    assert any(isinstance(r, RecordedEvent) and r.kind == "LinkStateChanged" for r in shift)
    con = sqlite3.connect(crm.sqlite_path)
    try:
        session = con.execute(
            "SELECT agent_id, kind, ended_at IS NOT NULL FROM sessions WHERE id = ?",
            (session_id,),
        ).fetchone()
    finally:
        con.close()
    assert session == (agent.id, "live", 1)
