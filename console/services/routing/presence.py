"""What routing knows of each console: the agent's presence and the console's heartbeat.

A console sets its agent's presence as the agent changes state and beats every
`HEARTBEAT_SECONDS`; routing counts an agent as available only while the beat is fresh, so a
console that dies (killed, network gone) drops out of routing by itself, and its follow-up
leases lapse (see `Worklist.reclaim_expired`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from console.db import Database
from console.models import Agent
from console.models.enums import Presence
from console.services.errors import ServiceError, choice, record_id

HEARTBEAT_SECONDS = 30
# Three missed beats and the console is taken for gone.
FRESH_FOR = timedelta(seconds=3 * HEARTBEAT_SECONDS)


class PresenceError(ServiceError):
    """A presence update was refused."""


class AgentPresence:
    """Writes an agent's presence and heartbeat."""

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = db
        self._clock = clock

    async def set(self, agent_id: int, presence: Presence | str) -> None:
        """Record the agent's presence (and count it as a heartbeat)."""
        agent = record_id(agent_id, field="agent id", error=PresenceError)
        state = choice(Presence, presence, field="presence", error=PresenceError)
        now = self._clock()
        async with self._db.write_connection() as conn:
            done = await conn.execute(
                update(Agent)
                .where(Agent.id == agent)
                .values(presence=state, presence_at=now, heartbeat_at=now)
            )
            if done.rowcount == 0:
                raise PresenceError(f"agent {agent} does not exist")

    async def heartbeat(self, agent_id: int) -> None:
        """The console is alive."""
        agent = record_id(agent_id, field="agent id", error=PresenceError)
        async with self._db.statements_connection() as conn:  # every console, every 15 s
            await conn.execute(
                update(Agent).where(Agent.id == agent).values(heartbeat_at=self._clock())
            )
