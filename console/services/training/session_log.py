"""Session recordings read back: one call (by Linkedid), one agent over a time range (a shift),
one session, as frozen `RecordedEvent` / `RecordedAction` merged by time, then session, then
seq — what a replay needs to redraw the console as it was. `RecordedEvent.event()` rebuilds the
typed CTI event. The write side is `console.services.training.recording`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from console.cti.protocol import CtiEvent
from console.db import Database
from console.models import AgentAction, CallEvent, ConsoleSession, Interaction
from console.models.enums import SessionKind
from console.services.training.recording_codec import decode_event


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A CTI event as one console received it."""

    session_id: str
    seq: int
    at: datetime  # when the console received it (its clock)
    agent_id: int | None
    call_id: str | None
    event_type: str  # the typed event's class name: "CallOffered", "QueueChanged"…
    event_at: datetime | None  # the event's own time
    payload: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return self.event_type

    def event(self) -> CtiEvent | None:
        """The typed event again (`console.cti.protocol`), for a replay to feed a console."""
        return decode_event(self.event_type, self.payload)


@dataclass(frozen=True, slots=True)
class RecordedAction:
    """Something the agent did."""

    session_id: str
    seq: int
    at: datetime
    agent_id: int
    kind: str  # "ready", "hold", "pop_shown", "wrap_up_saved", "ticket_created"…
    call_id: str | None
    interaction_id: int | None
    details: Mapping[str, Any]


Recorded = RecordedEvent | RecordedAction


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One console login."""

    id: str
    agent_id: int
    kind: SessionKind
    training_run_id: int | None
    host: str
    started_at: datetime
    ended_at: datetime | None
    details: Mapping[str, Any]


_EVENT_COLUMNS = (
    CallEvent.session_id,
    CallEvent.seq,
    CallEvent.received_at,
    CallEvent.agent_id,
    CallEvent.call_id,
    CallEvent.event_type,
    CallEvent.event_at,
    CallEvent.payload,
)
_ACTION_COLUMNS = (
    AgentAction.session_id,
    AgentAction.seq,
    AgentAction.at,
    AgentAction.agent_id,
    AgentAction.kind,
    AgentAction.call_id,
    AgentAction.interaction_id,
    AgentAction.details,
)


def _order(record: Recorded) -> tuple[datetime, str, int]:
    return (record.at, record.session_id, record.seq)


class SessionLog:
    """Reads recordings back, events and actions merged by time, then session, then seq."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_call(self, linkedid: str, *, agent_id: int | None = None) -> list[Recorded]:
        """Everything recorded about one call (its Linkedid): its CTI events and the actions
        taken on it (also those recorded with only its interaction, e.g. a ticket opened in
        the wrap-up). With `agent_id`, only that agent's consoles."""
        interactions = select(Interaction.id).where(Interaction.linkedid == linkedid)
        events = select(*_EVENT_COLUMNS).where(CallEvent.call_id == linkedid)
        actions = select(*_ACTION_COLUMNS).where(
            (AgentAction.call_id == linkedid) | AgentAction.interaction_id.in_(interactions)
        )
        if agent_id is not None:
            events = events.where(CallEvent.agent_id == agent_id)
            actions = actions.where(AgentAction.agent_id == agent_id)
        return await self._merged(events, actions, None)

    async def for_agent(
        self, agent_id: int, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[Recorded]:
        """One agent's records from `start` (included) to `end` (excluded): a shift."""
        events = select(*_EVENT_COLUMNS).where(
            CallEvent.agent_id == agent_id,
            CallEvent.received_at >= start,
            CallEvent.received_at < end,
        )
        actions = select(*_ACTION_COLUMNS).where(
            AgentAction.agent_id == agent_id, AgentAction.at >= start, AgentAction.at < end
        )
        return await self._merged(events, actions, limit)

    async def for_session(
        self, session_id: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[Recorded]:
        """One console session from login to logout (from `since` on, when given)."""
        events = select(*_EVENT_COLUMNS).where(CallEvent.session_id == session_id)
        actions = select(*_ACTION_COLUMNS).where(AgentAction.session_id == session_id)
        if since is not None:
            events = events.where(CallEvent.received_at >= since)
            actions = actions.where(AgentAction.at >= since)
        return await self._merged(events, actions, limit)

    async def sessions(self, agent_id: int, start: datetime, end: datetime) -> list[SessionInfo]:
        """The agent's sessions overlapping [start, end), oldest first (a replay of a shift
        starts from their logins to rebuild what the console showed at `start`)."""
        stmt = (
            select(ConsoleSession)
            .where(
                ConsoleSession.agent_id == agent_id,
                ConsoleSession.started_at < end,
                (ConsoleSession.ended_at.is_(None)) | (ConsoleSession.ended_at >= start),
            )
            .order_by(ConsoleSession.started_at, ConsoleSession.id)
        )
        async with self._db.session() as session:
            rows = (await session.scalars(stmt)).all()
        return [
            SessionInfo(
                id=r.id,
                agent_id=r.agent_id,
                kind=SessionKind(r.kind),
                training_run_id=r.training_run_id,
                host=r.host,
                started_at=r.started_at,
                ended_at=r.ended_at,
                details=dict(r.details or {}),
            )
            for r in rows
        ]

    async def _merged(self, events: Any, actions: Any, limit: int | None) -> list[Recorded]:
        events = events.order_by(CallEvent.received_at, CallEvent.session_id, CallEvent.seq)
        actions = actions.order_by(AgentAction.at, AgentAction.session_id, AgentAction.seq)
        if limit is not None:  # the first `limit` of the merge are among each side's first
            events, actions = events.limit(limit), actions.limit(limit)
        async with self._db.session() as session:
            event_rows = (await session.execute(events)).all()
            action_rows = (await session.execute(actions)).all()
        merged: list[Recorded] = [
            RecordedEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _mapping(r[7]))
            for r in event_rows
        ]
        merged.extend(
            RecordedAction(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _mapping(r[7]))
            for r in action_rows
        )
        merged.sort(key=_order)
        return merged if limit is None else merged[:limit]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
