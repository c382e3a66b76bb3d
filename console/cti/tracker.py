"""The call tracker: AMI event frames in, typed CTI events (``protocol.py``) out.

`CallTracker` is a pure state machine (no I/O, no asyncio) for one agent, named by its queue
interface (``PJSIP/1001``) or its member name. It follows every queue call it hears about,
keyed by the caller's Uniqueid, and the agent's ringing/talking legs, keyed by their own
Uniqueid, and emits call events only for the agent's own calls::

    (none) --AgentCalled--> offered --AgentConnect--> connected <--Hold/Unhold--> held
    offered --AgentRingNoAnswer / QueueCallerAbandon / leg Hangup--> (none)  CallEnded
    connected|held --agent leg Hangup, or AgentComplete after the caller hung up--> (none)

It also keeps every queue's waiting callers and every member's state, for wallboards, and
remembers which calls are a scenario's scripted calls (``UserEvent: ScriptedCall``, by Linkedid,
until the call's first leg hangs up) so their ``CallOffered`` names the script and the
trainer's run; a trainer's run on this agent's phone (``UserEvent: TrainingStarted`` /
``TrainingFinished``) becomes `TrainingChanged` (both in ``scripted.py``).

Robustness rules (the link can drop, a resync replays events the snapshot already reflects):
a frame that would not change anything (a second AgentConnect, a Hold while held, an
AgentCalled for a leg already rung) is counted as a duplicate and ignored; a frame about a call
this tracker does not know (a Hangup for an unknown channel, Hold before Connect) is ignored;
unknown event names are counted per name; a frame missing a field it needs is counted as
malformed. None of them raises. ``rebuild`` resets the state from a QueueStatus +
CoreShowChannels snapshot and emits only the differences (a call that appeared, was answered,
held or resumed, or vanished while the link was down).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from callkit.ami_frames import Message
from console.cti.board import QueueBoard
from console.cti.calls import TALKING, CallBook, CallRecord, campaign_of
from console.cti.fields import Malformed, Recent, as_float, as_int, need
from console.cti.legs import LegEvents
from console.cti.lines import AgentLines, local_partner
from console.cti.protocol import (
    COACH_DOORBELL,
    ActiveCall,
    AgentStateChanged,
    CallAbandoned,
    CallbackRequested,
    CallState,
    CoachMessageWaiting,
    CtiEvent,
    EndReason,
    OriginateFailed,
    QueueChanged,
    TranscriptLine,
)
from console.cti.resync import TrackerResync
from console.cti.scripted import ScriptedCalls, training_changed

_COMPLETE_REASONS = {
    "caller": EndReason.CALLER,
    "agent": EndReason.AGENT,
    "transfer": EndReason.TRANSFER,
}
#: Events the tracker knows and deliberately ignores (counted as ignored, not unknown).
_IGNORED = frozenset(
    {
        "fullybooted",
        "shutdown",
        "newstate",
        "newcallerid",
        "newconnectedline",
        "varset",
        "dialstate",
        "bridgecreate",
        "bridgedestroy",
        "bridgeleave",
        "bridgemerge",
        "localbridge",
        "localoptimizationend",
        "agentdump",
        # Everyday noise of a real PBX (dial plan, media, billing, device and peer states).
        "newaccountcode",
        "rtcpsent",
        "rtcpreceived",
        "cdr",
        "cel",
        "dtmfbegin",
        "dtmfend",
        "extensionstatus",
        "presencestatus",
        "peerstatus",
        "contactstatus",
        "devicestatechangecomplete",
        "bridgevideosourceupdate",
        "channeltalkingstart",
        "channeltalkingstop",
        "mixmonitorstart",
        "mixmonitorstop",
        "newexten",
        "queuememberpenalty",
        "queuememberringinuse",
        "devicestatechange",
    }
)


@dataclass
class TrackerStats:
    """What the tracker did with the frames it was fed (for logs and a status line)."""

    handled: int = 0  # frames that changed state or produced events
    ignored: int = 0  # known events of no interest, or about calls/agents not tracked
    duplicates: int = 0  # repeated or out-of-order frames that would have changed nothing
    malformed: int = 0  # frames (or snapshot items) missing a field they need
    unknown: Counter[str] = field(default_factory=Counter)  # unknown event names, per name


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The list items of QueueStatus and CoreShowChannels; None for a list the PBX refused."""

    queue_status: Sequence[Message] | None
    channels: Sequence[Message] | None


class CallTracker(LegEvents, TrackerResync):
    """Turns AMI events into typed CTI events for one agent; see the module docstring.

    ``agent`` is the agent's queue interface (``PJSIP/1001``) or member name; ``clock`` gives
    the ``at`` of events whose frame carries no ``Timestamp`` (default: now, UTC).
    ``queue_figures=False``: no QueueChanged (an agent's filtered session; `QueueBoard`).
    """

    def __init__(
        self,
        agent: str,
        *,
        state_interfaces: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
        queue_figures: bool = True,
    ) -> None:
        if not agent.strip():
            raise ValueError("the tracker needs the agent's interface or member name")
        self.agent = agent.strip()
        self.stats = TrackerStats()
        self._board = QueueBoard(figures=queue_figures)
        self._clock = clock or (lambda: datetime.now(UTC))
        # The agent may be named by interface, member name or state interface: each is learnt
        # from the others through the QueueMember frames that carry them together.
        self.lines = AgentLines(self.agent, state_interfaces)
        self._book = CallBook(self.agent)
        # Live Local channel halves by name -> Uniqueid, to find a member leg's other half.
        self._locals: dict[str, str] = {}
        self._once = Recent()  # one-shot events already counted (abandons, completions)
        self._handlers: dict[str, Callable[[Message, datetime, list[CtiEvent]], bool]] = {
            "queuecallerjoin": self._on_join,
            "queuecallerleave": self._on_leave,
            "queuecallerabandon": self._on_abandon,
            "agentcalled": self._on_agent_called,
            "agentringnoanswer": self._on_ring_no_answer,
            "agentconnect": self._on_agent_connect,
            "agentcomplete": self._on_agent_complete,
            "hold": self._on_hold,
            "unhold": self._on_hold,
            "blindtransfer": self._on_blind_transfer,
            "hangup": self._on_hangup,
            "queuememberadded": self._on_member,
            "queuememberstatus": self._on_member,
            "queuememberpause": self._on_member,
            "queuememberremoved": self._on_member_removed,
            "userevent": self._on_user_event,
            "originateresponse": self._on_originate_response,
            "dialend": self._on_dial_end,
            "dialbegin": self._on_dial_begin,
            "newchannel": self._on_new_channel,
            "bridgeenter": self._on_bridge_enter,
            "musiconholdstart": self._on_music,
            "musiconholdstop": self._on_music,
            "attendedtransfer": self._on_attended_transfer,
            "localoptimizationbegin": self._on_local_optimization,
            "hanguprequest": self._on_hangup_request,
            "softhanguprequest": self._on_hangup_request,
        }
        # Outbound calls this agent's phone placed: the customer's leg -> the call.
        self._dialled: dict[str, CallRecord] = {}
        self._scripts = ScriptedCalls()  # UserEvent: ScriptedCall, by Linkedid

    # Queries -------------------------------------------------------------------------------

    @property
    def followed_callers(self) -> int:
        """How many callers' records the tracker holds (waiting in the agent's queues, or the
        agent's calls)."""
        return len(self._book.calls)

    def active_calls(self) -> list[ActiveCall]:
        """The agent's calls right now (ringing, talking or held), oldest first."""
        return self._book.active()

    def agent_channel(self, uniqueid: str, default: str = "") -> str:
        """The agent's leg of the live call ``uniqueid`` now (it changes when a Local member's
        halves optimise away), for Hangup and BlindTransfer; ``default`` when not live."""
        call = self._book.ours(uniqueid)
        return call.agent_channel if call is not None and call.agent_channel else default

    @property
    def queue_figures(self) -> bool:
        """Whether callers joining and leaving become QueueChanged events."""
        return self._board.figures

    def queues(self) -> dict[str, QueueChanged]:
        """The current state of every known queue."""
        return self._board.views(self._clock())

    def members(self) -> list[AgentStateChanged]:
        """The current state of every queue member (one entry per member and queue)."""
        return self._board.members()

    # Feeding -------------------------------------------------------------------------------

    def feed(self, message: Message) -> list[CtiEvent]:
        """Apply one AMI event frame; return the CTI events it produced (often none)."""
        name = message.get("Event").strip().lower()
        handler = self._handlers.get(name)
        if handler is None:
            if not name:
                self.stats.malformed += 1
            elif name in _IGNORED:
                self.stats.ignored += 1
            else:
                self.stats.unknown[message.get("Event").strip()] += 1
            return []
        out: list[CtiEvent] = []
        try:
            changed = handler(message, self._at(message), out)
        except Malformed:
            # Handlers read every field they need before changing anything.
            self.stats.malformed += 1
            return []
        if changed:
            self.stats.handled += 1
        self._scripts.tag(out)
        return out

    def _at(self, message: Message) -> datetime:
        stamp = as_float(message.get("Timestamp")) if "Timestamp" in message else None
        if stamp is not None:
            try:
                return datetime.fromtimestamp(stamp, UTC)
            except (OverflowError, OSError, ValueError):
                pass
        return self._clock()

    def _ours(self, msg: Message) -> bool:
        return self.lines.member(msg.get("Interface"), msg.get("MemberName"))

    def _learn(self, state: AgentStateChanged, state_interface: str = "") -> None:
        self.lines.learn(state.interface, state.member_name, state_interface)

    # Queue callers -------------------------------------------------------------------------

    def _on_join(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        queue = need(msg, "Queue")
        call = self._book.caller(msg)
        if self._board.joined_at(queue, call.uniqueid) is not None:
            return self._duplicate()
        if call.queue != queue:
            self._board.leave(call.queue, call.uniqueid, at, out)  # a missed QueueCallerLeave
        self._board.join(queue, call.uniqueid, at, out)
        call.queue, call.joined_at, call.caller_gone = queue, at, False
        return True

    def _on_leave(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        uid, queue = need(msg, "Uniqueid"), need(msg, "Queue")
        left = self._board.leave(queue, uid, at, out)
        self._book.forget_bystander(uid)
        return left or self._duplicate()

    def _on_abandon(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        queue = need(msg, "Queue")
        call = self._book.caller(msg)
        if not self._once.add(("abandon", call.uniqueid, queue)):
            return self._duplicate()
        out.append(
            CallAbandoned(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                queue=queue,
                caller_id=call.caller_id,
                caller_name=call.caller_name,
                position=as_int(msg.get("Position")),
                original_position=as_int(msg.get("OriginalPosition")),
                waited=as_int(msg.get("HoldTime")),
                at=at,
            )
        )
        self._board.count(queue, "abandoned", at, out)
        call.abandoned = True
        if call.phase is CallState.OFFERED:
            self._book.end(call, EndReason.ABANDONED, at, out)
        self._book.forget_bystander(call.uniqueid)
        return True

    # The agent's calls -------------------------------------------------------------------

    def _on_agent_called(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        if not self._ours(msg):
            return self._ignore()
        leg, queue = need(msg, "DestUniqueid"), need(msg, "Queue")
        if leg in self._book.finished or leg in self._book.legs:
            return self._duplicate()
        call = self._book.caller(msg)
        if call.phase in TALKING:
            return self._duplicate()  # stale: already talking on another leg
        if call.phase is CallState.OFFERED:
            # Still ringing, on a leg whose end we never saw: follow the new leg, no new offer.
            self._book.forget_leg(call)
            call.leg, call.agent_channel = leg, msg.get("DestChannel")
            self._book.add_side(call, leg, call.agent_channel)
            self._follow_partner(call)
            return True
        waited = as_float(msg.get("HoldTime") or msg.get("Wait"))
        joined = call.joined_at if call.queue == queue else None
        # A caller listed by the last resync's QueueStatus, whose join this session missed.
        joined = joined or self._board.joined_at(queue, call.uniqueid)
        if waited is None and joined is not None:
            waited = max(0.0, (at - joined).total_seconds())
        self._offer_from(call, msg, queue, leg, waited, at, out)
        self._follow_partner(call)
        return True

    def _follow_partner(self, call: CallRecord) -> None:
        """A Local member's leg (``…;1``): its other half (``;2``, which rings the phone) is a
        side of the call too."""
        partner = local_partner(call.agent_channel.strip())
        uid = self._locals.get(partner) if partner else None
        if uid:
            self._book.add_side(call, uid, partner)

    def _offer_from(
        self,
        call: CallRecord,
        msg: Message,
        queue: str,
        leg: str,
        waited: float | None,
        at: datetime,
        out: list[CtiEvent],
    ) -> None:
        """Offer from an AgentCalled / AgentConnect frame (its Dest* and member fields)."""
        self._book.offer(
            call,
            queue=queue,
            leg=leg,
            agent_channel=msg.get("DestChannel"),
            interface=msg.get("Interface"),
            member_name=msg.get("MemberName"),
            waited=waited,
            at=at,
            out=out,
        )

    def _agent_call(self, msg: Message) -> CallRecord | None:
        """The agent's call an Agent* frame is about (matched by the agent's leg), if any."""
        return self._book.by_leg(msg.get("DestUniqueid").strip())

    def _on_ring_no_answer(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        if not self._ours(msg):
            return self._ignore()
        call = self._agent_call(msg)
        if call is None or call.phase is not CallState.OFFERED:
            return self._duplicate()
        self._book.end(call, EndReason.NO_ANSWER, at, out)
        return True

    def _on_agent_connect(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        if not self._ours(msg):
            return self._ignore()
        leg, queue = need(msg, "DestUniqueid"), need(msg, "Queue")
        if leg in self._book.finished:
            return self._duplicate()
        call = self._book.caller(msg)
        if call.phase in TALKING:
            return self._duplicate()
        if call.phase is None or call.leg != leg:
            # The AgentCalled was missed: offer first, so every answer follows an offer.
            self._book.forget_leg(call)
            self._offer_from(call, msg, queue, leg, as_float(msg.get("HoldTime")), at, out)
        self._book.answer(
            call,
            at,
            out,
            hold_time=as_int(msg.get("HoldTime")),
            ring_time=as_int(msg.get("RingTime")),
        )
        return True

    def _on_agent_complete(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        queue = need(msg, "Queue")
        # asterisk/asterisk#393: with a Local member the caller's block may be missing.
        uid = msg.get("Uniqueid").strip() or need(msg, "DestUniqueid")
        counted = self._once.add(("complete", uid, msg.get("DestUniqueid").strip()))
        if counted:
            self._board.count(queue, "completed", at, out)
        call = self._completed_call(msg) if self._ours(msg) else None
        if call is None or call.phase not in TALKING or call.completed:
            return counted or self._duplicate()
        call.completed = True
        call.talk_time = as_int(msg.get("TalkTime"))
        reason = _COMPLETE_REASONS.get(msg.get("Reason").strip().lower())
        if reason is EndReason.TRANSFER:
            # The caller's Exten/Context already name where they were sent.
            self._book.transfer(call, msg.get("Exten"), msg.get("Context"), at, out)
        elif not call.transferred:
            call.complete_reason = reason
        if call.caller_gone:
            self._book.end(call, call.complete_reason or EndReason.CALLER, at, out)
        return True

    def _completed_call(self, msg: Message) -> CallRecord | None:
        """The agent's talking call an AgentComplete is about.

        Usually its ``DestUniqueid`` is the member leg; with a Local member whose halves were
        optimised away it can name another side, or (asterisk/asterisk#393) carry the member's
        channel where the caller's should be: the caller's Uniqueid, then the Linkedid decide.
        """
        for key in ("DestUniqueid", "Uniqueid"):
            call = self._book.by_leg(msg.get(key).strip())
            if call is not None and call.phase in TALKING:
                return call
        call = self._book.calls.get(msg.get("Uniqueid").strip())
        if call is not None and call.phase in TALKING:
            return call
        for key in ("Linkedid", "DestLinkedid"):
            call = self._book.by_linkedid(msg.get(key).strip())
            if call is not None and call.phase in TALKING:
                return call
        return None

    def _on_user_event(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        kind = msg.get("UserEvent").strip().lower()
        if kind == "callbackrequest":
            return self._on_callback_request(msg, at, out)
        if kind == "scriptedcall":
            return self._scripts.remember(msg) or self._duplicate()
        if kind in ("trainingstarted", "trainingfinished"):
            return self._on_training(msg, kind == "trainingfinished", at, out)
        if kind == COACH_DOORBELL.lower():
            interface = msg.get("Interface").strip()
            if interface not in self.lines.interfaces:
                return self._ignore()  # another agent's (a supervisor's full stream)
            out.append(CoachMessageWaiting(interface=interface, at=at))
            return True
        if kind != "transcript":
            return self._ignore()
        call = self._book.ours(need(msg, "Uniqueid"))
        if call is None:
            return self._ignore()
        out.append(
            TranscriptLine(
                uniqueid=call.uniqueid,
                linkedid=call.linkedid,
                speaker=msg.get("Speaker").strip() or "caller",
                text=msg.get("Text"),
                script=msg.get("Script"),
                at=at,
            )
        )
        return True

    def _on_training(self, msg: Message, finished: bool, at: datetime, out: list[CtiEvent]) -> bool:
        """A trainer's run started or ended on this agent's phone (others' are ignored)."""
        if msg.get("Interface").strip() not in self.lines.interfaces:
            return self._ignore()
        event = training_changed(msg, finished, at)
        if not self._once.add(("training", event.interface, event.run_id, event.state)):
            return self._duplicate()
        out.append(event)
        return True

    # Outbound (Originate) -------------------------------------------------------------------

    def _our_channel(self, channel: str) -> bool:
        """`PJSIP/1001-0000002a`, `Local/1001@from-queue-…;1` (or the bare interface) is one of
        this agent's channels."""
        return self.lines.owns(channel)

    def _on_originate_response(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """The agent's phone answered an Originate (offer the outbound call) or never did."""
        if not self._our_channel(msg.get("Channel").strip()):
            return self._ignore()
        action_id = msg.get("ActionID").strip()
        if msg.get("Response").strip().lower() != "success":
            if not self._once.add(("originate", action_id)):
                return self._duplicate()
            out.append(
                OriginateFailed(action_id=action_id, reason=as_int(msg.get("Reason")), at=at)
            )
            return True
        number = msg.get("Exten").strip()
        if not number:
            # An application Originate (a supervisor's ChanSpy on their own phone): main/
            # manager.c fast_originate() reports it with an empty Context and Exten. Not a
            # call to anyone: the monitoring service follows it, the desk does not.
            return self._ignore()
        leg = need(msg, "Uniqueid")
        if leg in self._book.legs or leg in self._book.finished:
            return self._duplicate()
        call = self._book.calls[leg] = CallRecord(leg, leg, msg.get("Channel"), number, "")
        # A preview dial's variables ride on the agent's leg (docs/cti.md, agent-first).
        call.campaign, call.lead = campaign_of(msg)
        self._book.offer(
            call,
            queue="",
            leg=leg,
            agent_channel=msg.get("Channel"),
            interface=self.agent,
            member_name="",
            waited=None,
            at=at,
            out=out,
            direction="outbound",
            action_id=action_id,
        )
        return True

    def _on_callback_request(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        uniqueid = need(msg, "Uniqueid")
        if not self._once.add(("callback", uniqueid)):
            return self._duplicate()
        out.append(
            CallbackRequested(
                uniqueid=uniqueid,
                queue=msg.get("Queue").strip(),
                number=msg.get("Number").strip(),
                waited=as_int(msg.get("WaitTime")),
                at=at,
            )
        )
        return True

    # Members -------------------------------------------------------------------------------

    def _on_member(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        state = self._board.member_event(msg, at, out)
        if state is None:
            return self._duplicate()
        self._learn(state, msg.get("StateInterface"))
        return True

    def _on_member_removed(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        return self._board.member_removed(msg, at, out) or self._duplicate()

    # Resynchronisation ---------------------------------------------------------------------

    def rebuild(self, snapshot: Snapshot) -> list[CtiEvent]:
        """Reset the state from a QueueStatus + CoreShowChannels snapshot; return the changes.

        Call events carry ``resync=True``: a call of the agent's that appeared (CallOffered,
        then CallAnswered / CallHeld as the snapshot shows), changed (answered, held,
        resumed) or vanished (CallEnded with reason ``unknown``) while the link was down.
        Members whose state changed get an AgentStateChanged and every queue a fresh
        QueueChanged. A list that is None (the PBX refused it) leaves that part as it was.
        """
        at = self._clock()
        out: list[CtiEvent] = []
        if snapshot.queue_status is not None:
            self.stats.malformed += self._board.rebuild(snapshot.queue_status, at, out)
            for state in self._board.members():
                self._learn(state)
            for item in snapshot.queue_status:
                if item.get("Event").strip().lower() == "queuemember":
                    self.lines.learn(
                        item.get("Location"), item.get("Name"), item.get("StateInterface")
                    )
            for item in snapshot.queue_status:
                if item.get("Event").strip().lower() == "queueentry":
                    self._resync_waiting(item)
        if snapshot.channels is not None:
            self._rebuild_calls(snapshot.channels, at, out, snapshot.queue_status is not None)
        if snapshot.queue_status is not None:
            self._board.emit_all(at, out)
        self._scripts.tag(out)
        return out
