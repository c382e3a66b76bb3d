"""The tracker's resynchronisation from a snapshot: which of the agent's calls survive a
reconnect, which appeared, which vanished (`CallTracker.rebuild` drives it).

A mixin of `CallTracker`, kept apart so each module stays small; it uses the tracker's call
book, queue board and the interfaces it has learnt for the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from callkit.ami_frames import Message
from console.cti.board import ON_HOLD, QueueBoard
from console.cti.calls import TALKING, CallBook, CallRecord
from console.cti.fields import Malformed, need
from console.cti.lines import AgentLines, device_of, interface_device
from console.cti.protocol import CallState, CtiEvent, EndReason

if TYPE_CHECKING:
    from console.cti.tracker import TrackerStats


class TrackerResync:
    """Snapshot handling for `CallTracker` (see its `rebuild`)."""

    agent: str
    stats: TrackerStats
    _board: QueueBoard
    _book: CallBook
    lines: AgentLines

    def _resync_waiting(self, entry: Message) -> None:
        try:
            call = self._book.caller(entry)
            queue = need(entry, "Queue")
        except Malformed:
            return  # already counted by the board
        call.queue, call.joined_at = queue, self._board.joined_at(queue, call.uniqueid)

    def _rebuild_calls(
        self, items: Sequence[Message], at: datetime, out: list[CtiEvent], hold_known: bool
    ) -> None:
        chans: dict[str, Message] = {}
        for item in items:
            if item.get("Event").strip().lower() != "coreshowchannel":
                continue
            if not item.get("Uniqueid").strip() or not item.get("Channel").strip():
                self.stats.malformed += 1
                continue
            chans[item.get("Uniqueid").strip()] = item
        # CoreShowChannels does not say "on hold"; the member's device state (QueueStatus) does.
        on_hold = hold_known and any(
            m.status == ON_HOLD and self.lines.member(m.interface, m.member_name)
            for m in self._board.members()
        )
        devices = {interface_device(i) for i in self._board.interfaces()} | self.lines.devices
        # The agent's channels, by call (Linkedid): a direct member's phone leg, or a Local
        # member's halves and the phone its ;2 dialled (or only the phone, once optimised).
        ours: dict[str, list[Message]] = {}
        for chan in chans.values():
            if self.lines.owns(chan.get("Channel")):
                ours.setdefault(chan.get("Linkedid").strip(), []).append(chan)
        seen: dict[str, tuple[Message, Message, CallState, list[Message]]] = {}
        for linkedid, legs in ours.items():
            caller = _caller_leg(linkedid, chans, devices)
            if caller is None:
                continue  # not a queue call (e.g. an outbound call from the agent's phone)
            leg = _primary_leg(caller, legs)
            phase = CallState.OFFERED
            if leg.get("ChannelState").strip() == "6" and leg.get("BridgeId").strip():
                phase = CallState.HELD if on_hold else CallState.CONNECTED
            seen[caller.get("Uniqueid").strip()] = (leg, caller, phase, legs)
        for call in list(self._book.calls.values()):
            found = seen.get(call.uniqueid)
            if call.phase is not None and not _same_call(call, found):
                call.caller_gone = call.uniqueid not in chans
                self._book.end(call, EndReason.UNKNOWN, at, out, resync=True)
            elif call.phase is None and call.uniqueid not in chans:
                del self._book.calls[call.uniqueid]  # its Hangup was missed
        for leg, caller, phase, legs in seen.values():
            self._resync_call(leg, caller, phase, at, out, hold_known)
            live = self._book.calls.get(caller.get("Uniqueid").strip())
            if live is not None and live.phase is not None:
                self._resync_sides(live, leg, legs)

    def _resync_sides(self, call: CallRecord, leg: Message, legs: list[Message]) -> None:
        """The call's sides are what the PBX shows now; its leg, the one bridged (or ringing)."""
        for uid in set(call.sides) - {m.get("Uniqueid").strip() for m in legs}:
            self._book.drop_side(call, uid)
        call.leg = leg.get("Uniqueid").strip()
        call.agent_channel = leg.get("Channel")
        for m in legs:
            self._book.add_side(call, m.get("Uniqueid").strip(), m.get("Channel"))

    def _resync_call(
        self,
        leg: Message,
        caller: Message,
        phase: CallState,
        at: datetime,
        out: list[CtiEvent],
        hold_known: bool,
    ) -> None:
        call = self._book.caller(caller)
        call.linkedid = caller.get("Linkedid").strip() or call.linkedid
        call.channel = caller.get("Channel")
        if call.phase is None:
            queue = call.queue
            if caller.get("Application").strip().lower() == "queue":
                # Asterisk's ApplicationData is "queue,options,…".
                queue = caller.get("ApplicationData").split(",")[0].strip() or queue
            interface = next(
                (
                    m.interface
                    for m in self._board.members()
                    if m.queue == queue and self.lines.member(m.interface, m.member_name)
                ),
                self.agent,
            )
            member = self._board.member(queue, interface)
            waited = None
            if phase is CallState.OFFERED and call.joined_at is not None:
                waited = max(0.0, (at - call.joined_at).total_seconds())
            self._book.offer(
                call,
                queue=queue,
                leg=leg.get("Uniqueid").strip(),
                agent_channel=leg.get("Channel"),
                interface=interface,
                member_name=member.member_name if member is not None else interface,
                waited=waited,
                at=at,
                out=out,
                resync=True,
            )
        if phase in TALKING and call.phase is CallState.OFFERED:
            self._book.answer(call, at, out, resync=True)
        if hold_known and phase in TALKING and call.phase in TALKING and phase != call.phase:
            self._book.hold(call, phase is CallState.HELD, at, out, resync=True)


def _same_call(
    call: CallRecord, found: tuple[Message, Message, CallState, list[Message]] | None
) -> bool:
    """Whether the call the tracker follows is still there, on the same ring or talk.

    A talking call stays when any of its sides still talks to the caller (after a Local
    optimisation the phone replaced the half that was bridged); a ringing one only on the
    same leg (a new leg is a new ring, after this one ended unseen).
    """
    if found is None:
        return False
    leg, _caller, phase, legs = found
    if call.phase in TALKING:
        return phase in TALKING and bool(
            {m.get("Uniqueid").strip() for m in legs} & ({call.leg} | set(call.sides))
        )
    return leg.get("Uniqueid").strip() == call.leg


def _primary_leg(caller: Message, legs: list[Message]) -> Message:
    """The agent's leg of a call: the one in the caller's bridge; else the leg app_queue
    dialled (a Local member's ;1, running AppQueue); else the phone itself."""
    bridge = caller.get("BridgeId").strip()
    if bridge:
        for m in legs:
            if m.get("BridgeId").strip() == bridge:
                return m
    return min(
        legs,
        key=lambda m: (
            m.get("Application").strip().lower() != "appqueue",
            not m.get("Channel").strip().endswith(";1"),
            m.get("Uniqueid").strip(),
        ),
    )


def _caller_leg(linkedid: str, chans: dict[str, Message], devices: set[str]) -> Message | None:
    """The caller's leg of the call ``linkedid`` names, from CoreShowChannels."""
    # A queue caller's leg runs Queue() for the whole call, waiting and talking alike; this
    # also keeps calls the agent dials out (no Queue() anywhere) from looking like offers.
    candidates = [
        c
        for c in chans.values()
        if c.get("Linkedid").strip() == linkedid
        and c.get("Application").strip().lower() == "queue"
        and device_of(c.get("Channel")) not in devices
    ]
    # Prefer the call's first leg (its Uniqueid is the Linkedid).
    candidates.sort(key=lambda c: c.get("Uniqueid").strip() != linkedid)
    return candidates[0] if candidates else None
