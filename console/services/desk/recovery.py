"""Crash recovery: what a console restarted after a crash or kill does with its agent's calls.

Rows still ringing, talking or on hold whose call the PBX no longer has (not among the live
calls it reported at resync) are closed as they really ended: an answered one goes to its
wrap-up, an unanswered one is a miss. Then the oldest wrap-up left unfinished is offered back,
with its saved draft, so nothing the agent wrote is lost. Calls still live are left to the
CTI events that will follow them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from console.services.desk.interactions import InteractionLog, InteractionRecord


async def recover_unfinished(
    log: InteractionLog, agent_id: int, live_calls: Collection[str], now: datetime
) -> InteractionRecord | None:
    """Close the agent's calls that ended while the console was away; the wrap-up to offer
    back (the most recent unfinished one), or None. ``live_calls``: the Uniqueids the PBX
    still has (the tracker's active calls after resync)."""
    for record in await log.unfinished(agent_id):
        if record.is_in_call and record.uniqueid not in live_calls:
            if record.was_answered:
                await log.ended(record.id, now)
            else:
                await log.missed(record.id, now)
    pending = [r for r in await log.unfinished(agent_id) if r.status == "wrapup"]
    return pending[0] if pending else None
