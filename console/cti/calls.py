"""The call book: the calls the tracker follows and the typed events that move them on.

Part of the call tracker (``tracker.py``): the tracker decides *whether* a frame changes a
call; the book holds the records (caller legs by Uniqueid, the agent's legs by theirs) and
builds the events when it does, so each event type is built in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from callkit.ami_frames import Message
from console.cti.fields import Recent, caller_text, need
from console.cti.protocol import (
    ActiveCall,
    CallAnswered,
    CallConferenced,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallState,
    CallTransferred,
    CtiEvent,
    EndReason,
)

TALKING = (CallState.CONNECTED, CallState.HELD)


CAMPAIGN_VARIABLE, LEAD_VARIABLE = "CC_CAMPAIGN", "CC_LEAD"


def campaign_of(msg: Message) -> tuple[str, str]:
    """(campaign, lead) from a frame's caller-channel ``ChanVariable: NAME=value`` lines
    (``main/manager_channels.c``: one line per variable of manager.conf ``channelvars``; the
    agent's channel's lines are ``DestChanVariable``), or from the
    ``ChanVariable(<channel>): NAME=value`` lines of an event raised with its channels
    (``main/manager.c`` append_channel_vars(): an OriginateResponse); ("", "") when none."""
    campaign = lead = ""
    for key, value in msg.pairs:
        if key != "ChanVariable" and not (key.startswith("ChanVariable(") and key.endswith(")")):
            continue
        name, _, val = value.partition("=")
        name = name.strip()
        if name == CAMPAIGN_VARIABLE:
            campaign = val.strip()[:20]
        elif name == LEAD_VARIABLE:
            lead = val.strip()[:20]
    digits = all(v.isascii() and v.isdecimal() for v in (campaign, lead))  # not "²" or "①"
    return (campaign, lead) if digits else ("", "")


@dataclass(eq=False)
class CallRecord:
    """One caller leg (keyed by its Uniqueid) and, while it involves the agent, the agent leg."""

    uniqueid: str
    linkedid: str
    channel: str
    caller_id: str
    caller_name: str
    queue: str = ""  # the queue it last joined
    joined_at: datetime | None = None
    caller_gone: bool = False
    # The agent's side; phase None = not (or no longer) offered to this agent.
    phase: CallState | None = None
    leg: str = ""
    agent_channel: str = ""
    interface: str = ""
    member_name: str = ""
    offer_queue: str = ""
    cause: int | None = None
    cause_text: str = ""
    abandoned: bool = False
    transferred: bool = False
    conferenced: bool = False  # the consult joined the caller (a three-way)
    completed: bool = False  # AgentComplete seen for this offer
    complete_reason: EndReason | None = None
    talk_time: int | None = None
    direction: str = "inbound"
    # The agent's side of the call: the leg app_queue dialled (``leg``) and what hangs off it —
    # a Local member's other half and the phone channel it dials. The call lives on for the
    # agent while any of them does (Local optimisation hangs up the halves, not the phone).
    sides: dict[str, str] = field(default_factory=dict)  # Uniqueid -> channel name
    connecting_at: datetime | None = None  # this leg's DialEnd ANSWER, before AgentConnect
    dial_status: str = ""  # this leg's last DialEnd status other than ANSWER
    elsewhere: bool = False  # another member's DialEnd ANSWER for this caller was seen
    leaving: bool = False  # the caller's HangupRequest: hanging up (its Hangup comes later)
    transferer: str = ""  # the side that transferred the caller (its hang-up ends the call)
    # An outbound campaign's call: the caller channel's CC_CAMPAIGN / CC_LEAD variables
    # (ChanVariable lines, manager.conf channelvars; docs/cti.md). "" for any other call.
    campaign: str = ""
    lead: str = ""


class CallBook:
    """Call records plus the index of the agent's legs; methods append events to ``out``."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.calls: dict[str, CallRecord] = {}
        self.legs: dict[str, str] = {}  # the agent's leg Uniqueid -> caller Uniqueid
        self.finished = Recent()  # agent legs already ended: late frames about them are stale

    def caller(self, msg: Message) -> CallRecord:
        """The record of the caller leg a frame describes, created from its channel block."""
        uid = need(msg, "Uniqueid")
        call = self.calls.get(uid)
        if call is None:
            call = self.calls[uid] = CallRecord(
                uid,
                msg.get("Linkedid").strip() or uid,
                msg.get("Channel"),
                caller_text(msg.get("CallerIDNum")),
                caller_text(msg.get("CallerIDName")),
            )
        if not call.campaign:
            call.campaign, call.lead = campaign_of(msg)
        return call

    def forget_bystander(self, uid: str) -> None:
        """The caller ``uid`` left a queue, and the agent does not have the call (never had,
        or no longer has): its record goes. An agent's console hears every caller of its
        queues join and leave, but the hang-ups only of the calls offered to it (its event
        filter): without this, every caller of a shift left a record behind, and the tracker
        walked them all on every event."""
        call = self.calls.get(uid)
        if call is not None and call.phase is None and not call.sides:
            del self.calls[uid]

    def by_leg(self, leg: str) -> CallRecord | None:
        """The call one of whose agent-side legs has Uniqueid ``leg``."""
        uid = self.legs.get(leg)
        return self.calls.get(uid) if uid is not None else None

    def by_linkedid(self, linkedid: str) -> CallRecord | None:
        """The agent's live call with this Linkedid (the newest, if several)."""
        found = None
        for call in self.calls.values():
            if call.phase is not None and call.linkedid == linkedid:
                found = call
        return found

    def add_side(self, call: CallRecord, uniqueid: str, channel: str) -> bool:
        """Follow one more agent-side leg of ``call``; False when it already was (or ended)."""
        if not uniqueid or uniqueid in call.sides or uniqueid in self.finished:
            return False
        if uniqueid == call.uniqueid or uniqueid in self.legs:
            return False  # the caller's own leg, or another call's side
        call.sides[uniqueid] = channel
        self.legs[uniqueid] = call.uniqueid
        return True

    def drop_side(self, call: CallRecord, uniqueid: str) -> None:
        """An agent-side leg hung up."""
        call.sides.pop(uniqueid, None)
        self.legs.pop(uniqueid, None)
        self.finished.add(uniqueid)

    def ours(self, uniqueid: str) -> CallRecord | None:
        """The agent's live call whose caller leg or agent leg has this Uniqueid."""
        call = self.calls.get(self.legs.get(uniqueid, uniqueid))
        return call if call is not None and call.phase is not None else None

    def active(self) -> list[ActiveCall]:
        """The agent's calls (ringing, talking, held), oldest first."""
        calls: list[ActiveCall] = []
        for c in self.calls.values():
            if c.phase is not None:
                calls.append(
                    ActiveCall(
                        uniqueid=c.uniqueid,
                        linkedid=c.linkedid,
                        queue=c.offer_queue,
                        caller_id=c.caller_id,
                        caller_name=c.caller_name,
                        channel=c.channel,
                        agent_channel=c.agent_channel,
                        state=c.phase,
                    )
                )
        return calls

    def forget_leg(self, call: CallRecord) -> None:
        """Stop following the call's agent-side legs; later frames about them are stale."""
        for leg in {call.leg, *call.sides} - {""}:
            self.legs.pop(leg, None)
            self.finished.add(leg)
        call.sides = {}

    def offer(
        self,
        call: CallRecord,
        *,
        queue: str,
        leg: str,
        agent_channel: str,
        interface: str,
        member_name: str,
        waited: float | None,
        at: datetime,
        out: list[CtiEvent],
        resync: bool = False,
        direction: str = "inbound",
        action_id: str = "",
    ) -> None:
        """The call rings on the agent's leg ``leg``: CallOffered."""
        call.phase, call.leg, call.offer_queue = CallState.OFFERED, leg, queue
        call.agent_channel = agent_channel
        call.interface = interface or self.agent
        call.member_name = member_name or call.interface
        call.cause, call.cause_text, call.abandoned, call.transferred = None, "", False, False
        call.completed, call.complete_reason, call.talk_time = False, None, None
        call.direction, call.connecting_at, call.dial_status = direction, None, ""
        call.elsewhere, call.transferer, call.leaving = False, "", False
        call.conferenced = False
        call.sides = {leg: agent_channel}
        self.legs[leg] = call.uniqueid
        out.append(
            CallOffered(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                queue=queue,
                caller_id=call.caller_id,
                caller_name=call.caller_name,
                interface=call.interface,
                member_name=call.member_name,
                channel=call.channel,
                agent_channel=call.agent_channel,
                waited=waited,
                at=at,
                resync=resync,
                direction=direction,
                action_id=action_id,
                campaign=call.campaign,
                lead=call.lead,
            )
        )

    def answer(
        self,
        call: CallRecord,
        at: datetime,
        out: list[CtiEvent],
        *,
        hold_time: int | None = None,
        ring_time: int | None = None,
        resync: bool = False,
    ) -> None:
        """The agent answered: CallAnswered (at the leg's DialEnd ANSWER when it was seen)."""
        call.phase = CallState.CONNECTED
        at, call.connecting_at = call.connecting_at or at, None
        out.append(
            CallAnswered(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                queue=call.offer_queue,
                interface=call.interface,
                member_name=call.member_name,
                channel=call.channel,
                agent_channel=call.agent_channel,
                hold_time=hold_time,
                ring_time=ring_time,
                at=at,
                resync=resync,
            )
        )

    def hold(
        self,
        call: CallRecord,
        held: bool,
        at: datetime,
        out: list[CtiEvent],
        *,
        resync: bool = False,
    ) -> None:
        """The caller went on hold (CallHeld) or came off it (CallResumed)."""
        call.phase = CallState.HELD if held else CallState.CONNECTED
        kind = CallHeld if held else CallResumed
        out.append(
            kind(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                interface=call.interface,
                at=at,
                resync=resync,
            )
        )

    def transfer(
        self, call: CallRecord, target: str, context: str, at: datetime, out: list[CtiEvent]
    ) -> None:
        """The agent transferred the caller (once per offer): CallTransferred."""
        if call.transferred:
            return
        call.transferred, call.complete_reason = True, EndReason.TRANSFER
        out.append(
            CallTransferred(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                interface=call.interface,
                target=target,
                context=context,
                at=at,
            )
        )

    def conference(self, call: CallRecord, target: str, at: datetime, out: list[CtiEvent]) -> None:
        """The agent's consult joined the caller: CallConferenced (the call goes on)."""
        out.append(
            CallConferenced(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                interface=call.interface,
                target=target,
                at=at,
            )
        )

    def end(
        self,
        call: CallRecord,
        reason: EndReason,
        at: datetime,
        out: list[CtiEvent],
        *,
        resync: bool = False,
    ) -> None:
        """The call is over for the agent: CallEnded; the record goes once the caller has."""
        out.append(
            CallEnded(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                queue=call.offer_queue,
                interface=call.interface,
                answered=call.phase in TALKING,
                reason=reason,
                cause=call.cause,
                cause_text=call.cause_text,
                talk_time=call.talk_time,
                at=at,
                resync=resync,
            )
        )
        self.forget_leg(call)
        call.phase, call.leg, call.agent_channel = None, "", ""
        if call.caller_gone:
            self.calls.pop(call.uniqueid, None)
