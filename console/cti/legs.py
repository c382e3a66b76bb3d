"""The tracker's channel-level rules: which legs are the agent's side of a call, and what their
dial results, hang-ups, holds and transfers mean for the agent (`CallTracker` uses it).

A queue call reaches the agent on the leg app_queue dialled (AgentCalled's ``DestUniqueid``).
With a direct member (``PJSIP/1001``) that leg is the phone's; with a Local member
(``Local/1001@from-queue/n``, FreePBX) it is the Local channel's ``;1`` half, whose ``;2``
half dials the phone. All of these are the call's *sides*, followed from Newchannel (an own
device's channel with the call's Linkedid), DialBegin (what a side dials) and BridgeEnter
(``SwapUniqueid``: Local channel optimisation swapping the phone in for a half). Rules:

- Only this agent's leg decides this agent's offer. Under ringall every free member rings at
  once; the winner's ``DialEnd ANSWER`` comes before the losers' ``DialEnd CANCEL``
  (apps/app_queue.c), and a busy colleague's ``DialEnd BUSY`` may come while this phone still
  rings: other members' DialEnds are noted (answered elsewhere), never taken as ours.
- The leg's ``DialEnd ANSWER`` is remembered; `CallAnswered` comes with ``AgentConnect`` (its
  HoldTime and RingTime), dated at the DialEnd.
- An offer ends with the leg's hang-up (or AgentRingNoAnswer / QueueCallerAbandon), the reason
  taken from what was seen: abandoned, answered elsewhere, no answer, busy, cancelled.
- A call ends for the agent when its last side hangs up, or the side that transferred the
  caller does. A side's hang-up while others live (Local optimisation) moves the call onto them.
- Hold / Unhold on any side (or the caller's leg), and music on hold starting or stopping on
  the caller while talking, hold and resume the call. BlindTransfer / AttendedTransfer by a
  side transfer it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from callkit.ami_frames import Message
from console.cti.calls import TALKING, CallBook, CallRecord
from console.cti.fields import as_int, need
from console.cti.lines import AgentLines, is_local
from console.cti.protocol import CallState, CtiEvent, EndReason

if TYPE_CHECKING:
    from console.cti.board import QueueBoard
    from console.cti.scripted import ScriptedCalls
    from console.cti.tracker import TrackerStats

_CAUSE_BUSY, _CAUSE_NO_ANSWER, _CAUSE_ANSWERED_ELSEWHERE = 17, 19, 26
# DialEnd DialStatus of an outbound call's customer leg -> how the call ended.
DIAL_ENDINGS = {
    "NOANSWER": EndReason.NO_ANSWER,
    "BUSY": EndReason.BUSY,
    "CANCEL": EndReason.CANCELLED,
    "CONGESTION": EndReason.FAILED,
    "CHANUNAVAIL": EndReason.FAILED,
}
_MAX_LOCALS = 20_000  # live Local halves remembered by name (a hung-up one is forgotten)


class LegEvents:
    """Channel-level handlers of `CallTracker` (a mixin; see the module docstring)."""

    stats: TrackerStats
    lines: AgentLines
    _book: CallBook
    _board: QueueBoard
    _scripts: ScriptedCalls
    _dialled: dict[str, CallRecord]
    _locals: dict[str, str]

    def _ignore(self) -> bool:
        self.stats.ignored += 1
        return False

    def _duplicate(self) -> bool:
        self.stats.duplicates += 1
        return False

    # Which call a channel belongs to ---------------------------------------------------------

    def _side_call(self, msg: Message, prefix: str = "") -> CallRecord | None:
        """The agent's live call a channel block (``prefix``) is a side of, if any.

        A channel already followed, or one of the agent's devices carrying a live call's
        Linkedid (then followed from now on).
        """
        uid = msg.get(prefix + "Uniqueid").strip()
        call = self._book.by_leg(uid) if uid else None
        if call is not None:
            return call
        channel = msg.get(prefix + "Channel").strip()
        if not uid or not self.lines.owns(channel):
            return None
        call = self._book.by_linkedid(msg.get(prefix + "Linkedid").strip())
        if call is None or call.direction != "inbound":
            return None
        return call if self._book.add_side(call, uid, channel) else None

    def _talking_call(self, msg: Message, prefix: str = "") -> CallRecord | None:
        """The agent's talking call a channel block is a side or the caller of."""
        call = self._side_call(msg, prefix)
        if call is None:
            call = self._book.ours(msg.get(prefix + "Uniqueid").strip())
        return call if call is not None and call.phase in TALKING else None

    # Channels appearing ----------------------------------------------------------------------

    def _on_new_channel(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        channel, uid = msg.get("Channel").strip(), msg.get("Uniqueid").strip()
        if is_local(channel) and uid:
            if len(self._locals) >= _MAX_LOCALS:
                self._locals.clear()  # bounded; a lost entry only costs a fallback
            self._locals[channel] = uid
        call = self._side_call(msg)
        return call is not None or self._ignore()

    def _on_dial_begin(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """A side dials on (a Local member's ``;2`` rings the phone): follow what it dials."""
        call = self._book.by_leg(msg.get("Uniqueid").strip())
        if call is None or call.direction != "inbound":
            return self._ignore()  # the queue's own dial (AgentCalled), or an outbound call
        added = self._book.add_side(
            call, msg.get("DestUniqueid").strip(), msg.get("DestChannel").strip()
        )
        return added or self._duplicate()

    def _on_bridge_enter(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """``SwapUniqueid``: a channel takes a side's place in a bridge (Local optimisation)."""
        swapped = msg.get("SwapUniqueid").strip()
        call = self._book.by_leg(swapped) if swapped else None
        channel = msg.get("Channel").strip()
        if call is None or not self.lines.owns(channel):
            # Not ours, or a transfer target swapped in for the agent (AttendedTransfer says).
            return self._ignore()
        added = self._book.add_side(call, msg.get("Uniqueid").strip(), channel)
        return added or self._duplicate()

    def _on_local_optimization(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """LocalOptimizationBegin: the channel outside the Local pair (``Source``) is about to
        take its half's place; follow it before the halves hang up."""
        call = self._book.by_leg(msg.get("LocalOneUniqueid").strip()) or self._book.by_leg(
            msg.get("LocalTwoUniqueid").strip()
        )
        if call is None or call.phase is None:
            return self._ignore()
        source = msg.get("SourceUniqueid").strip()
        if source and source != call.uniqueid:
            self._book.add_side(call, source, msg.get("SourceChannel").strip())
        return True

    # Dial results ----------------------------------------------------------------------------

    def _on_dial_end(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        uid, dest = msg.get("Uniqueid").strip(), msg.get("DestUniqueid").strip()
        status = msg.get("DialStatus").strip().upper()
        dialler = self._book.by_leg(uid) if uid else None
        if dialler is not None:
            if dialler.direction == "outbound" and uid == dialler.leg:
                return self._outbound_dial_end(dialler, dest, status, at, out)
            return self._ignore()  # a side dialling on: the queue leg's own DialEnd decides
        mine = self._book.by_leg(dest) if dest else None
        if mine is not None and dest == mine.leg and mine.phase is CallState.OFFERED:
            # This agent's leg: remember the outcome; AgentConnect or the leg's hang-up acts.
            if status == "ANSWER":
                mine.connecting_at = at
            else:
                mine.dial_status = status
            return True
        caller = self._book.calls.get(uid) if uid else None
        if caller is not None and caller.phase is CallState.OFFERED and status == "ANSWER":
            caller.elsewhere = True  # another member took it; this leg's CANCEL follows
            return True
        return self._ignore()

    def _outbound_dial_end(
        self, call: CallRecord, dest: str, status: str, at: datetime, out: list[CtiEvent]
    ) -> bool:
        """The customer of the agent's outbound call answered (CallAnswered) or did not."""
        if call.phase is not CallState.OFFERED:
            return self._duplicate()
        if status == "ANSWER":
            self._dialled[dest] = call
            self._book.answer(call, at, out)
            return True
        self._book.end(call, DIAL_ENDINGS.get(status, EndReason.FAILED), at, out)
        return True

    # Hang-ups --------------------------------------------------------------------------------

    def _on_hangup(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        uid = need(msg, "Uniqueid")
        channel = msg.get("Channel").strip()
        if is_local(channel):
            self._locals.pop(channel, None)
        cause, cause_text = as_int(msg.get("Cause")), msg.get("Cause-txt")
        self._scripts.hung_up(msg, uid)
        call = self._book.by_leg(uid)
        if call is not None:
            return self._side_hung_up(call, uid, cause, cause_text, at, out)
        dialled = self._dialled.pop(uid, None)
        if dialled is not None:  # the customer of an outbound call hung up
            dialled.caller_gone = True
            return True
        call = self._book.calls.get(uid)
        if call is None:
            return self._ignore()  # a channel this tracker never followed (or stale)
        call.caller_gone = True
        self._board.leave(call.queue, uid, at, out)  # in case its QueueCallerLeave was missed
        if call.phase is None:
            del self._book.calls[uid]
            return True
        if call.cause is None:
            call.cause, call.cause_text = cause, cause_text
        if call.phase is CallState.OFFERED:
            self._book.end(call, EndReason.ABANDONED, at, out)
        elif call.completed:
            self._book.end(call, call.complete_reason or EndReason.CALLER, at, out)
        # else: still talking as far as we know; AgentComplete or the agent's side hanging
        # up closes it, with the talk time.
        return True

    def _side_hung_up(
        self,
        call: CallRecord,
        uid: str,
        cause: int | None,
        cause_text: str,
        at: datetime,
        out: list[CtiEvent],
    ) -> bool:
        if call.phase is CallState.OFFERED:
            if uid != call.leg:
                self._book.drop_side(call, uid)  # a Local member's half or phone, still ringing
                return True
            call.cause, call.cause_text = cause, cause_text
            self._book.end(call, _unanswered(call, cause), at, out)
            return True
        self._book.drop_side(call, uid)
        if uid == call.leg and call.cause is None:
            call.cause, call.cause_text = cause, cause_text
        if call.sides and uid != call.transferer:
            if uid == call.leg:
                # The bridged leg went (Local optimisation) but the phone talks on: follow it.
                call.leg, call.agent_channel = _survivor(call)
            return True
        gone = EndReason.CALLER if call.caller_gone else EndReason.AGENT
        self._book.end(call, call.complete_reason or gone, at, out)
        return True

    def _on_hangup_request(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """The caller is hanging up (HangupRequest comes before app_queue cancels the members'
        legs, and the Hangup itself after): an offer that ends now was abandoned."""
        call = self._book.calls.get(msg.get("Uniqueid").strip())
        if call is None or call.phase is None:
            return self._ignore()
        call.leaving = True
        return True

    # Hold and transfers ----------------------------------------------------------------------

    def _on_hold(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        need(msg, "Uniqueid")
        call = self._talking_call(msg)
        if call is None:
            return self._ignore()  # not ours, or Hold before Connect
        return self._held(call, msg.get("Event").strip().lower() == "hold", at, out)

    def _on_music(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """Music on hold for the caller while the agent talks to them means they are held."""
        call = self._talking_call(msg)
        if call is None:
            return self._ignore()  # queue music while waiting, or not ours
        start = msg.get("Event").strip().lower() == "musiconholdstart"
        return self._held(call, start, at, out)

    def _held(self, call: CallRecord, held: bool, at: datetime, out: list[CtiEvent]) -> bool:
        if (call.phase is CallState.HELD) == held:
            return self._duplicate()
        self._book.hold(call, held, at, out)
        return True

    def _on_blind_transfer(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        call = self._talking_call(msg, "Transferer") or self._talking_call(msg, "Transferee")
        if call is None:
            return self._ignore()
        if msg.get("Result").strip().lower() not in ("", "success"):
            return self._ignore()  # a failed transfer leaves the call where it was
        if call.transferred:
            return self._duplicate()
        transferer = msg.get("TransfererUniqueid").strip()
        call.transferer = transferer if transferer in call.sides else ""
        self._book.transfer(call, msg.get("Extension"), msg.get("Context"), at, out)
        return True

    def _on_attended_transfer(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """The agent's phone completed a consult transfer: the caller went to the target."""
        call = self._talking_call(msg, "OrigTransferer")
        if call is None:
            return self._ignore()
        if msg.get("Result").strip().lower() not in ("", "success"):
            return self._ignore()
        if msg.get("DestType").strip().lower() == "threeway":
            # The consult joined the caller (atxferthreeway): a conference, not a transfer.
            if call.conferenced:
                return self._duplicate()
            call.conferenced = True
            self._book.conference(call, _attended_target(msg), at, out)
            return True
        if call.transferred:
            return self._duplicate()
        call.transferer = msg.get("OrigTransfererUniqueid").strip()
        target, context = _attended_target(msg), msg.get("SecondTransfererContext")
        self._book.transfer(call, target, context, at, out)
        return True


def _unanswered(call: CallRecord, cause: int | None) -> EndReason:
    """Why an offer ended without an answer, from what the tracker saw of it."""
    if call.abandoned or call.caller_gone or call.leaving:
        return EndReason.ABANDONED
    if call.elsewhere or cause == _CAUSE_ANSWERED_ELSEWHERE:
        return EndReason.ANSWERED_ELSEWHERE
    if call.dial_status == "NOANSWER" or cause == _CAUSE_NO_ANSWER:
        return EndReason.NO_ANSWER
    if call.dial_status == "BUSY" or cause == _CAUSE_BUSY:
        return EndReason.BUSY
    return EndReason.CANCELLED


def _survivor(call: CallRecord) -> tuple[str, str]:
    """The side the call lives on after its bridged leg went: the phone over a Local half."""
    uid = min(call.sides, key=lambda u: (is_local(call.sides[u]), u))
    return uid, call.sides[uid]


def _attended_target(msg: Message) -> str:
    """Where an attended transfer sent the caller: the consulted party's number.

    A DTMF / Atxfer transfer dials the target through ``Local/<exten>@<context>`` (main/
    bridge_basic.c dial_transfer()): its exten is the target. A phone's REFER names the
    consulted channel, whose caller ID is its number.
    """
    target = msg.get("TransferTargetChannel").strip()
    if target[:6].lower() == "local/":
        return target[6:].partition("@")[0]
    for key in (
        "TransferTargetCallerIDNum",
        "SecondTransfererConnectedLineNum",
        "SecondTransfererExten",
    ):
        value = msg.get(key).strip()
        if value and value != "<unknown>":
            return value
    return msg.get("DestApp").strip()
