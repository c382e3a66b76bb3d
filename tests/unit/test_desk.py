"""AgentDesk without a terminal (console/services/desk/desk.py): the pop comes before the row,
the call's steps reach the interaction row, another call's events change nothing, a restart
mid-call keeps the talk timer from the logged answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from console.cti.protocol import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallWaitMeasured,
    EndReason,
)
from console.db import Database
from console.models import Agent
from console.services.desk.desk import AgentDesk, rang_out
from console.services.desk.interactions import InteractionLog
from console.services.desk.screenpop import ScreenPopService

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
ME = "PJSIP/1001"


async def agent(db: Database) -> int:
    async with db.write_connection() as conn:
        return int(
            await conn.scalar(
                insert(Agent)
                .values(login="alice", display_name="Alice", interface="PJSIP/1001")
                .returning(Agent.id)
            )
            or 0
        )


def offered(at: datetime, *, resync: bool = False, waited: float | None = 3.0) -> CallOffered:
    return CallOffered(
        uniqueid="1.1",
        linkedid="1.1",
        queue="support",
        caller_id="+14155550123",
        caller_name="Ann Lee",
        interface="PJSIP/1001",
        member_name="Alice",
        channel="PJSIP/trunk-1",
        agent_channel="PJSIP/1001-2",
        waited=waited,
        at=at,
        resync=resync,
    )


def answered(at: datetime, *, resync: bool = False) -> CallAnswered:
    return CallAnswered(
        uniqueid="1.1",
        linkedid="1.1",
        queue="support",
        interface="PJSIP/1001",
        member_name="Alice",
        channel="PJSIP/trunk-1",
        agent_channel="PJSIP/1001-2",
        hold_time=None if resync else 5,
        ring_time=None if resync else 2,
        at=at,
        resync=resync,
    )


def ended(at: datetime, reason: EndReason, *, answered: bool) -> CallEnded:
    return CallEnded(
        uniqueid="1.1",
        linkedid="1.1",
        queue="support",
        interface="PJSIP/1001",
        answered=answered,
        reason=reason,
        cause=16,
        cause_text="Normal Clearing",
        talk_time=None,
        at=at,
    )


def desk(db: Database, agent_id: int) -> AgentDesk:
    return AgentDesk(
        agent_id=agent_id, screenpop=ScreenPopService(db), interactions=InteractionLog(db)
    )


async def test_a_restarted_console_times_the_talk_from_the_logged_answer(db: Database) -> None:
    agent_id = await agent(db)
    first = desk(db, agent_id)
    await first.handle(offered(T0))
    await first.handle(answered(T0 + timedelta(seconds=2)))
    # The console is killed and started again 5 minutes into the call; the resync re-offers it.
    second = desk(db, agent_id)
    later = T0 + timedelta(minutes=5)
    await second.handle(offered(later, resync=True))
    state = await second.handle(answered(later, resync=True))
    assert state.call is not None and state.call.answered_at == T0 + timedelta(seconds=2)
    state = await second.handle(
        ended(later + timedelta(seconds=58), EndReason.CALLER, answered=True)
    )
    assert state.phase == "wrapup"
    row = await InteractionLog(db).get(state.call.interaction_id or 0)  # type: ignore[union-attr]
    assert row is not None
    assert (row.talk_seconds, row.ring_seconds, row.wait_seconds) == (356, 2, 5)
    assert row.end_reason == "caller"


async def test_only_a_ring_out_on_this_phone_counts_as_missed(db: Database) -> None:
    agent_id = await agent(db)
    d = desk(db, agent_id)
    await d.handle(offered(T0))
    call = d.state.call
    for reason, missed in (
        (EndReason.NO_ANSWER, True),
        (EndReason.ANSWERED_ELSEWHERE, False),
        (EndReason.ABANDONED, False),
    ):
        assert rang_out(ended(T0, reason, answered=False), call) is missed
    state = await d.handle(ended(T0 + timedelta(seconds=15), EndReason.NO_ANSWER, answered=False))
    assert state.phase == "idle"
    row = await InteractionLog(db).get(1)
    assert row is not None and (row.status, row.end_reason, row.ring_seconds) == (
        "missed",
        "noanswer",
        15,
    )


async def test_the_pop_comes_before_the_row_and_the_row_follows_every_step(db: Database) -> None:
    agent_id = await agent(db)
    d = desk(db, agent_id)
    state = await d.offer(offered(T0))
    assert state.phase == "ringing" and state.pop is not None
    assert state.call is not None and state.call.interaction_id is None  # nothing written yet
    state = await d.log_offer()
    assert state.call is not None and state.call.interaction_id is not None
    row_id = state.call.interaction_id

    await d.handle(answered(T0 + timedelta(seconds=2)))
    held = await d.handle(CallHeld(uniqueid="1.1", linkedid="1.1", interface=ME, at=T0 + M))
    assert held.phase == "held"
    resumed = await d.handle(
        CallResumed(uniqueid="1.1", linkedid="1.1", interface=ME, at=T0 + M + timedelta(seconds=30))
    )
    assert resumed.phase == "talking" and resumed.call is not None
    assert resumed.call.hold_seconds == 30
    done = await d.handle(ended(T0 + 2 * M, EndReason.AGENT, answered=True))
    assert done.phase == "wrapup"
    row = await InteractionLog(db).get(row_id)
    assert row is not None and (row.status, row.hold_seconds, row.end_reason) == (
        "wrapup",
        30,
        "agent",
    )
    assert d.finish_wrap_up().phase == "idle"


async def test_events_of_another_call_change_nothing(db: Database) -> None:
    agent_id = await agent(db)
    d = desk(db, agent_id)
    await d.handle(offered(T0))
    before = d.state
    other = CallHeld(uniqueid="9.9", linkedid="9.9", interface=ME, at=T0 + M)
    assert await d.handle(other) == before


async def test_a_consult_is_shown_until_the_call_moves_on(db: Database) -> None:
    agent_id = await agent(db)
    d = desk(db, agent_id)
    await d.handle(offered(T0))
    await d.handle(answered(T0 + timedelta(seconds=2)))
    state = d.consult_started("2000")
    assert state.call is not None and state.call.consulting == "2000"


async def test_a_wait_learnt_after_the_pop_shows_and_stays_with_an_unanswered_ring(
    db: Database,
) -> None:
    """An agent's console that did not hear the caller join gets the wait from the PBX after
    the offer (console/cti/wait_probe.py): the bar shows it, and a ring that goes unanswered
    keeps it in its row (an answered one gets the PBX's HoldTime)."""
    agent_id = await agent(db)
    d = desk(db, agent_id)
    await d.handle(offered(T0, waited=None))
    assert d.state.call is not None and d.state.call.waited is None
    row_id = d.state.call.interaction_id or 0
    measured = CallWaitMeasured(
        uniqueid="1.1", linkedid="1.1", queue="support", interface=ME, waited=42, at=T0
    )
    other = CallWaitMeasured(
        uniqueid="9.9", linkedid="9.9", queue="support", interface=ME, waited=7, at=T0
    )
    assert await d.handle(other) == d.state  # another caller's wait changes nothing
    state = await d.handle(measured)
    assert state.call is not None and state.call.waited == 42
    row = await InteractionLog(db).get(row_id)
    assert row is not None and row.wait_seconds == 0  # written at the ring, before it was known
    await d.handle(ended(T0 + timedelta(seconds=15), EndReason.NO_ANSWER, answered=False))
    row = await InteractionLog(db).get(row_id)
    assert row is not None and (row.status, row.wait_seconds) == ("missed", 42)
