"""Coach messages: a supervisor types a line to an agent during a call; the agent's console
shows it at once, and the caller never hears it. It travels through the database, not the
PBX, so it works on the simulator and on any Asterisk alike.

- `CoachService.send(supervisor, agent, text)`: only supervisors (and trainers, to their
  trainees' consoles) may send; the text is cleaned (one paragraph, no control codes, at most
  500 characters) and stored with the call it is about; audited.
- `CoachService.new_for(agent, after)`: the messages after id ``after`` (the agent's console
  asks every second; an index on (to_agent_id, id) makes that one short range read).
- `CoachService.shown(ids)`: marks them shown (the supervisor's view says "seen").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from console.models import Agent, CoachMessage
from console.models.enums import Role
from console.services.errors import ServiceError, record_id
from console.services.service import DbService
from console.services.text import clean_text

MAX_TEXT = 500
BATCH = 20  # messages one read returns at most (a flood is shown in order, a few at a time)


class CoachError(ServiceError):
    """A coach message refused; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class CoachNote:
    """A message as the agent's console shows it (the text is untrusted: plain text only)."""

    id: int
    from_name: str
    text: str
    sent_at: datetime
    call_uniqueid: str


class CoachService(DbService):
    """See the module docstring."""

    async def send(
        self, supervisor_id: int, agent_id: int, text: str, *, call_uniqueid: str = ""
    ) -> int:
        """Store a coach message for ``agent_id``; its id."""
        agent_id = record_id(agent_id, field="agent", error=CoachError)
        clean = clean_text(text, single_line=True, max_length=MAX_TEXT).strip()
        if not clean:
            raise CoachError("a coach message needs some text")
        now = self._clock()
        async with self._db.write_connection() as conn:
            sender = (
                await conn.execute(select(Agent.role).where(Agent.id == supervisor_id))
            ).scalar_one_or_none()
            if sender is None or Role(sender) not in (Role.SUPERVISOR, Role.TRAINER):
                raise CoachError("only supervisors and trainers send coach messages")
            if supervisor_id == agent_id:
                raise CoachError("a coach message goes to someone else")
            exists = await conn.scalar(select(Agent.id).where(Agent.id == agent_id))
            if exists is None:
                raise CoachError(f"no agent {agent_id}")
            message_id = await conn.scalar(
                insert(CoachMessage)
                .values(
                    from_agent_id=supervisor_id,
                    to_agent_id=agent_id,
                    text=clean,
                    call_uniqueid=clean_text(call_uniqueid, single_line=True, max_length=64),
                    sent_at=now,
                )
                .returning(CoachMessage.id)
            )
            await self._audit.add(
                conn, supervisor_id, "coach", "agent", agent_id,
                {"message": int(message_id or 0), "call": call_uniqueid[:64], "text": clean},
            )  # fmt: skip
        return int(message_id or 0)

    async def last_id(self, agent_id: int) -> int:
        """The newest message id for ``agent_id`` (0: none): where a console that starts begins
        (messages sent before it started were for another session)."""
        async with self._db.session() as conn:
            newest = await conn.scalar(
                select(CoachMessage.id)
                .where(CoachMessage.to_agent_id == agent_id)
                .order_by(CoachMessage.id.desc())
                .limit(1)
            )
        return int(newest or 0)

    async def new_for(self, agent_id: int, after: int) -> list[CoachNote]:
        """Messages for ``agent_id`` with an id above ``after``, oldest first."""
        async with self._db.session() as conn:
            rows = (
                await conn.execute(
                    select(
                        CoachMessage.id,
                        Agent.display_name,
                        CoachMessage.text,
                        CoachMessage.sent_at,
                        CoachMessage.call_uniqueid,
                    )
                    .outerjoin(Agent, Agent.id == CoachMessage.from_agent_id)
                    .where(CoachMessage.to_agent_id == agent_id, CoachMessage.id > after)
                    .order_by(CoachMessage.id)
                    .limit(BATCH)
                )
            ).all()
        return [
            CoachNote(
                int(r[0]),
                clean_text(r[1] or "a supervisor", single_line=True, max_length=80),
                clean_text(r[2], single_line=True, max_length=MAX_TEXT),
                r[3],
                r[4] or "",
            )
            for r in rows
        ]

    async def shown(self, ids: Sequence[int]) -> None:
        """Mark messages as shown on the agent's console."""
        if not ids:
            return
        async with self._db.write_connection() as conn:
            await conn.execute(
                update(CoachMessage)
                .where(CoachMessage.id.in_(list(ids)), CoachMessage.shown_at.is_(None))
                .values(shown_at=self._clock())
            )

    async def seen(self, message_id: int) -> datetime | None:
        """When the agent's console showed message ``message_id`` (None: not yet)."""
        async with self._db.session() as conn:
            return await conn.scalar(
                select(CoachMessage.shown_at).where(CoachMessage.id == message_id)
            )


class CoachInbox:
    """An agent's console's side: every ``interval`` seconds, the new messages are handed to
    ``show`` (oldest first) and marked shown. Messages sent before the console started are
    left alone. A database outage skips rounds quietly: the messages wait in the table."""

    def __init__(self, service: CoachService, agent_id: int, *, interval: float = 1.0) -> None:
        self.service = service
        self.agent_id = agent_id
        self.interval = interval
        self.after: int | None = None

    async def poll(self, show: Callable[[CoachNote], None]) -> int:
        """One round; the number of messages shown."""
        if self.after is None:
            self.after = await self.service.last_id(self.agent_id)
            return 0
        notes = await self.service.new_for(self.agent_id, self.after)
        for note in notes:
            show(note)
            self.after = note.id
        await self.service.shown([n.id for n in notes])
        return len(notes)

    async def run(self, show: Callable[[CoachNote], None]) -> None:
        """`poll` every ``interval`` seconds until cancelled."""
        while True:
            with contextlib.suppress(DBAPIError, OSError):
                await self.poll(show)
            await asyncio.sleep(self.interval)


__all__ = ["MAX_TEXT", "CoachError", "CoachInbox", "CoachNote", "CoachService"]
