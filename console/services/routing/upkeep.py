"""Routing upkeep: what every console does in the background so follow-ups keep moving.

Every ``interval`` seconds: the agent's heartbeat (routing sends work only to agents whose
console is alive), their claimed follow-ups' leases renewed, lapsed leases (a console that
died holding work) put back in the pool, then the SLA pass (route strays, mark overdue,
escalate). Any console can do the shared parts: they are idempotent, so several consoles
doing them at once is harmless. The database being away pauses it; it says so once and
keeps trying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from console.services.routing.presence import AgentPresence
from console.services.routing.sla import SlaEngine
from console.services.routing.worklist import Worklist

UPKEEP_SECONDS = 15.0


@dataclass
class RoutingUpkeep:
    """One agent's console's share of keeping routing alive (see the module docstring)."""

    agent_id: int
    presence: AgentPresence
    worklist: Worklist
    sla: SlaEngine
    interval: float = UPKEEP_SECONDS

    async def tick(self) -> None:
        """One pass: heartbeat, lease renewal, lapsed leases back, the SLA pass."""
        await self.presence.heartbeat(self.agent_id)
        await self.worklist.renew(self.agent_id)
        await self.worklist.reclaim_expired()
        await self.sla.tick()

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
            await asyncio.sleep(self.interval)
