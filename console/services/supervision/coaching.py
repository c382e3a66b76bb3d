"""Coach messages: a supervisor types a line to an agent during a call; the agent's console
shows it at once, and the caller never hears it. It travels through the database, not the
PBX, so it works on the simulator and on any Asterisk alike.

- `CoachService.send(supervisor, agent, text)`: only supervisors (and trainers, to their
  trainees' consoles) may send; the text is cleaned (one paragraph, no control codes, at most
  500 characters) and stored with the call it is about; audited.
- `CoachService.claim(agent, since)`: the messages not shown yet, marked shown in the same
  step (an index on (to_agent_id, id) keeps it a short read).

How the agent's console learns one waits: the sender rings a doorbell, an AMI
``UserEvent: CoachMessage`` naming the agent's member interface (the agent's filtered session
takes it; the text stays in the database), and the agent's `CoachInbox` reads at once. Behind
it the inbox still reads every `FALLBACK_SECONDS`, for a doorbell that could not ring (the
supervisor's link down, a PBX that refuses UserEvent). It used to read every second: at 200
seats that was 200 reads a second and most of what a console did between calls
(docs/seats.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from console.models import Agent, CoachMessage
from console.models.enums import Role
from console.services.errors import ServiceError, record_id
from console.services.service import DbService
from console.services.text import clean_text

log = logging.getLogger(__name__)

MAX_TEXT = 500
#: A console that starts shows the messages not yet shown from this far back (a restart
#: mid-call loses none); older ones were for a shift long over.
STALE_AFTER = timedelta(minutes=15)
BATCH = 20  # messages one read returns at most (a flood is shown in order, a few at a time)
#: How often an agent's console reads its coach messages with no doorbell.
FALLBACK_SECONDS = 15.0
#: Rings the agent's console (its member interface) once a message for it is stored.
Doorbell = Callable[[str], Awaitable[object]]


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
    """See the module docstring. ``doorbell``: rung with the agent's interface after a message
    is stored (None: the agent's console finds it at its next read)."""

    def __init__(self, *args: Any, doorbell: Doorbell | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._doorbell = doorbell

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
            interface = (
                await conn.execute(select(Agent.interface).where(Agent.id == agent_id))
            ).scalar_one_or_none()
            if interface is None:
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
        await self._ring(interface)
        return int(message_id or 0)

    async def _ring(self, interface: str) -> None:
        """The doorbell, best effort: the message is stored, and the agent's console reads it
        within `FALLBACK_SECONDS` anyway."""
        if self._doorbell is None or not interface:
            return
        try:
            await self._doorbell(interface)
        except Exception:
            log.warning("coach doorbell for %s not rung", interface, exc_info=True)

    def now(self) -> datetime:
        return self._clock()

    async def claim(self, agent_id: int, since: datetime) -> list[CoachNote]:
        """The messages for ``agent_id`` sent since ``since`` and not shown yet, marked shown
        now (only those this call marked: another console of the agent showed the rest)."""
        waiting = await self._waiting(agent_id, since)
        if not waiting:
            return []
        async with self._db.write_connection() as conn:
            claimed = set(
                (
                    await conn.execute(
                        update(CoachMessage)
                        .where(
                            CoachMessage.id.in_([n.id for n in waiting]),
                            CoachMessage.shown_at.is_(None),
                        )
                        .values(shown_at=self._clock())
                        .returning(CoachMessage.id)
                    )
                ).scalars()
            )
        return [n for n in waiting if n.id in claimed]

    async def _waiting(self, agent_id: int, since: datetime) -> list[CoachNote]:
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
                    .where(
                        CoachMessage.to_agent_id == agent_id,
                        CoachMessage.shown_at.is_(None),
                        CoachMessage.sent_at >= since,
                    )
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
    """An agent's console's side: at once when `wake` is called (the doorbell), and every
    ``interval`` seconds behind it, the messages not shown yet (sent
    since a little before the console started: a restart does not lose them) are claimed —
    marked shown in one UPDATE … RETURNING, so two consoles of one agent never both show one
    — and handed to ``show``, oldest first. Any failure skips a round quietly: the messages
    wait in the table."""

    def __init__(
        self,
        service: CoachService,
        agent_id: int,
        *,
        interval: float = FALLBACK_SECONDS,
        grace: timedelta = STALE_AFTER,
    ) -> None:
        self.service = service
        self.agent_id = agent_id
        self.interval = interval
        self.since: datetime | None = None  # messages older than this are left (stale)
        self.grace = grace
        self.failures = 0  # rounds that failed (tests, and one log line each)
        self.rounds = 0  # reads done, failed or not (tests wait on it)
        self._closing = asyncio.Event()
        self._woken = asyncio.Event()  # the doorbell rang: read now
        self._idle = asyncio.Event()  # set while no read or write is in flight
        self._idle.set()

    async def poll(self, show: Callable[[CoachNote], None]) -> int:
        """One round; the number of messages shown."""
        if self.since is None:
            self.since = self.service.now() - self.grace
        notes = await self.service.claim(self.agent_id, self.since)
        for note in notes:
            show(note)
        return len(notes)

    def wake(self) -> None:
        """A message waits (the doorbell): read now rather than at the next interval."""
        self._woken.set()

    async def run(self, show: Callable[[CoachNote], None]) -> None:
        """`poll` every ``interval`` seconds, and whenever woken, until `close` (or
        cancelled)."""
        while not self._closing.is_set():
            self._woken.clear()  # a ring from here on is read by this round or the next
            self._idle.clear()
            try:
                await self.poll(show)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away, a pool timeout: the next round retries
                self.failures += 1
                log.warning("coach messages not read (round %d)", self.failures, exc_info=True)
            finally:
                self.rounds += 1
                self._idle.set()
            await self._wait_next()

    async def _wait_next(self) -> None:
        """Until the interval is up, the doorbell rings or the inbox closes."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self._closing, self._woken)]
        try:
            await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def close(self, within: float = 3.0) -> None:
        """Stop polling, and wait (up to ``within`` s) for a read in flight to finish: the
        console closes its database after this, and an operation cancelled half-way on an
        aiosqlite connection being closed can hang the event loop's shutdown."""
        self._closing.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)


__all__ = [
    "FALLBACK_SECONDS",
    "MAX_TEXT",
    "CoachError",
    "CoachInbox",
    "CoachNote",
    "CoachService",
    "Doorbell",
]
