"""Session recording on a real PostgreSQL server: the same batches, retries and reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import Database
from console.models import Interaction
from console.services.training.recording import NOT_RECORDED, SessionRecorder
from console.services.training.session_log import RecordedEvent, SessionLog
from tests.unit.test_recording import T0, Clock, offered, one_of_each_event

pytestmark = pytest.mark.postgres


async def test_recording_round_trip_on_postgres(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pg_db.write() as session:
        call = Interaction(uniqueid="U1", linkedid="L1", offered_at=T0)
        session.add(call)
        await session.flush()
        interaction_id = call.id

    clock = Clock()
    rec = SessionRecorder(pg_db, agent_id=1, clock=clock, host="desk-7")
    everyone = one_of_each_event()
    for event in everyone:
        rec.record_event(event)
    events = [e for e in everyone if not isinstance(e, NOT_RECORDED)]  # queue figures: not kept
    clock.advance(1)
    rec.record_action("pop_shown", call_id="L1", matches=(4, 5))
    rec.record_action("ticket_created", interaction_id=interaction_id, ticket_id=9)

    # The first write goes through but the connection dies before we hear of it.
    real, calls = pg_db.statements_connection, []

    @asynccontextmanager
    async def commits_then_fails() -> AsyncIterator[AsyncConnection]:
        async with real() as conn:
            yield conn
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("COMMIT", None, ConnectionError("connection reset"))

    monkeypatch.setattr(pg_db, "statements_connection", commits_then_fails)
    with pytest.raises(OperationalError):
        await rec.flush()
    assert await rec.flush() == len(events) + 2
    monkeypatch.undo()
    await rec.stop()

    log = SessionLog(pg_db)
    everything = await log.for_session(rec.session_id)
    assert [r.seq for r in everything] == list(range(1, len(events) + 3))  # once each
    assert [r.event() for r in everything if isinstance(r, RecordedEvent)] == events
    call_log = await log.for_call("L1")
    assert [r.kind for r in call_log][-2:] == ["pop_shown", "ticket_created"]
    shift = await log.for_agent(1, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2))
    assert [r.kind for r in shift] == ["pop_shown", "ticket_created"]
    (info,) = await log.sessions(1, T0, T0 + timedelta(hours=1))
    assert info.host == "desk-7" and info.ended_at is not None

    again = SessionRecorder(pg_db, agent_id=1, clock=clock)
    again.record_event(offered("L2", at=clock.now))
    assert await again.flush() == 1
