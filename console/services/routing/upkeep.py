"""Routing upkeep: what every console does in the background so follow-ups keep moving.

Every ``interval`` seconds (give or take a tenth, so that consoles started together drift
apart): the agent's heartbeat (routing sends work only to agents whose console is alive) and
their claimed follow-ups' leases renewed. Then the shared part: lapsed leases (a console that
died holding work) put back in the pool, and the SLA pass (route strays, mark overdue,
escalate). Any console can do it, and it is idempotent, but with many consoles doing it every
interval it was most of their database work: so the consoles take turns (`UpkeepTurns`, one
row per kind of shared work), and one console per interval does it. A console that dies in
its turn only delays the next pass by one interval. The database being away pauses it; it
says so once and keeps trying.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from console.db import Database
from console.models import UpkeepTurn
from console.services.routing.presence import AgentPresence
from console.services.routing.sla import SlaEngine
from console.services.routing.worklist import Worklist

UPKEEP_SECONDS = 15.0
SHARED = "routing"  # the shared part's turn (lapsed leases back, the SLA pass)


class UpkeepTurns:
    """Whose turn it is at a shared piece of upkeep: one compare-and-set on its row."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self._known: set[str] = set()

    async def take(self, name: str, agent_id: int, every: float) -> bool:
        """True if the turn at `name` was due and is now ours (the next is due `every`
        seconds from now); False if another console took it less than `every` ago."""
        now = self._clock()
        step = timedelta(seconds=every)
        async with self._db.statements_connection() as conn:
            if name not in self._known:  # the row, once per console (idempotent)
                await conn.execute(
                    self._db.insert(UpkeepTurn)
                    .values(name=name, due_at=now)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                self._known.add(name)
            taken = await conn.scalar(
                update(UpkeepTurn)
                .where(
                    UpkeepTurn.name == name,
                    # Due; or due further ahead than any turn sets it (a console whose clock
                    # ran ahead took it): never wait on such a turn.
                    or_(UpkeepTurn.due_at <= now, UpkeepTurn.due_at > now + 2 * step),
                )
                .values(due_at=now + step, taken_by=agent_id)
                .returning(UpkeepTurn.name)
            )
        return taken is not None


@dataclass
class RoutingUpkeep:
    """One agent's console's share of keeping routing alive (see the module docstring)."""

    agent_id: int
    presence: AgentPresence
    worklist: Worklist
    sla: SlaEngine
    interval: float = UPKEEP_SECONDS
    #: Turns at the shared part; None: this console does it every pass.
    turns: UpkeepTurns | None = None
    shared_passes: int = field(default=0, compare=False)  # the shared parts this console did

    async def tick(self) -> None:
        """One pass: heartbeat and lease renewal; then, in this console's turn, lapsed
        leases back and the SLA pass."""
        await self.presence.heartbeat(self.agent_id)
        await self.worklist.renew(self.agent_id)
        if self.turns is None or await self.turns.take(SHARED, self.agent_id, self.interval):
            await self.worklist.reclaim_expired()
            await self.sla.tick()
            self.shared_passes += 1

    async def run(
        self,
        *,
        after_tick: Callable[[], Awaitable[None]] | None = None,
        on_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        """Tick forever. ``after_tick`` runs after each good pass (the console offers a due
        callback then); ``on_failure`` hears the first failure of a run of them only."""
        failing = False
        while True:
            try:
                await self.tick()
                if after_tick is not None:
                    await after_tick()
                failing = False
            except Exception as exc:  # the database is away: say so once, keep trying
                if not failing and on_failure is not None:
                    on_failure(exc)
                failing = True
            await asyncio.sleep(self.interval * random.uniform(0.9, 1.1))
