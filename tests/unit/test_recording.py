"""Session recording: buffered, batched, kept while the database is away, read back in order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from console.cti.protocol import (
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CtiEvent,
    EndReason,
    LinkState,
    LinkStateChanged,
    OriginateFailed,
    QueueChanged,
    TranscriptLine,
)
from console.db import Database, open_database
from console.models import Interaction
from console.models.enums import SessionKind
from console.schema import alembic_config
from console.services.training.recording import SessionRecorder
from console.services.training.session_log import RecordedAction, RecordedEvent, SessionLog

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def offered(linkedid: str = "L1", at: datetime = T0, **changes: Any) -> CallOffered:
    fields: dict[str, Any] = dict(
        uniqueid=linkedid.replace("L", "U"),
        linkedid=linkedid,
        queue="support",
        caller_id="+14155550123",
        caller_name="Ann Caller",
        interface="PJSIP/1001",
        member_name="Demo Agent",
        channel="PJSIP/trunk-1",
        agent_channel="PJSIP/1001-1",
        waited=3.5,
        at=at,
    )
    return CallOffered(**(fields | changes))


def queue_changed(at: datetime = T0) -> QueueChanged:
    return QueueChanged(
        queue="support",
        waiting=2,
        oldest_joined_at=at - timedelta(seconds=40),
        longest_wait=40.0,
        members=3,
        available=1,
        paused=1,
        completed=10,
        abandoned=1,
        strategy="rrmemory",
        avg_hold_time=12,
        avg_talk_time=None,
        service_level=20,
        service_level_perf=81.5,
        service_level_perf2=None,
        at=at,
    )


def one_of_each_event() -> list[CtiEvent]:
    """Every typed CTI event, with enums, optional times and floats filled in."""
    ids = {"uniqueid": "U1", "linkedid": "L1"}
    return [
        offered(resync=True, direction="outbound", action_id="A-7"),
        CallAnswered(
            **ids,
            queue="support",
            interface="PJSIP/1001",
            member_name="Demo Agent",
            channel="PJSIP/trunk-1",
            agent_channel="PJSIP/1001-1",
            hold_time=4,
            ring_time=None,
            at=T0,
        ),
        CallHeld(**ids, interface="PJSIP/1001", at=T0),
        CallResumed(**ids, interface="PJSIP/1001", at=T0),
        CallTransferred(**ids, interface="PJSIP/1001", target="602", context="", at=T0),
        CallEnded(
            **ids,
            queue="support",
            interface="PJSIP/1001",
            answered=True,
            reason=EndReason.TRANSFER,
            cause=16,
            cause_text="Normal Clearing",
            talk_time=61,
            at=T0,
        ),
        CallAbandoned(
            **ids,
            queue="support",
            caller_id="<unknown>",
            caller_name="<unknown>",
            position=2,
            original_position=3,
            waited=None,
            at=T0,
        ),
        OriginateFailed(action_id="A-9", reason=3, at=T0),
        CallbackRequested(uniqueid="U5", queue="support", number="+14155550199", waited=90, at=T0),
        AgentStateChanged(
            interface="PJSIP/1001",
            member_name="Demo Agent",
            queue="support",
            logged_in=True,
            paused=True,
            reason="lunch",
            status=1,
            status_text="Not in use",
            in_call=False,
            at=T0,
        ),
        queue_changed(),
        TranscriptLine(
            **ids, speaker="caller", text="My invoice\x1b[31m is wrong", script="", at=T0
        ),
        LinkStateChanged(
            state=LinkState.RECONNECTING,
            since=T0,
            detail="no Pong within 5s",
            attempt=2,
            retry_in=0.4,
        ),
    ]


def recorder(
    db: Database, clock: Callable[[], datetime] | None = None, **options: Any
) -> SessionRecorder:
    return SessionRecorder(db, agent_id=1, clock=clock or Clock(), host="desk-7", **options)


def rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


async def until(check: Callable[[], object], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling the recorder's progress is the point
            await asyncio.sleep(0.01)


@pytest.fixture
async def impatient(db: Database, db_path: Path) -> AsyncIterator[Database]:
    """The migrated test database opened again with a 50 ms busy timeout: a locked file is
    'the database is away' at once instead of after 5 s."""
    database = open_database(f"sqlite:///{db_path}", busy_timeout_ms=50)
    try:
        yield database
    finally:
        await database.dispose()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process holds the SQLite file's write lock: every write fails (busy)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        con.execute("ROLLBACK")
        con.close()


# ---------------------------------------------------------------- buffering and batching


async def test_records_wait_in_memory_until_a_flush_writes_them(
    db: Database, db_path: Path
) -> None:
    rec = recorder(db)
    rec.record_event(offered())
    rec.record_action("pop_shown", call_id="L1", customer_id=42)
    assert rows(db_path, "SELECT count(*) FROM call_events") == [(0,)]
    assert rec.stats.pending == 2

    assert await rec.flush() == 2
    assert rec.stats.pending == 0
    assert rows(db_path, "SELECT id, agent_id, kind, host, ended_at FROM sessions") == [
        (rec.session_id, 1, "live", "desk-7", None)
    ]
    assert rows(db_path, "SELECT seq, call_id, event_type FROM call_events") == [
        (1, "L1", "CallOffered")
    ]
    assert rows(db_path, "SELECT seq, call_id, kind FROM agent_actions") == [(2, "L1", "pop_shown")]


async def test_a_flush_is_one_transaction_of_executemany_inserts(db: Database) -> None:
    commits: list[int] = []
    inserts: list[bool] = []

    def on_commit(_conn: Any) -> None:
        commits.append(1)

    def on_execute(_c: Any, _cur: Any, sql: str, _p: Any, _ctx: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("INSERT"):
            inserts.append(many)

    engine = db.engine.sync_engine
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_execute)
    rec = recorder(db)
    for n in range(150):
        rec.record_event(offered(f"L{n}"))
        rec.record_action("hold", call_id=f"L{n}")
    assert await rec.flush() == 300
    assert len(commits) == 1  # the session row, 150 events and 150 actions together
    assert inserts == [False, True, True]  # the session, then one executemany per table

    commits.clear()
    small = recorder(db, rows_per_transaction=100)
    for n in range(250):
        small.record_action("hold", call_id=f"L{n}")
    assert await small.flush() == 250
    assert len(commits) == 3  # 100 + 100 + 50: a long backlog doesn't hold the lock at once


async def test_the_background_task_writes_on_its_interval(db: Database, db_path: Path) -> None:
    rec = recorder(db, flush_interval=0.05)
    rec.start()
    rec.record_action("ready", reason="")
    await until(lambda: rec.stats.written == 1)
    assert rows(db_path, "SELECT kind FROM agent_actions") == [("ready",)]
    await rec.stop()


async def test_a_full_batch_is_written_without_waiting_for_the_interval(db: Database) -> None:
    rec = recorder(db, flush_interval=60, batch_size=5)
    rec.start()
    await asyncio.sleep(0.1)  # the session row is written on the first interval, not now
    for _ in range(4):
        rec.record_action("hold")
    await asyncio.sleep(0.2)
    assert rec.stats.written == 0
    rec.record_action("unhold")
    await until(lambda: rec.stats.written == 5, within=2)
    await rec.stop()


async def test_stop_writes_what_is_left_and_ends_the_session(db: Database, db_path: Path) -> None:
    clock = Clock()
    rec = recorder(db, clock, flush_interval=60)
    rec.start()
    rec.record_action("not_ready", reason="lunch")
    clock.advance(30)
    await rec.stop()
    rec.record_action("ignored")  # after logout nothing is recorded
    assert rows(db_path, "SELECT kind FROM agent_actions") == [("not_ready",)]
    (ended,) = rows(db_path, "SELECT ended_at FROM sessions")[0]
    assert ended is not None
    info = await SessionLog(db).sessions(1, T0, T0 + timedelta(hours=1))
    assert [(s.id, s.ended_at) for s in info] == [(rec.session_id, T0 + timedelta(seconds=30))]


# ---------------------------------------------------------------- the database away


async def test_database_away_then_back_loses_nothing(impatient: Database, db_path: Path) -> None:
    warnings: list[str] = []
    clock = Clock()
    rec = recorder(impatient, clock, flush_interval=0.02, retry_cap=0.05)
    rec.start(on_warning=warnings.append)
    with locked(db_path):
        for n in range(30):
            clock.advance(1)
            if n % 3 == 0:
                rec.record_event(offered(f"L{n}", at=clock.now))
            else:
                rec.record_action("hold", call_id=f"L{n}")
            await asyncio.sleep(0.005)  # the console keeps running meanwhile
        await until(lambda: rec.stats.failures >= 3)
        assert rows(db_path, "SELECT count(*) FROM agent_actions") == [(0,)]
        assert rec.stats.pending == 30
    await until(lambda: rec.stats.pending == 0)
    await rec.stop()

    assert len(warnings) == 1 and "database is unavailable" in warnings[0]
    saved = rows(
        db_path,
        "SELECT seq FROM call_events UNION ALL SELECT seq FROM agent_actions ORDER BY seq",
    )
    assert [s for (s,) in saved] == list(range(1, 31))  # every record, once
    log = await SessionLog(impatient).for_session(rec.session_id)
    assert [r.call_id for r in log] == [f"L{n}" for n in range(30)]


async def test_a_batch_retried_after_its_commit_is_saved_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection dies after COMMIT went through: the retry must not duplicate."""
    real = db.write_connection
    calls = 0

    @asynccontextmanager
    async def commits_then_fails() -> AsyncIterator[AsyncConnection]:
        nonlocal calls
        async with real() as conn:
            yield conn
        calls += 1
        if calls == 1:
            raise OperationalError("COMMIT", None, ConnectionError("connection reset"))

    monkeypatch.setattr(db, "write_connection", commits_then_fails)
    rec = recorder(db)
    rec.record_event(offered())
    rec.record_action("answer", call_id="L1")
    with pytest.raises(OperationalError):
        await rec.flush()
    assert rec.stats.pending == 2  # not known to be saved: kept
    assert await rec.flush() == 2
    log = await SessionLog(db).for_session(rec.session_id)
    assert [(r.seq, r.kind) for r in log] == [(1, "CallOffered"), (2, "answer")]


async def test_the_buffer_is_bounded_dropping_the_oldest_with_one_warning(
    impatient: Database, db_path: Path
) -> None:
    warnings: list[str] = []
    rec = recorder(impatient, max_pending=10, flush_interval=0.02, retry_cap=0.05)
    rec.start(on_warning=warnings.append)
    with locked(db_path):
        await until(lambda: rec.stats.failures >= 1)
        for n in range(1, 26):
            rec.record_action("hold", call_id=f"L{n}")
        assert (rec.stats.pending, rec.stats.dropped) == (10, 15)
    await until(lambda: rec.stats.pending == 0 and rec.stats.written >= 11)
    await rec.stop()

    assert sum("buffer full" in w for w in warnings) == 1
    assert sum("unavailable" in w for w in warnings) == 1
    log = await SessionLog(impatient).for_session(rec.session_id)
    kept = [r for r in log if r.kind == "hold"]
    assert [r.seq for r in kept] == list(range(16, 26))  # the newest ten
    gap = [r for r in log if r.kind == "recording_gap"]
    assert len(gap) == 1 and isinstance(gap[0], RecordedAction)
    assert gap[0].details == {"dropped": 15}


# ---------------------------------------------------------------- what is stored


async def test_every_cti_event_type_is_stored_and_rebuilt_exactly(db: Database) -> None:
    events = one_of_each_event()
    rec = recorder(db)
    for cti_event in events:
        rec.record_event(cti_event)
    await rec.flush()
    log = await SessionLog(db).for_session(rec.session_id)
    assert all(isinstance(r, RecordedEvent) for r in log)
    rebuilt = [r.event() for r in log if isinstance(r, RecordedEvent)]
    # All but the queue figures, which no view of a session shows (recording.NOT_RECORDED).
    assert any(isinstance(e, QueueChanged) for e in events)
    assert rebuilt == [e for e in events if not isinstance(e, QueueChanged)]
    first = log[0]
    assert isinstance(first, RecordedEvent)
    assert first.payload["at"] == "2026-11-02T09:00:00+00:00"  # times as ISO 8601 UTC
    assert first.event_at == T0 and first.call_id == "L1"
    assert {r.call_id for r in log[-3:]} == {None, "L1"}  # queue and link events: no call


async def test_action_details_are_json_safe_and_sanitised(db: Database) -> None:
    @dataclass(frozen=True)
    class Pick:
        customer_id: int
        when: datetime
        tier: SessionKind

    rec = recorder(db)
    rec.record_action(
        "notes_saved",
        call_id="L1",
        interaction_id=7,
        notes="Refund\x1b[31m agreed\u202e\nline two",
        pick=Pick(5, T0, SessionKind.TRAINING),
        matches=(5, 6),
        score=float("nan"),
    )
    await rec.flush()
    (action,) = await SessionLog(db).for_session(rec.session_id)
    assert isinstance(action, RecordedAction)
    assert (action.call_id, action.interaction_id) == ("L1", 7)
    assert action.details == {
        "notes": "Refund agreed\nline two",
        "pick": {"customer_id": 5, "when": "2026-11-02T09:00:00+00:00", "tier": "training"},
        "matches": [5, 6],
        "score": None,
    }


async def test_an_action_given_only_its_interaction_gets_the_call(db: Database) -> None:
    rec = recorder(db)
    rec.record_action("wrap_up_opened", call_id="L1", interaction_id=7)
    rec.record_action("ticket_created", interaction_id=7, ticket_id=3)
    rec.record_action("ticket_commented", ticket_id=3)  # outside any call
    await rec.flush()
    log = await SessionLog(db).for_session(rec.session_id)
    assert [(r.kind, r.call_id) for r in log] == [
        ("wrap_up_opened", "L1"),
        ("ticket_created", "L1"),
        ("ticket_commented", None),
    ]


# ---------------------------------------------------------------- reading back


async def test_events_and_actions_merge_by_time_then_seq(db: Database) -> None:
    clock = Clock()
    rec = recorder(db, clock)
    rec.record_event(offered())
    rec.record_action("pop_shown", call_id="L1")  # the same instant: seq decides
    clock.advance(-5)  # the wall clock steps back (NTP): the session's order still holds
    rec.record_action("answer", call_id="L1")
    clock.advance(7)
    rec.record_event(CallHeld(uniqueid="U1", linkedid="L1", interface="PJSIP/1001", at=T0))
    await rec.flush()

    log = await SessionLog(db).for_session(rec.session_id)
    assert [r.kind for r in log] == ["CallOffered", "pop_shown", "answer", "CallHeld"]
    assert [r.seq for r in log] == [1, 2, 3, 4]
    assert [r.at for r in log] == [T0, T0, T0, T0 + timedelta(seconds=2)]


async def test_for_call_and_for_agent(db: Database) -> None:
    async with db.write() as session:
        call = Interaction(uniqueid="U1", linkedid="L1", offered_at=T0)
        session.add(call)
        await session.flush()
        interaction_id = call.id

    clock = Clock(T0 - timedelta(seconds=60))
    ann = recorder(db, clock)  # agent 1
    bob = SessionRecorder(db, agent_id=2, clock=clock)
    ann.record_action("ready", reason="")  # before the shift window below
    clock.advance(60)
    ann.record_event(offered("L1", at=clock.now))
    ann.record_action("pop_shown", call_id="L1")
    clock.advance(1)
    ann.record_event(queue_changed(clock.now))  # queue figures: not recorded
    ann.record_event(offered("L2", at=clock.now))  # another call
    clock.advance(1)
    ann.record_action("transfer", call_id="L1", target="602")
    clock.advance(1)
    bob.record_event(offered("L1", at=clock.now, interface="PJSIP/1002"))  # the transfer lands
    clock.advance(1)
    ann.record_action("hangup", call_id="L2")
    await ann.flush()
    await bob.flush()
    await ann.stop()

    # Ann logs in again after a restart and finishes the wrap-up of L1: this session never
    # saw the call, only its interaction.
    clock.advance(60)
    again = recorder(db, clock)
    again.record_action("wrap_up_saved", interaction_id=interaction_id, disposition="resolved")
    await again.flush()

    log = SessionLog(db)
    everything = await log.for_call("L1")
    assert [(r.agent_id, r.kind) for r in everything] == [
        (1, "CallOffered"),
        (1, "pop_shown"),
        (1, "transfer"),
        (2, "CallOffered"),
        (1, "wrap_up_saved"),
    ]
    assert [r.at for r in everything] == sorted(r.at for r in everything)
    anns = await log.for_call("L1", agent_id=1)
    assert [r.kind for r in anns] == ["CallOffered", "pop_shown", "transfer", "wrap_up_saved"]
    transfer = anns[2]
    assert isinstance(transfer, RecordedAction) and transfer.details == {"target": "602"}

    shift = await log.for_agent(1, T0, T0 + timedelta(seconds=5))
    assert [(r.kind, r.call_id) for r in shift] == [
        ("CallOffered", "L1"),
        ("pop_shown", "L1"),
        ("CallOffered", "L2"),
        ("transfer", "L1"),
        ("hangup", "L2"),
    ]
    assert await log.for_agent(1, T0, T0 + timedelta(seconds=4)) == shift[:-1]  # end excluded
    assert await log.for_agent(1, T0, T0 + timedelta(seconds=5), limit=2) == shift[:2]
    sessions = await log.sessions(1, T0, T0 + timedelta(hours=1))
    assert [s.id for s in sessions] == [ann.session_id, again.session_id]
    assert sessions[0].ended_at is not None and sessions[1].ended_at is None


async def test_a_training_session_says_so(db: Database) -> None:
    rec = SessionRecorder(db, agent_id=3, kind="training", training_run_id=12, clock=Clock())
    await rec.flush()
    (info,) = await SessionLog(db).sessions(3, T0, T0 + timedelta(minutes=1))
    assert (info.kind, info.training_run_id) == (SessionKind.TRAINING, 12)


# ---------------------------------------------------------------- the migration


def test_migration_0008_keeps_call_events_and_downgrades(db_path: Path) -> None:
    engine = create_engine(f"sqlite:///{db_path}")
    cfg = alembic_config()

    def migrate(to: str, down: bool = False) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, to)

    def tables() -> set[str]:
        with engine.connect() as conn:
            return {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}

    try:
        migrate("0007")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO call_events (call_id, seq, received_at, event_type, payload) "
                "VALUES ('L9', 1, 1762074000000000, 'CallOffered', '{}')"
            )
        migrate("0008")
        assert {"sessions", "agent_actions"} <= tables()
        with engine.connect() as conn:
            kept = conn.exec_driver_sql(
                "SELECT call_id, session_id, agent_id, event_at FROM call_events"
            ).all()
        assert [tuple(r) for r in kept] == [("L9", None, None, None)]

        migrate("0007", down=True)
        assert not {"sessions", "agent_actions"} & tables()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT call_id FROM call_events").all() == [("L9",)]
        migrate("0008")  # and up again
    finally:
        engine.dispose()
