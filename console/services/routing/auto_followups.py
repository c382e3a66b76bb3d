"""Follow-ups nobody has to remember: abandoned calls and queue overflows become callbacks.

Every console sees every queue's abandons and callback requests; each event's follow-up is keyed
by the call ("abandoned:<uniqueid>", "overflow:<uniqueid>"), so it is created once however many
consoles see it.

- An abandon becomes a callback when the caller is a known customer (a shared number goes to
  the customer the screen pop would rank first) and waited at least `min_abandon_wait`
  seconds: shorter ones are misdials and changed minds, the usual "short abandon" rule.
- A callback request (the queue's max wait sent the caller to a callback) always becomes one,
  known customer or not: the caller asked, and the number is kept on the follow-up.

Both are routed at once by the rules (origin "abandoned" / "overflow").

Every console of the queue hears the event at the same moment: acting at once, 130 consoles
(bench/seats.py, 200 seats) each read the database in the same few ms, a burst that stalled
their pops. So each waits its turn first (`turn_delay`): a fraction of `SPREAD_SECONDS` drawn
from the call and the seat, a different order for every call. The first of n consoles acts
after about SPREAD/(n+1), makes the follow-up, and the rest, each later, find it made (one
index probe each, spread over the window). A console that is gone is simply not first.
"""

from __future__ import annotations

import asyncio
import hashlib

from console.cti.protocol import CallAbandoned, CallbackRequested
from console.models.enums import FollowUpKind, FollowUpOrigin
from console.services.desk.screenpop import ScreenPopService
from console.services.routing.router import Routed, Router
from console.services.text import clean_text

MIN_ABANDON_WAIT = 5  # seconds
SPREAD_SECONDS = 5.0  # the consoles of a queue act on an abandon within this, one by one


def turn_delay(uniqueid: str, seat: str, spread: float = SPREAD_SECONDS) -> float:
    """How long this seat waits before acting on the queue event of call `uniqueid`: uniform
    in [0, spread), the same on every run, independent between seats and between calls
    (rendezvous hashing)."""
    digest = hashlib.blake2b(f"{uniqueid}|{seat}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * spread


class AutoFollowUps:
    """Turns CTI events into routed callbacks."""

    def __init__(
        self,
        router: Router,
        screenpop: ScreenPopService,
        *,
        min_abandon_wait: int = MIN_ABANDON_WAIT,
        seat: str = "",
        spread: float = SPREAD_SECONDS,
    ) -> None:
        self._router = router
        self._screenpop = screenpop
        self._min_wait = min_abandon_wait
        self._seat = seat  # this console's member interface: its place in each call's order
        self._spread = spread

    async def in_turn(self, event: CallAbandoned | CallbackRequested) -> Routed | None:
        """`on_abandoned` / `on_callback_request` after this seat's `turn_delay`."""
        await asyncio.sleep(turn_delay(event.uniqueid, self._seat, self._spread))
        if isinstance(event, CallAbandoned):
            return await self.on_abandoned(event)
        return await self.on_callback_request(event)

    async def on_abandoned(self, event: CallAbandoned) -> Routed | None:
        """A known customer's abandon → a callback (None: not known, too short, or done)."""
        if event.waited is not None and event.waited < self._min_wait:
            return None
        source_key = f"abandoned:{event.uniqueid}"[:120]
        if await self._router.recorded(source_key):
            return None  # another console of the queue was first: no pop, no write here
        pop = await self._screenpop.lookup(event.caller_id)
        if not pop.matches or pop.caller.e164 is None:
            return None
        queue = clean_text(event.queue, single_line=True, max_length=80)
        waited = f" after {event.waited} s" if event.waited is not None else ""
        return await self._router.create(
            FollowUpKind.CALLBACK,
            origin=FollowUpOrigin.ABANDONED,
            customer_id=pop.matches[0].customer_id,
            summary=f"Hung up waiting in {queue}{waited}: call back",
            source_key=source_key,
            callback_number=pop.caller.e164,
            origin_queue=queue,
        )

    async def on_callback_request(self, event: CallbackRequested) -> Routed | None:
        """The caller chose a callback → one, for a known customer or a bare number."""
        source_key = f"overflow:{event.uniqueid}"[:120]
        if await self._router.recorded(source_key):
            return None  # another console of the queue was first
        pop = await self._screenpop.lookup(event.number)
        if pop.caller.e164 is None:
            return None  # nothing we could dial
        queue = clean_text(event.queue, single_line=True, max_length=80)
        return await self._router.create(
            FollowUpKind.CALLBACK,
            origin=FollowUpOrigin.OVERFLOW,
            customer_id=pop.matches[0].customer_id if pop.matches else None,
            summary=f"Asked for a callback from {queue} after {event.waited or 0} s in queue",
            source_key=source_key,
            callback_number=pop.caller.e164,
            origin_queue=queue,
        )
