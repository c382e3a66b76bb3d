"""The agent's desk: one agent's current call, its screen pop and its interaction row.

UI-free. The console feeds it the CTI events of its agent (`console.cti.protocol`); it keeps the
call's phase and timers, fetches the screen pop the moment a call is offered, and writes the
interaction row at every step (ring, answer, hold, resume, transfer, end) so that a crash or a
kill loses nothing. The screen renders `DeskState` snapshots and never decides call rules.

The pop comes first: `offer()` returns as soon as the customer is known, and the ring is
logged afterwards (`log_offer()`), so the database write never delays what the agent sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from console.cti.protocol import (
    CallAnswered,
    CallConferenced,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CallWaitMeasured,
    CtiEvent,
    EndReason,
)
from console.db import is_unavailable, one_line_reason
from console.services.crm.phones import normalise
from console.services.desk.screenpop import ScreenPop, ScreenPopService
from console.services.text import clean_text


class InteractionWriter(Protocol):
    """What the desk needs of the interaction log (`console.services.desk.interactions`)."""

    async def ring(
        self,
        *,
        uniqueid: str,
        linkedid: str,
        agent_id: int,
        queue_name: str | None,
        caller_raw: str,
        caller_e164: str | None,
        caller_name: str,
        customer_id: int | None,
        offered_at: datetime,
        wait_seconds: int,
        direction: str = ...,
        campaign_id: int | None = ...,
        lead_id: int | None = ...,
    ) -> object: ...

    async def answered(
        self,
        interaction_id: int,
        at: datetime,
        *,
        wait_seconds: int | None = ...,
        ring_seconds: int | None = ...,
    ) -> object: ...
    async def held(self, interaction_id: int, at: datetime) -> object: ...
    async def resumed(self, interaction_id: int, at: datetime) -> object: ...
    async def transferred(self, interaction_id: int, target: str, at: datetime) -> object: ...
    async def ended(self, interaction_id: int, at: datetime, *, reason: str = ...) -> object: ...
    async def missed(
        self,
        interaction_id: int,
        at: datetime,
        *,
        reason: str = ...,
        wait_seconds: int | None = ...,
    ) -> object: ...
    async def set_customer(self, interaction_id: int, customer_id: int | None) -> object: ...


@dataclass(frozen=True, slots=True)
class DeskCall:
    """The call on the agent's desk."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_id: str  # raw, sanitised for display
    caller_name: str
    channel: str  # the caller's channel (Redirect target)
    agent_channel: str  # the agent's leg (Hangup target)
    offered_at: datetime
    waited: float | None
    phase: str = "ringing"  # ringing | talking | held | wrapup
    phase_since: datetime | None = None
    answered_at: datetime | None = None
    hold_seconds: float = 0.0
    ended_at: datetime | None = None
    end_reason: str = ""
    interaction_id: int | None = None
    direction: str = "inbound"  # "outbound": a callback this console dialled
    action_id: str = ""  # the Originate's ActionID, for an outbound call
    # When the logged row says it was answered (a console restarted mid-call finds it so).
    logged_answer: datetime | None = None
    consulting: str = ""  # the extension the agent is consulting (the caller holds)
    conference: str = ""  # the extension conferenced in (all three talk)


def rang_out(event: CallEnded, call: DeskCall | None) -> bool:
    """Whether ``event`` ends an inbound offer that rang out on this agent's phone (not taken
    elsewhere, not abandoned): the miss after which the agent is made not ready."""
    return (
        call is not None
        and call.uniqueid == event.uniqueid
        and call.direction == "inbound"
        and call.answered_at is None
        and event.reason is EndReason.NO_ANSWER
    )


@dataclass(frozen=True, slots=True)
class DeskState:
    """What the console shows: the current call (if any) and its pop."""

    call: DeskCall | None = None
    pop: ScreenPop | None = None

    @property
    def phase(self) -> str:
        return self.call.phase if self.call else "idle"


class AgentDesk:
    """Tracks one agent's call from offer to wrap-up; see the module docstring."""

    def __init__(
        self,
        *,
        agent_id: int,
        screenpop: ScreenPopService,
        interactions: InteractionWriter,
        region: str = "US",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.agent_id = agent_id
        self._screenpop = screenpop
        self._log = interactions
        self._region = region
        self._clock = clock
        self.state = DeskState()

    # ---------------------------------------------------------------- offer and pop

    async def offer(self, event: CallOffered) -> DeskState:
        """A call rings here: pop the caller (the hot path). Call `log_offer` right after."""
        current = self.state.call
        if current is not None and current.uniqueid == event.uniqueid and current.phase != "wrapup":
            return self.state  # a duplicate offer (resync): keep what we have
        try:
            pop = await self._screenpop.lookup(
                event.caller_id,
                linkedid=event.linkedid,
                agent_id=self.agent_id,
                campaign=(int(event.campaign), int(event.lead)) if event.campaign else None,
            )
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # The database is away: the call still rings, with what the PBX says of the caller.
            caller = normalise(event.caller_id, self._region)
            pop = ScreenPop(caller, unavailable=one_line_reason(exc))
        call = DeskCall(
            uniqueid=event.uniqueid,
            linkedid=event.linkedid,
            queue=clean_text(event.queue, single_line=True, max_length=80),
            # A campaign call's leg shows the campaign's caller ID: the customer's is the list's.
            caller_id=clean_text(
                pop.campaign.e164 if pop.campaign else event.caller_id,
                single_line=True,
                max_length=80,
            ),
            caller_name=clean_text(event.caller_name, single_line=True, max_length=120),
            channel=event.channel,
            agent_channel=event.agent_channel,
            offered_at=event.at,
            waited=event.waited,
            phase_since=event.at,
            direction=event.direction,
            action_id=event.action_id,
        )
        self.state = DeskState(call, pop)
        return self.state

    async def log_offer(self) -> DeskState:
        """Create (or find, after a reconnect) the interaction row for the offered call."""
        call, pop = self.state.call, self.state.pop
        if call is None or call.interaction_id is not None:
            return self.state
        caller = pop.caller if pop else normalise(call.caller_id, self._region)
        customer = pop.profile.id if pop and pop.profile else None
        record = await self._log.ring(
            uniqueid=call.uniqueid,
            linkedid=call.linkedid,
            agent_id=self.agent_id,
            queue_name=call.queue or None,
            caller_raw=call.caller_id,
            caller_e164=caller.e164,
            caller_name="" if call.caller_name == "<unknown>" else call.caller_name,
            customer_id=customer,
            offered_at=call.offered_at,
            wait_seconds=round(call.waited or 0),
            # A campaign's call rings like a queue call but is outbound work.
            direction="outbound" if pop and pop.campaign else call.direction,
            campaign_id=pop.campaign.campaign_id if pop and pop.campaign else None,
            lead_id=pop.campaign.lead_id if pop and pop.campaign else None,
        )
        interaction_id = getattr(record, "id", record)
        assert isinstance(interaction_id, int)
        answered = getattr(record, "answered_at", None)
        logged = answered if isinstance(answered, datetime) else None
        return self._update(call, interaction_id=interaction_id, logged_answer=logged)

    async def choose_customer(self, customer_id: int) -> DeskState:
        """The agent picked one of several matches (or created the caller): re-pop for them."""
        call, pop = self.state.call, self.state.pop
        caller_id = call.caller_id if call else (pop.caller.raw if pop else "")
        new_pop = await self._screenpop.lookup(caller_id, customer_id=customer_id)
        if new_pop.profile is None or new_pop.profile.id != customer_id:
            new_pop = await self._screenpop.for_customer(customer_id, caller_id=caller_id)
        self.state = replace(self.state, pop=new_pop)
        if call is not None and call.interaction_id is not None:
            await self._log.set_customer(call.interaction_id, customer_id)
        return self.state

    def wait_measured(self, event: CallWaitMeasured) -> DeskState:
        """The PBX said how long the ringing call's caller waited (the offer could not): the
        bar shows it, and a ring that goes unanswered keeps it (an answer brings the PBX's
        HoldTime anyway)."""
        call = self._mine(event.uniqueid)
        if call is None or call.phase != "ringing" or call.waited is not None:
            return self.state
        return self._update(call, waited=float(event.waited))

    # ---------------------------------------------------------------- the call's steps

    async def answered(self, event: CallAnswered) -> DeskState:
        call = self._mine(event.uniqueid)
        if call is None or call.phase != "ringing":
            return self.state
        at = event.at
        if event.resync and call.logged_answer is not None:
            # Found talking after a restart or reconnect: the talk began at the logged answer,
            # not now (the PBX's snapshot has no answer time).
            at = min(at, call.logged_answer)
        if call.interaction_id is not None:
            await self._log.answered(
                call.interaction_id,
                at,
                wait_seconds=event.hold_time,
                ring_seconds=event.ring_time,
            )
        pop = self.state.pop
        if pop is not None and pop.handoff is not None:
            # The agent who handed over may have written more since the ring: read it again.
            try:
                handoff = await self._screenpop.handoff(call.linkedid, self.agent_id)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                handoff = None  # the database is away: the handoff read at the ring stays
            if handoff is not None:
                self.state = replace(self.state, pop=replace(pop, handoff=handoff))
        return self._update(
            call,
            phase="talking",
            phase_since=at,
            answered_at=at,
            channel=event.channel or call.channel,
            agent_channel=event.agent_channel or call.agent_channel,
        )

    async def held(self, event: CallHeld) -> DeskState:
        call = self._mine(event.uniqueid)
        if call is None or call.phase != "talking":
            return self.state
        if call.interaction_id is not None:
            await self._log.held(call.interaction_id, event.at)
        return self._update(call, phase="held", phase_since=event.at)

    async def resumed(self, event: CallResumed) -> DeskState:
        call = self._mine(event.uniqueid)
        if call is None or call.phase != "held" or call.phase_since is None:
            return self.state
        if call.interaction_id is not None:
            await self._log.resumed(call.interaction_id, event.at)
        held = max(0.0, (event.at - call.phase_since).total_seconds())
        return self._update(
            call,
            phase="talking",
            phase_since=event.at,
            hold_seconds=call.hold_seconds + held,
            consulting="",  # back with the caller: a consult was cancelled or completed
        )

    def consult_started(self, target: str) -> DeskState:
        """The PBX accepted the agent's consult call to ``target`` (the caller now holds)."""
        call = self.state.call
        if call is None or call.phase not in ("talking", "held"):
            return self.state
        return self._update(call, consulting=clean_text(target, single_line=True, max_length=40))

    def conferenced(self, event: CallConferenced) -> DeskState:
        """The consult joined the caller: a three-way conference."""
        call = self._mine(event.uniqueid)
        if call is None:
            return self.state
        target = clean_text(event.target, single_line=True, max_length=40)
        return self._update(call, consulting="", conference=target or call.consulting)

    async def transferred(self, event: CallTransferred) -> DeskState:
        call = self._mine(event.uniqueid)
        if call is None or call.interaction_id is None:
            return self.state
        target = clean_text(event.target, single_line=True, max_length=80)
        await self._log.transferred(call.interaction_id, target, event.at)
        return self.state

    async def ended(self, event: CallEnded) -> DeskState:
        """Answered calls go to wrap-up; unanswered offers leave the desk idle."""
        call = self._mine(event.uniqueid)
        if call is None or call.phase == "wrapup":
            return self.state
        hold = call.hold_seconds
        if call.phase == "held" and call.phase_since is not None:
            hold += max(0.0, (event.at - call.phase_since).total_seconds())
        if call.answered_at is None:
            if call.interaction_id is not None:
                await self._log.missed(
                    call.interaction_id,
                    event.at,
                    reason=str(event.reason),
                    # Measured after the ring was written, when the console had not seen the
                    # caller join (console/cti/wait_probe.py).
                    wait_seconds=round(call.waited) if call.waited is not None else None,
                )
            self.state = DeskState()
            return self.state
        if call.interaction_id is not None:
            await self._log.ended(call.interaction_id, event.at, reason=str(event.reason))
        return self._update(
            call,
            phase="wrapup",
            phase_since=event.at,
            ended_at=event.at,
            hold_seconds=hold,
            end_reason=str(event.reason),
        )

    async def handle(self, event: CtiEvent) -> DeskState:
        """Apply one of the agent's CTI events; the desk's state afterwards.

        An offer is popped and logged in one go here (a screen that must draw the pop before
        the ring is written calls `offer` and `log_offer` itself). Other events leave the
        desk as it was.
        """
        if isinstance(event, CallOffered):
            await self.offer(event)
            return await self.log_offer()
        if isinstance(event, CallAnswered):
            return await self.answered(event)
        if isinstance(event, CallHeld):
            return await self.held(event)
        if isinstance(event, CallResumed):
            return await self.resumed(event)
        if isinstance(event, CallTransferred):
            return await self.transferred(event)
        if isinstance(event, CallConferenced):
            return self.conferenced(event)
        if isinstance(event, CallWaitMeasured):
            return self.wait_measured(event)
        if isinstance(event, CallEnded):
            return await self.ended(event)
        return self.state

    def finish_wrap_up(self) -> DeskState:
        """The wrap-up was saved: the desk is free for the next call."""
        self.state = DeskState()
        return self.state

    # ---------------------------------------------------------------- helpers

    def _mine(self, uniqueid: str) -> DeskCall | None:
        call = self.state.call
        return call if call is not None and call.uniqueid == uniqueid else None

    def _update(self, call: DeskCall, **changes: object) -> DeskState:
        self.state = replace(self.state, call=replace(call, **changes))  # type: ignore[arg-type]
        return self.state
