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
"""

from __future__ import annotations

from console.cti.protocol import CallAbandoned, CallbackRequested
from console.models.enums import FollowUpKind, FollowUpOrigin
from console.services.desk.screenpop import ScreenPopService
from console.services.routing.router import Routed, Router
from console.services.text import clean_text

MIN_ABANDON_WAIT = 5  # seconds


class AutoFollowUps:
    """Turns CTI events into routed callbacks."""

    def __init__(
        self,
        router: Router,
        screenpop: ScreenPopService,
        *,
        min_abandon_wait: int = MIN_ABANDON_WAIT,
    ) -> None:
        self._router = router
        self._screenpop = screenpop
        self._min_wait = min_abandon_wait

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
        pop = await self._screenpop.lookup(event.number)
        if pop.caller.e164 is None:
            return None  # nothing we could dial
        queue = clean_text(event.queue, single_line=True, max_length=80)
        return await self._router.create(
            FollowUpKind.CALLBACK,
            origin=FollowUpOrigin.OVERFLOW,
            customer_id=pop.matches[0].customer_id if pop.matches else None,
            summary=f"Asked for a callback from {queue} after {event.waited or 0} s in queue",
            source_key=f"overflow:{event.uniqueid}"[:120],
            callback_number=pop.caller.e164,
            origin_queue=queue,
        )
