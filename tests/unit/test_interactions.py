"""The interaction log: written from ring to wrap-up, idempotent, never going backwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from console.db import Database, open_database
from console.models import Agent, Customer, FollowUp, Interaction, Ticket
from console.models.enums import FollowUpKind, InteractionStatus
from console.services.desk.interactions import InteractionError, InteractionLog, WrapUp, WrapUpError

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
S = InteractionStatus


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
async def ids(db: Database) -> dict[str, int]:
    async with db.write() as s:
        agent = Agent(login="ann", display_name="Ann Agent")
        other = Agent(login="bob", display_name="Bob Agent")
        customer = Customer(display_name="Alice Adams")
        s.add_all([agent, other, customer])
        await s.flush()
        ticket = Ticket(customer_id=customer.id, subject="Broken router")
        s.add(ticket)
        await s.flush()
        return {"agent": agent.id, "other": other.id, "customer": customer.id, "ticket": ticket.id}


def log(db: Database) -> InteractionLog:
    return InteractionLog(db, clock=lambda: T0)


async def ring(db: Database, ids: dict[str, int], uniqueid: str = "1700000000.1", **over: object):
    args: dict[str, object] = {
        "uniqueid": uniqueid,
        "linkedid": "1700000000.0",
        "agent_id": ids["agent"],
        "queue_name": "support",
        "caller_raw": "+1 415 555 0123",
        "caller_e164": "+14155550123",
        "caller_name": "Alice",
        "customer_id": ids["customer"],
        "offered_at": at(0),
        "wait_seconds": 12.4,
    }
    args.update(over)
    return await log(db).ring(**args)  # type: ignore[arg-type]


async def test_a_full_call_is_logged_at_every_step(db: Database, ids: dict[str, int]) -> None:
    rec = await ring(db, ids)
    assert rec.status is S.RINGING and rec.queue_name == "support" and rec.wait_seconds == 12
    assert rec.customer_id == ids["customer"] and rec.offered_at == at(0)
    service = log(db)
    assert (await service.answered(rec.id, at(5))).status is S.ACTIVE
    assert (await service.held(rec.id, at(65))).status is S.HELD
    resumed = await service.resumed(rec.id, at(95))
    assert resumed.status is S.ACTIVE and resumed.hold_seconds == 30
    assert resumed.hold_started_at is None
    await service.held(rec.id, at(100))
    await service.resumed(rec.id, at(110))
    ended = await service.ended(rec.id, at(305))
    assert ended.status is S.WRAPUP
    assert ended.hold_seconds == 40
    assert ended.talk_seconds == 300 - 40  # answered at 5, ended at 305, 40 s on hold
    assert await service.save_draft(rec.id, notes="Router reset", disposition="resolved")
    done = await service.wrap_up(
        rec.id,
        WrapUp("resolved", "Router reset, works now", resolved_first_contact=True, csat=5),
        at(335),
    )
    assert done.status is S.COMPLETED and done.wrap_seconds == 30
    assert done.notes == "Router reset, works now" and done.csat == 5
    assert done.resolved_first_contact is True
    # What the console wrote is what a fresh read returns (aware UTC times included).
    again = await service.get(rec.id)
    assert again == done
    assert again is not None and again.wrapped_at is not None
    assert again.wrapped_at.tzinfo is not None and again.wrapped_at == at(335)


async def test_a_duplicate_ring_returns_the_same_row(db: Database, ids: dict[str, int]) -> None:
    first = await ring(db, ids)
    await log(db).answered(first.id, at(3))
    again = await ring(db, ids, caller_name="Someone else", offered_at=at(50))
    assert again.id == first.id
    assert again.status is S.ACTIVE and again.caller_name == "Alice"
    # The same call leg ringing another agent is another row.
    theirs = await ring(db, ids, agent_id=ids["other"])
    assert theirs.id != first.id
    async with db.session() as s:
        assert len((await s.execute(Interaction.__table__.select())).all()) == 2


async def test_concurrent_duplicate_rings_make_one_row(db_path: Path, ids: dict[str, int]) -> None:
    # Two connections racing the same ring (e.g. a replayed event) must not both insert.
    databases = [open_database(f"sqlite:///{db_path}") for _ in range(2)]
    try:
        records = await asyncio.gather(*(ring(d, ids) for d in databases))
    finally:
        for d in databases:
            await d.dispose()
    assert records[0].id == records[1].id


async def test_duplicate_and_late_events_change_nothing(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids)
    await service.answered(rec.id, at(5))
    await service.answered(rec.id, at(9))  # duplicate AgentConnect
    await service.resumed(rec.id, at(20))  # Unhold without a Hold
    ended = await service.ended(rec.id, at(65))
    assert ended.answered_at == at(5) and ended.talk_seconds == 60
    for late in (
        service.ended(rec.id, at(500)),
        service.held(rec.id, at(70)),
        service.answered(rec.id, at(71)),
        service.missed(rec.id, at(72)),
    ):
        after = await late
        assert (after.status, after.ended_at, after.talk_seconds) == (S.WRAPUP, at(65), 60)
    done = await service.wrap_up(rec.id, WrapUp("info_given", "told them"), at(80))
    twice = await service.wrap_up(rec.id, WrapUp("resolved", "other text"), at(90))
    assert twice == done and twice.disposition == "info_given"
    # A debounced draft save arriving after the wrap-up does not overwrite it.
    assert await service.save_draft(rec.id, notes="stale draft") is False
    got = await service.get(rec.id)
    assert got is not None and got.notes == "told them"


async def test_timestamps_never_go_backwards(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids, offered_at=at(100))
    answered = await service.answered(rec.id, at(90))  # a skewed clock
    assert answered.answered_at == at(100)
    held = await service.held(rec.id, at(50))
    assert held.hold_started_at == at(100)
    ended = await service.ended(rec.id, at(40))
    assert ended.ended_at == at(100) and ended.talk_seconds == 0 and ended.hold_seconds == 0
    done = await service.wrap_up(rec.id, WrapUp("no_action"), at(0))
    assert done.wrapped_at == at(100) and done.wrap_seconds == 0


async def test_hanging_up_while_on_hold_counts_the_hold(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids)
    await service.answered(rec.id, at(0))
    await service.held(rec.id, at(60))
    ended = await service.ended(rec.id, at(100))
    assert (ended.hold_seconds, ended.talk_seconds, ended.status) == (40, 60, S.WRAPUP)


async def test_unanswered_calls_end_as_missed(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rang = await ring(db, ids, uniqueid="u-1")
    missed = await service.missed(rang.id, at(15))
    assert missed.status is S.MISSED and missed.ended_at == at(15) and missed.talk_seconds == 0
    assert (await service.answered(rang.id, at(16))).status is S.MISSED  # too late
    hung_up = await ring(db, ids, uniqueid="u-2")
    assert (await service.ended(hung_up.id, at(8))).status is S.MISSED
    with pytest.raises(WrapUpError, match="missed"):
        await service.wrap_up(hung_up.id, WrapUp("resolved"), at(9))


async def test_a_call_that_rang_out_and_comes_back_rings_the_same_row_again(
    db: Database, ids: dict[str, int]
) -> None:
    """Ring-no-answer, then the queue offers the caller to this agent again (same Uniqueid)."""
    service = log(db)
    first = await ring(db, ids, uniqueid="u-3")
    await service.missed(first.id, at(20))
    again = await ring(db, ids, uniqueid="u-3", offered_at=at(23), wait_seconds=35)
    assert again.id == first.id
    assert again.status is S.RINGING and again.ended_at is None
    assert again.offered_at == at(0) and again.wait_seconds == 35
    answered = await service.answered(again.id, at(25))
    assert answered.status is S.ACTIVE and answered.answered_at == at(25)


async def test_transfer_ends_the_agents_part(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids)
    await service.answered(rec.id, at(0))
    moved = await service.transferred(rec.id, "PJSIP/2002 [bold]x", at(45))
    assert moved.status is S.WRAPUP and moved.talk_seconds == 45
    assert moved.transferred_to == "PJSIP/2002 [bold]x" and moved.disposition == "transferred"
    after = await service.ended(rec.id, at(50))  # the hang-up that follows a blind transfer
    assert after.ended_at == at(45) and after.talk_seconds == 45


async def test_customer_can_be_picked_later(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids, customer_id=None)
    assert rec.customer_id is None
    assert (await service.set_customer(rec.id, ids["customer"])).customer_id == ids["customer"]
    with pytest.raises(InteractionError, match="customer 999 does not exist"):
        await service.set_customer(rec.id, 999)
    assert (await service.get(rec.id)).customer_id == ids["customer"]  # type: ignore[union-attr]
    # A customer deleted between the pop and the ring is stored as unknown, not an error.
    gone = await ring(db, ids, uniqueid="u-9", customer_id=424242)
    assert gone.customer_id is None


async def test_wrap_up_requires_what_the_disposition_needs(
    db: Database, ids: dict[str, int]
) -> None:
    service = log(db)
    rec = await ring(db, ids)
    await service.answered(rec.id, at(0))
    with pytest.raises(WrapUpError, match="still in progress"):
        await service.wrap_up(rec.id, WrapUp("resolved"), at(10))
    await service.ended(rec.id, at(60))
    await service.save_draft(rec.id, notes="draft kept")
    with pytest.raises(WrapUpError, match="needs a ticket"):
        await service.wrap_up(rec.id, WrapUp("escalated", "x"), at(70))
    with pytest.raises(WrapUpError, match="ticket #777 does not exist"):
        await service.wrap_up(rec.id, WrapUp("escalated", "x", ticket_id=777), at(70))
    with pytest.raises(WrapUpError, match="needs a follow-up"):
        await service.wrap_up(rec.id, WrapUp("callback_scheduled", "x"), at(70))
    with pytest.raises(WrapUpError, match="unknown disposition 'nope'"):
        await service.wrap_up(rec.id, WrapUp("nope"), at(70))
    with pytest.raises(WrapUpError, match="CSAT"):
        await service.wrap_up(rec.id, WrapUp("resolved", csat=9), at(70))
    with pytest.raises(WrapUpError, match="choose a disposition"):
        await service.wrap_up(rec.id, WrapUp(""), at(70))
    # Nothing the refused wrap-ups carried was saved.
    kept = await service.get(rec.id)
    assert kept is not None and kept.status is S.WRAPUP and kept.notes == "draft kept"
    assert kept.disposition == "" and kept.ticket_id is None
    # With the ticket given it goes through and the ticket is linked.
    done = await service.wrap_up(rec.id, WrapUp("escalated", "x", ticket_id=ids["ticket"]), at(70))
    assert done.status is S.COMPLETED and done.ticket_id == ids["ticket"]


async def test_a_scheduled_follow_up_satisfies_callback(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    rec = await ring(db, ids)
    await service.answered(rec.id, at(0))
    await service.ended(rec.id, at(10))
    async with db.write() as s:
        s.add(
            FollowUp(
                kind=FollowUpKind.CALLBACK,
                customer_id=ids["customer"],
                interaction_id=rec.id,
                due_at=at(86_400),
            )
        )
    done = await service.wrap_up(rec.id, WrapUp("callback_scheduled", "call back"), at(20))
    assert done.disposition == "callback_scheduled"


async def test_unfinished_rows_come_back_after_a_crash(
    db_path: Path, db: Database, ids: dict[str, int]
) -> None:
    service = log(db)
    done = await ring(db, ids, uniqueid="u-1", offered_at=at(0))
    await service.answered(done.id, at(1))
    await service.ended(done.id, at(2))
    await service.wrap_up(done.id, WrapUp("resolved"), at(3))
    wrapping = await ring(db, ids, uniqueid="u-2", offered_at=at(10))
    await service.answered(wrapping.id, at(11))
    await service.ended(wrapping.id, at(20))
    await service.save_draft(wrapping.id, notes="half-written note", disposition="resolved")
    talking = await ring(db, ids, uniqueid="u-3", offered_at=at(30))
    await service.answered(talking.id, at(31))
    await ring(db, ids, uniqueid="u-4", agent_id=ids["other"])
    # A new process on the same file (the crash) sees exactly what was committed.
    fresh = open_database(f"sqlite:///{db_path}")
    try:
        rows = await InteractionLog(fresh, clock=lambda: T0).unfinished(ids["agent"])
        # However old they are (the partial index keeps the lookup cheap).
        later = InteractionLog(fresh, clock=lambda: T0 + timedelta(days=80))
        assert len(await later.unfinished(ids["agent"])) == 2
    finally:
        await fresh.dispose()
    assert [r.uniqueid for r in rows] == ["u-3", "u-2"]
    assert rows[1].notes == "half-written note" and rows[1].disposition == "resolved"
    assert rows[0].is_in_call and rows[1].is_unfinished and not rows[1].is_in_call


async def test_hostile_caller_text_is_stored_safely(db: Database, ids: dict[str, int]) -> None:
    rec = await ring(
        db,
        ids,
        caller_raw="\x1b]0;pwned\x07+1 415\u202e555",
        caller_e164="not-e164",
        caller_name="[bold red]x[/] [@click=app.quit]\x1b[31m" + "y" * 10_000,
        queue_name="\x1b[2Jsupport\u202e",
        linkedid="L" * 500,
    )
    assert rec.caller_raw == "+1 415555" and rec.caller_e164 is None
    assert rec.caller_name.startswith("[bold red]x[/] [@click=app.quit]y")
    assert len(rec.caller_name) == 120 and "\x1b" not in rec.caller_name
    assert rec.queue_name == "support" and len(rec.linkedid) == 64
    service = log(db)
    await service.save_draft(rec.id, notes="line one\r\nline \u202etwo\x1b[31m")
    got = await service.get(rec.id)
    assert got is not None and got.notes == "line one\nline two"


async def test_bad_input_is_refused_with_one_line(db: Database, ids: dict[str, int]) -> None:
    service = log(db)
    with pytest.raises(InteractionError, match="agent 999 does not exist"):
        await ring(db, ids, agent_id=999)
    with pytest.raises(InteractionError, match="Uniqueid"):
        await ring(db, ids, uniqueid="\x1b[0m ")
    with pytest.raises(InteractionError, match="time zone"):
        await ring(db, ids, offered_at=datetime(2026, 1, 1))
    with pytest.raises(InteractionError, match="interaction 12345 does not exist"):
        await service.answered(12345, at(0))
    with pytest.raises(InteractionError, match="positive record id"):
        await service.answered(2**70, at(0))
    rec = await ring(db, ids)
    with pytest.raises(InteractionError, match="too long"):
        await service.save_draft(rec.id, notes="n" * 20_001)
    with pytest.raises(WrapUpError, match="unknown disposition"):
        await service.save_draft(rec.id, disposition="bogus")
    assert await service.save_draft(12345, notes="x") is False
    got = await service.get(rec.id)
    assert got is not None and got.notes == "" and got.status is S.RINGING
    assert await service.get(12345) is None


async def test_the_unfinished_lookup_uses_its_partial_index(db: Database) -> None:
    """The query must match the index's condition literally, or SQLite scans the history."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from console.services.desk import interactions

    stmt = interactions._SELECT.where(
        Interaction.agent_id == 1, text(interactions.UNFINISHED)
    ).order_by(Interaction.offered_at.desc())
    sql = str(
        stmt.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
    )
    async with db.engine.connect() as conn:
        plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
    assert any("ix_interactions_agent_unfinished" in str(row) for row in plan), plan
