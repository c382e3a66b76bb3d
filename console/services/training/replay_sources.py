"""Where replays come from: the recorded call events and agent actions in the database.

- `ReplaySources` loads the records of one call, one agent's shift or one console session (a
  training run is a time window of the trainee's session), with the prelude a window needs so
  its first frame shows what the console showed when the window opens.
- `LiveTail` follows a session as it is being recorded (a trainer watching a trainee), by
  `seq`, cheaply enough to poll twice a second.

Both return raw records, in `record_order` (the order `console.services.training.replay.Replay`
folds
them in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from console.db import Database, RowReader
from console.models import Agent, AgentAction, CallEvent, ConsoleSession
from console.models.base import from_db_time
from console.services.training.masking import Masker
from console.services.training.session_log import (
    Recorded,
    RecordedAction,
    RecordedEvent,
    SessionLog,
)

TAIL_BATCH = 5000  # records one poll reads at most (the rest come with the next polls)
PRELUDE_STATES = 50  # member-state events read back before a window's start


def record_order(record: Recorded) -> tuple[datetime, str, int]:
    """The order records are replayed in: by time, then session, then the session's `seq`."""
    return (record.at, record.session_id, record.seq)


# ---------------------------------------------------------------- loading


_EVENT_COLUMNS = tuple(
    getattr(CallEvent, name)
    for name in "session_id seq received_at agent_id call_id event_type event_at payload".split()
)
_ACTION_COLUMNS = tuple(
    getattr(AgentAction, name)
    for name in "session_id seq at agent_id kind call_id interaction_id details".split()
)


def _json(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime:
    converted = from_db_time(value)
    assert converted is not None
    return converted


def _event_record(r: Sequence[Any]) -> RecordedEvent:
    return RecordedEvent(r[0], r[1], _time(r[2]), r[3], r[4], r[5], from_db_time(r[6]), _json(r[7]))


def _action_record(r: Sequence[Any]) -> RecordedAction:
    return RecordedAction(r[0], r[1], _time(r[2]), r[3], r[4], r[5], r[6], _json(r[7]))


class ReplaySources:
    """Loads what a replay shows: a call, an agent's shift, a session (or a window of one)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._log = SessionLog(db)

    async def call(self, linkedid: str) -> list[Recorded]:
        """Everything recorded about one call (its Linkedid), every console that had it."""
        return await self._log.for_call(linkedid)

    async def shift(self, agent_id: int, start: datetime, end: datetime) -> list[Recorded]:
        """One agent's records in [start, end), preceded by a prelude from the sessions
        running at `start`: the call in progress then (from its offer: the pop, answer,
        holds, transcript…) and the last link, training and agent state before it, so the
        first frame shows what the console showed at `start`. Pass the same `start` and
        `end` to `Replay`."""
        window = await self._log.for_agent(agent_id, start, end)
        sessions = await self._log.sessions(agent_id, start, end)
        prelude: list[Recorded] = []
        for session in sessions:
            if session.started_at < start:
                prelude += await self._prelude(session.id, start)
        return _merge(prelude, window)

    async def session(
        self, session_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[Recorded]:
        """One console session, or its window [start, end) with the prelude `shift` reads."""
        events = select(*_EVENT_COLUMNS).where(CallEvent.session_id == session_id)
        actions = select(*_ACTION_COLUMNS).where(AgentAction.session_id == session_id)
        if start is not None:
            events = events.where(CallEvent.received_at >= start)
            actions = actions.where(AgentAction.at >= start)
        if end is not None:
            events = events.where(CallEvent.received_at < end)
            actions = actions.where(AgentAction.at < end)
        window = await self._fetch(events, actions)
        prelude = await self._prelude(session_id, start) if start is not None else []
        return _merge(prelude, window)

    async def agent_names(self, agent_id: int) -> tuple[str, ...]:
        """The agent's queue interface and name (to tell its member states from others')."""
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(Agent.interface, Agent.display_name).where(Agent.id == agent_id)
                )
            ).first()
        return tuple(n for n in (row or ()) if n)

    async def _prelude(self, session_id: str, start: datetime) -> list[Recorded]:
        """What a window of `session_id` opening at `start` needs from before it: the last
        call offered (its own records from the offer on), the last link and training state,
        the last ready / not ready and the latest member states."""
        events = select(*_EVENT_COLUMNS).where(
            CallEvent.session_id == session_id, CallEvent.received_at < start
        )
        actions = select(*_ACTION_COLUMNS).where(
            AgentAction.session_id == session_id, AgentAction.at < start
        )
        newest_e = events.order_by(CallEvent.seq.desc())
        newest = [
            newest_e.where(CallEvent.event_type == kind).limit(limit)
            for kind, limit in (
                ("CallOffered", 1),
                ("LinkStateChanged", 1),
                ("TrainingChanged", 1),
                ("AgentStateChanged", PRELUDE_STATES),
            )
        ]
        ready = actions.where(AgentAction.kind.in_(("ready", "not_ready")))
        async with self._db.session() as session:
            rows_e = [row for stmt in newest for row in (await session.execute(stmt)).all()]
            stmt_a = ready.order_by(AgentAction.seq.desc()).limit(1)
            rows_a = list((await session.execute(stmt_a)).all())
            offer = next((row for row in rows_e if row[5] == "CallOffered"), None)
            if offer is not None and offer[4]:  # the call's own records, from its offer on
                call_e = events.where(CallEvent.call_id == offer[4], CallEvent.seq > offer[1])
                call_a = actions.where(AgentAction.call_id == offer[4], AgentAction.seq > offer[1])
                rows_e += (await session.execute(call_e)).all()
                rows_a += (await session.execute(call_a)).all()
        records: dict[tuple[bool, int], Recorded] = {}
        for row in rows_e:
            records[(True, row[1])] = _event_record(row)
        for row in rows_a:
            records[(False, row[1])] = _action_record(row)
        return sorted(records.values(), key=record_order)

    async def _fetch(self, events: Any, actions: Any) -> list[Recorded]:
        async with self._db.session() as session:
            rows_e = (await session.execute(events)).all()
            rows_a = (await session.execute(actions)).all()
        merged: list[Recorded] = [_event_record(r) for r in rows_e]
        merged += [_action_record(r) for r in rows_a]
        merged.sort(key=record_order)
        return merged


def _merge(prelude: list[Recorded], window: list[Recorded]) -> list[Recorded]:
    seen = {(type(r), r.session_id, r.seq) for r in window}
    extra = [r for r in prelude if (type(r), r.session_id, r.seq) not in seen]
    return sorted(extra + window, key=record_order) if extra else window


# ---------------------------------------------------------------- following a live session

_TAIL_EVENTS = (
    select(*_EVENT_COLUMNS)
    .where(CallEvent.session_id == bindparam("sid"), CallEvent.seq > bindparam("after"))
    .order_by(CallEvent.seq)
    .limit(TAIL_BATCH)
)
_TAIL_ACTIONS = (
    select(*_ACTION_COLUMNS)
    .where(AgentAction.session_id == bindparam("sid"), AgentAction.seq > bindparam("after"))
    .order_by(AgentAction.seq)
    .limit(TAIL_BATCH)
)
_TAIL_SESSION = select(
    ConsoleSession.started_at, ConsoleSession.ended_at, ConsoleSession.details
).where(ConsoleSession.id == bindparam("sid"))


async def live_session(db: Database, agent_id: int) -> str | None:
    """The agent's console session running now (the newest live one not ended), or None."""
    from console.models.enums import SessionKind

    async with db.session() as session:
        found = await session.scalar(
            select(ConsoleSession.id)
            .where(
                ConsoleSession.agent_id == agent_id,
                ConsoleSession.kind == SessionKind.LIVE,
                ConsoleSession.ended_at.is_(None),
            )
            .order_by(ConsoleSession.started_at.desc())
            .limit(1)
        )
    return found


class LiveTail:
    """Follows one console session as it is recorded: each `poll` returns the records written
    since the last one (by `seq`, the session's counter), in order.

    One read transaction of three indexed queries per poll (one worker hop on SQLite). The
    recorder writes a session's records in `seq` order, a chunk per transaction, so once a
    `seq` is visible every earlier one is (or was dropped and never will be).

    `masker`: how the screen following it builds its `Replay` (the tail returns raw records).
    """

    def __init__(self, db: Database, session_id: str, *, masker: Masker | None = None) -> None:
        self._db = db
        self.session_id = session_id
        self.masker = masker
        self.last_seq = 0
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None  # set once the session is over
        self.agent_names: tuple[str, ...] = ()

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    async def poll(self) -> list[Recorded]:
        """The records newer than the last seen (at most TAIL_BATCH of each log per call)."""
        params = {"sid": self.session_id, "after": self.last_seq}

        def read(reader: RowReader) -> tuple[list[Any], list[Any], list[Any]]:
            return (
                reader.rows(_TAIL_SESSION, {"sid": self.session_id}),
                reader.rows(_TAIL_EVENTS, params),
                reader.rows(_TAIL_ACTIONS, params),
            )

        session, events, actions = await self._db.read_rows(read)
        if session:
            started, ended, details = session[0]
            self.started_at = from_db_time(started)
            self.ended_at = from_db_time(ended)
            found = _json(details)
            interface = found.get("interface")
            self.agent_names = (interface,) if isinstance(interface, str) and interface else ()
        # A full batch of one log may stop short of the other's: keep below both cuts.
        cut = None
        for rows in (events, actions):
            if len(rows) >= TAIL_BATCH:
                last = rows[-1][1]
                cut = last if cut is None else min(cut, last)
        records: list[Recorded] = [_event_record(r) for r in events]
        records += [_action_record(r) for r in actions]
        if cut is not None:
            records = [r for r in records if r.seq <= cut]
        records.sort(key=lambda r: r.seq)
        if records:
            self.last_seq = records[-1].seq
        return records
