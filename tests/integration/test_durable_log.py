"""No call is lost when the database refuses writes (console/services/desk/durable_log.py).

The property: any sequence of calls (rung, answered or missed, held, noted, transferred, hung up,
wrapped up), with the database locked, full or read-only at random moments and back again,
leaves every call with exactly one row, and that row is the one the same calls leave on a
database that never failed. Outages are SQLite's own (tests/db_faults.py) on real files; the
PostgreSQL case stops and starts a real server.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import OperationalError

from console.cti.protocol import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    EndReason,
)
from console.db import Database, open_database
from console.models import Agent, Interaction
from console.schema import upgrade
from console.services.desk.desk import AgentDesk
from console.services.desk.durable_log import DurableInteractionLog, JournalState
from console.services.desk.interactions import InteractionLog, WrapUp
from console.services.desk.recovery import recover_unfinished
from console.services.desk.screenpop import ScreenPopService
from tests.db_faults import KINDS, SqliteFaults

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ME = "PJSIP/1001"
COMPARED = (
    "status direction caller_raw caller_name offered_at answered_at ended_at wrapped_at"
    " wait_seconds ring_seconds talk_seconds hold_seconds wrap_seconds disposition notes csat"
    " resolved_first_contact transferred_to end_reason linkedid customer_id"
).split()


@dataclass(frozen=True)
class Plan:
    """One call: what happens to it, and the outage switched before each of its steps."""

    answered: bool
    holds: int
    drafts: int
    transferred: bool
    wrapped: bool
    faults: tuple[str | None, ...]  # a kind, "clear", or None (unchanged), per step


def plans(
    faults: list[str | None], *, most: int = 2, steps: int = 12, calls: int = 4
) -> st.SearchStrategy[list[Plan]]:
    """Calls with up to `most` holds and drafts, one of `faults` (or none) before each step."""
    fault = st.sampled_from(faults)
    call = st.builds(
        Plan,
        answered=st.booleans(),
        holds=st.integers(0, most),
        drafts=st.integers(0, most),
        transferred=st.booleans(),
        wrapped=st.booleans(),
        faults=st.lists(fault, min_size=steps, max_size=steps).map(tuple),
    )
    return st.lists(call, min_size=1, max_size=calls)


def _event(kind: type, uniqueid: str, at: datetime, **more: Any) -> Any:
    common: dict[str, Any] = {"uniqueid": uniqueid, "linkedid": uniqueid, "interface": ME, "at": at}
    if kind is CallOffered:
        return CallOffered(
            **common,
            queue="support",
            caller_id="+14155550123",
            caller_name="Ann Lee",
            member_name="Alice",
            channel=f"PJSIP/trunk-{uniqueid}",
            agent_channel=f"{ME}-{uniqueid}",
            waited=4.0,
        )
    if kind is CallAnswered:
        return CallAnswered(
            **common,
            queue="support",
            member_name="Alice",
            channel=f"PJSIP/trunk-{uniqueid}",
            agent_channel=f"{ME}-{uniqueid}",
            hold_time=4,
            ring_time=2,
        )
    if kind is CallEnded:
        return CallEnded(
            **common,
            queue="support",
            cause=16,
            cause_text="Normal Clearing",
            talk_time=None,
            **more,
        )
    return kind(**common, **more)


async def play(
    log: InteractionLog, db: Database, agent_id: int, calls: list[Plan], switch: Any
) -> None:
    """Run the calls through a desk as a console does, switching outages as planned."""
    desk = AgentDesk(agent_id=agent_id, screenpop=ScreenPopService(db), interactions=log)
    at = T0
    for n, plan in enumerate(calls):
        uniqueid = f"{1700000000 + n}.{n}"
        faults = iter(plan.faults)

        async def step(faults: Any = faults) -> datetime:
            nonlocal at
            await switch(next(faults, None))
            at += timedelta(seconds=7)
            return at

        await desk.handle(_event(CallOffered, uniqueid, await step()))
        if not plan.answered:
            ended = {"answered": False, "reason": EndReason.NO_ANSWER}
            await desk.handle(_event(CallEnded, uniqueid, await step(), **ended))
            continue
        await desk.handle(_event(CallAnswered, uniqueid, await step()))
        for _ in range(plan.holds):
            await desk.handle(_event(CallHeld, uniqueid, await step()))
            await desk.handle(_event(CallResumed, uniqueid, await step()))
        call = desk.state.call
        assert call is not None and call.interaction_id is not None
        for d in range(plan.drafts):
            await step()
            await log.save_draft(call.interaction_id, notes=f"note {n} draft {d}")
        if plan.transferred:
            target = {"target": "2002", "context": "from-internal"}
            await desk.handle(_event(CallTransferred, uniqueid, await step(), **target))
        ended = {"answered": True, "reason": EndReason.AGENT}
        await desk.handle(_event(CallEnded, uniqueid, await step(), **ended))
        if plan.wrapped:
            wrap = WrapUp("resolved", f"call {n} done", csat=4, resolved_first_contact=True)
            await log.wrap_up(call.interaction_id, wrap, await step())
        desk.finish_wrap_up()


async def fresh_database(folder: Path, name: str) -> tuple[Database, int]:
    db = open_database(str(folder / f"{name}.db"), busy_timeout_ms=40)
    await upgrade(db)
    async with db.write_connection() as conn:
        agent = await conn.scalar(
            insert(Agent)
            .values(login="alice", display_name="Alice", interface=ME)
            .returning(Agent.id)
        )
    return db, int(agent or 0)


async def rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    async with db.session() as session:
        found = (await session.execute(select(Interaction))).scalars().all()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        out.setdefault(row.uniqueid or "", []).append({c: getattr(row, c) for c in COMPARED})
    return out


async def settle(log: DurableInteractionLog) -> None:
    """The database is back: apply the journal (what the console's background task does)."""
    await log.drain()
    assert log.pending == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=plans([None, None, None, "clear", *KINDS]))
def test_outages_during_calls_leave_exactly_one_right_row_per_call(calls: list[Plan]) -> None:
    asyncio.run(_outages_during_calls(calls))


async def _outages_during_calls(calls: list[Plan]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reference_db, ref_agent = await fresh_database(folder, "reference")
        faulty_db, agent = await fresh_database(folder, "faulty")
        faults = SqliteFaults(faulty_db)
        log = DurableInteractionLog(faulty_db, folder / "journal")
        told: list[JournalState] = []
        log.on_change = told.append
        try:
            await play(InteractionLog(reference_db), reference_db, ref_agent, calls, _never)

            async def switch(kind: str | None) -> None:
                if kind is not None:
                    await faults.set(None if kind == "clear" else kind)

            await play(log, faulty_db, agent, calls, switch)
            await faults.set(None)
            await settle(log)
            expected, got = await rows(reference_db), await rows(faulty_db)
            assert got == expected
            assert all(len(found) == 1 for found in got.values())
            assert log.refused == []
            outages = [s for s in told if s.reason]
            assert len(outages) <= sum(1 for p in calls for f in p.faults if f in KINDS)
        finally:
            await log.close()
            await faults.close()
            await reference_db.dispose()
            await faulty_db.dispose()


async def _never(_kind: str | None) -> None:
    return None


async def test_a_killed_consoles_journal_is_applied_by_the_next_one(tmp_path: Path) -> None:
    """Writes journaled by a console that died before the database came back are applied, once,
    by the next console started on that machine."""
    db, agent = await fresh_database(tmp_path, "crm")
    faults = SqliteFaults(db)
    first = DurableInteractionLog(db, tmp_path / "journal")
    plan = Plan(True, 1, 1, False, True, ("readonly",) + (None,) * 11)
    try:
        await play(first, db, agent, [plan], _never_but(faults))
        assert first.pending > 0
        assert await rows(db) == {}  # nothing reached the database
        await first.close()  # killed: the journal file stays, unlocked
        await faults.set(None)

        second = DurableInteractionLog(db, tmp_path / "journal")
        second.open()
        await settle(second)
        await second.close()
        third = DurableInteractionLog(db, tmp_path / "journal")
        third.open()
        assert third.pending == 0  # applied once, never again
        await third.close()
        (found,) = (await rows(db)).values()
        assert len(found) == 1
        assert found[0]["status"] == "completed"
        assert found[0]["notes"] == "call 0 done"
        assert found[0]["hold_seconds"] == 7
    finally:
        await faults.close()
        await db.dispose()


def _never_but(faults: SqliteFaults) -> Any:
    async def switch(kind: str | None) -> None:
        if kind is not None:
            await faults.set(kind)

    return switch


async def test_an_entry_applied_twice_leaves_the_same_row(tmp_path: Path) -> None:
    """A kill between applying a journaled write and acknowledging it applies it again on the
    next start: every step is idempotent, so the row ends the same."""
    db, agent = await fresh_database(tmp_path, "crm")
    faults = SqliteFaults(db)
    log = DurableInteractionLog(db, tmp_path / "journal")
    plan = Plan(True, 1, 1, True, True, ("readonly",) + (None,) * 11)
    try:
        await play(log, db, agent, [plan], _never_but(faults))
        await faults.set(None)
        journal = log._journal
        assert journal is not None
        entries = list(journal.pending)
        for entry in entries:  # applied, then (the kill) applied again before the ack
            await log._replay(entry)
            await log._replay(entry)
            journal.ack(entry.seq)
        twice = await rows(db)
        reference, ref_agent = await fresh_database(tmp_path, "reference")
        await play(InteractionLog(reference), reference, ref_agent, [plan], _never)
        assert twice == await rows(reference)
        await reference.dispose()
    finally:
        await log.close()
        await faults.close()
        await db.dispose()


@pytest.mark.parametrize("kind", ["locked", "readonly"])  # "full" below, on a real full disk
async def test_the_agent_is_told_once_per_outage_and_once_when_it_is_over(
    tmp_path: Path, kind: str
) -> None:
    db, agent = await fresh_database(tmp_path, "crm")
    faults = SqliteFaults(db)
    log = DurableInteractionLog(db, tmp_path / "journal")
    told: list[JournalState] = []
    log.on_change = told.append
    plan = Plan(True, 2, 2, False, True, (kind,) + (None,) * 11)
    try:
        await play(log, db, agent, [plan], _never_but(faults))
        assert [s.reason != "" for s in told] == [True]
        assert kind in told[0].reason.replace(" ", "")  # "database is locked", …
        back = asyncio.Event()
        log.on_change = lambda state: (told.append(state), state.reason or back.set())
        await faults.set(None)
        await back.wait()  # the console's own background task applied it all
        assert log.pending == 0
        assert told[-1].reason == "" and told[-1].applied > 0
    finally:
        await log.close()
        await faults.close()
        await db.dispose()


@pytest.fixture(scope="module")
def pg_server() -> Any:
    from tests.pg import PostgresUnavailable, controlled_postgres_server, unavailable

    try:
        with controlled_postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        unavailable(str(exc))


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=plans([None] * 4 + ["stop", "clear"], most=1, steps=10, calls=3))
def test_postgresql_stopped_mid_call_loses_nothing(pg_server: Any, calls: list[Plan]) -> None:
    """The same property with the PostgreSQL server stopped (``-m immediate``) and started at
    random moments."""
    asyncio.run(_postgres_stopped(pg_server, calls))


async def _postgres_stopped(server: Any, calls: list[Plan]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reference_db, ref_agent = await fresh_database(folder, "reference")
        db = open_database(server.url)
        await upgrade(db)
        async with db.write_connection() as conn:
            await conn.execute(delete(Interaction))
            await conn.execute(delete(Agent))
            agent = await conn.scalar(
                insert(Agent)
                .values(login="alice", display_name="Alice", interface=ME)
                .returning(Agent.id)
            )
        log = DurableInteractionLog(db, folder / "journal")
        running = True

        async def switch(kind: str | None) -> None:
            nonlocal running
            if kind == "stop" and running:
                await asyncio.to_thread(server.stop)
                running = False
            elif kind == "clear" and not running:
                await asyncio.to_thread(server.start)
                running = True

        try:
            await play(InteractionLog(reference_db), reference_db, ref_agent, calls, _never)
            await play(log, db, int(agent or 0), calls, switch)
            await switch("clear")
            await settle(log)
            expected, got = await rows(reference_db), await rows(db)
            assert got == expected
            assert all(len(found) == 1 for found in got.values())
            assert log.refused == []
        finally:
            await switch("clear")
            await log.close()
            await reference_db.dispose()
            await db.dispose()


async def test_recovery_after_a_restart_journals_its_steps_when_the_database_is_read_only(
    tmp_path: Path,
) -> None:
    """A console restarted during an outage closes the calls that ended meanwhile: rows it
    only read from the database (still readable) are journaled from, and saved later."""
    db, agent = await fresh_database(tmp_path, "crm")
    faults = SqliteFaults(db)
    before = InteractionLog(db)
    plan = Plan(True, 0, 0, False, False, ())
    desk = AgentDesk(agent_id=agent, screenpop=ScreenPopService(db), interactions=before)
    await desk.handle(_event(CallOffered, "9.1", T0))
    await desk.handle(_event(CallAnswered, "9.1", T0 + timedelta(seconds=5)))
    assert plan.answered  # the console died talking; the call ended while it was away
    log = DurableInteractionLog(db, tmp_path / "journal")
    try:
        await faults.set("readonly")
        offered_back = await recover_unfinished(log, agent, set(), T0 + timedelta(minutes=2))
        assert offered_back is not None and offered_back.status == "wrapup"
        assert log.pending == 1
        await faults.set(None)
        await settle(log)
        (found,) = (await rows(db))["9.1"]
        assert found["status"] == "wrapup" and found["talk_seconds"] == 115
    finally:
        await log.close()
        await faults.close()
        await db.dispose()


async def test_without_a_journal_folder_writes_go_to_the_database_alone(tmp_path: Path) -> None:
    """A journal folder that can't be made (read-only home, full disk at start) leaves the
    console as it was before the journal: writes to the database, its refusals raised."""
    db, agent = await fresh_database(tmp_path, "crm")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal folder should be")
    log = DurableInteractionLog(db, blocker / "journal")
    faults = SqliteFaults(db)
    try:
        desk = AgentDesk(agent_id=agent, screenpop=ScreenPopService(db), interactions=log)
        await desk.handle(_event(CallOffered, "8.1", T0))
        assert log.journal_error is not None
        assert len((await rows(db))["8.1"]) == 1
        await faults.set("readonly")
        with pytest.raises(OperationalError, match="readonly"):
            await desk.handle(_event(CallAnswered, "8.1", T0 + timedelta(seconds=5)))
    finally:
        await log.close()
        await faults.close()
        await db.dispose()
