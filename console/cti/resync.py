"""The tracker's resynchronisation from a snapshot: which of the agent's calls survive a
reconnect, which appeared, which vanished (`CallTracker.rebuild` drives it).

A mixin of `CallTracker`, kept apart so each module stays small; it uses the tracker's call
book, queue board and the interfaces it has learnt for the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from console.cti.board import ON_HOLD, QueueBoard
from console.cti.calls import TALKING, CallBook
from console.cti.fields import Malformed, need
from console.cti.frames import Message
from console.cti.protocol import CallState, CtiEvent, EndReason

if TYPE_CHECKING:
    from console.cti.tracker import TrackerStats


class TrackerResync:
    """Snapshot handling for `CallTracker` (see its `rebuild`)."""

    agent: str
    stats: TrackerStats
    _board: QueueBoard
    _book: CallBook
    _interfaces: set[str]

    def _resync_waiting(self, entry: Message) -> None:
        try:
            call = self._book.caller(entry)
            queue = need(entry, "Queue")
        except Malformed:
            return  # already counted by the board
        call.queue, call.joined_at = queue, self._board.joined_at(queue, call.uniqueid)

    def _our_interface(self, channel: str) -> str | None:
        # Asterisk names a leg "<interface>-<sequence>" (PJSIP/1001-0000002a).
        return next((i for i in self._interfaces if channel.startswith(i + "-")), None)

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
            m.status == ON_HOLD and m.interface in self._interfaces for m in self._board.members()
        )
        members = self._board.interfaces() | self._interfaces
        seen: dict[str, tuple[Message, Message, CallState]] = {}
        for leg in chans.values():
            if self._our_interface(leg.get("Channel")) is None:
                continue
            caller = _caller_leg(leg, chans, members)
            if caller is None:
                continue  # not a queue call (e.g. an outbound call from the agent's phone)
            phase = CallState.OFFERED
            if leg.get("ChannelState").strip() == "6" and leg.get("BridgeId").strip():
                phase = CallState.HELD if on_hold else CallState.CONNECTED
            seen[caller.get("Uniqueid").strip()] = (leg, caller, phase)
        for call in list(self._book.calls.values()):
            found = seen.get(call.uniqueid)
            if call.phase is not None and (
                found is None or found[0].get("Uniqueid").strip() != call.leg
            ):
                call.caller_gone = call.uniqueid not in chans
                self._book.end(call, EndReason.UNKNOWN, at, out, resync=True)
            elif call.phase is None and call.uniqueid not in chans:
                del self._book.calls[call.uniqueid]  # its Hangup was missed
        for leg, caller, phase in seen.values():
            self._resync_call(leg, caller, phase, at, out, hold_known)

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
            interface = self._our_interface(leg.get("Channel")) or self.agent
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


def _caller_leg(leg: Message, chans: dict[str, Message], members: set[str]) -> Message | None:
    """The caller's leg of the call ``leg`` (an agent's leg) belongs to, from CoreShowChannels."""
    linkedid = leg.get("Linkedid").strip()
    # A queue caller's leg runs Queue() for the whole call, waiting and talking alike; this
    # also keeps calls the agent dials out (no Queue() anywhere) from looking like offers.
    candidates = [
        c
        for uid, c in chans.items()
        if uid != leg.get("Uniqueid").strip()
        and c.get("Linkedid").strip() == linkedid
        and c.get("Application").strip().lower() == "queue"
        and not any(c.get("Channel").startswith(i + "-") for i in members)
    ]
    # Prefer the call's first leg (its Uniqueid is the Linkedid).
    candidates.sort(key=lambda c: c.get("Uniqueid").strip() != linkedid)
    return candidates[0] if candidates else None
