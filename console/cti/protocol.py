"""Typed CTI events: what ``console.cti`` tells the rest of the console.

Pure frozen dataclasses, no asyncio and no Textual. The AMI client (``ami.py``) and the call
tracker (``tracker.py``) turn Asterisk Manager Interface frames into these; services and screens
only ever see these types, never raw AMI field names.

Conventions shared by every event:

- ``at`` is an aware UTC ``datetime``: the frame's ``Timestamp`` header when the PBX sends one
  (Asterisk's ``timestampevents = yes``), otherwise when the console received the frame.
- ``uniqueid`` is always the **caller's** channel Uniqueid (the trunk leg that sat in the queue),
  so every event of one call carries the same key; ``linkedid`` is the Linkedid shared by all
  legs of the call. ``channel`` is the caller's channel name, ``agent_channel`` the agent's leg.
- ``interface`` is the agent's queue interface (``PJSIP/1001``), ``member_name`` its member name.
- ``resync`` is True when the event was synthesised from a snapshot after a (re)connect rather
  than seen live: consumers should upsert by ``uniqueid`` (an interaction row already exists
  for a call that "reappears" after a reconnect).
- Text fields (caller names, transcript text, pause reasons) are **untrusted** and raw: pass them
  through ``console.services.text.clean_text`` and render them as plain ``Text``/``Content``.
  ``caller_id`` is the raw CallerIDNum for ``console.services.crm.phones.normalise``; an empty or
  absent caller ID is ``<unknown>``, as Asterisk prints it.

Life cycle of one call for one agent: ``CallOffered`` → (``CallAnswered`` → ``CallHeld`` /
``CallResumed``… → ``CallTransferred``?) → ``CallEnded``. Every ``CallOffered`` is closed by
exactly one ``CallEnded`` (``answered`` tells whether it got that far); a caller who is offered
again later (ring-no-answer, then re-offered) gets a new ``CallOffered`` with the same
``uniqueid``. ``CallAbandoned``, ``QueueChanged`` and ``AgentStateChanged`` are about every
queue and every member (wallboards), not only the console's own agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: What Asterisk prints for an empty caller ID number or name.
UNKNOWN_CALLER = "<unknown>"


class LinkState(StrEnum):
    """State of the CTI link to the PBX."""

    #: Logged in and resynchronised: the tracker's state matches the PBX.
    CONNECTED = "connected"
    #: The link is down and the client is trying again (with backoff).
    RECONNECTING = "reconnecting"
    #: Not trying any more: closed by the console, or the PBX refused the credentials.
    DOWN = "down"


class CallState(StrEnum):
    """Where one of the agent's calls stands."""

    OFFERED = "offered"  # ringing on the agent's phone
    CONNECTED = "connected"  # talking
    HELD = "held"  # connected, caller on hold


class EndReason(StrEnum):
    """Why a call ended for the agent (``CallEnded.reason``)."""

    CALLER = "caller"  # the caller hung up during the conversation
    AGENT = "agent"  # the agent hung up
    TRANSFER = "transfer"  # the agent transferred the caller away
    NO_ANSWER = "noanswer"  # the agent let it ring out or rejected it (AgentRingNoAnswer)
    ANSWERED_ELSEWHERE = "elsewhere"  # another member answered first (ringall)
    ABANDONED = "abandoned"  # the caller hung up while it was ringing for the agent
    CANCELLED = "cancelled"  # the ring stopped for another reason (timeout, queue rules)
    BUSY = "busy"  # an outbound call: the customer's line was busy
    FAILED = "failed"  # an outbound call: the number could not be reached
    UNKNOWN = "unknown"  # it ended while the CTI link was down (found missing on resync)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered:
    """A queue call rings on the agent's phone: the moment to pop the caller's profile."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_id: str  # raw CallerIDNum, "<unknown>" when empty
    caller_name: str  # raw CallerIDName, "<unknown>" when empty
    interface: str
    member_name: str
    channel: str  # the caller's channel
    agent_channel: str  # the agent's ringing leg (Hangup / Redirect target)
    #: Seconds the caller had waited in the queue when offered: the frame's HoldTime/Wait if it
    #: carries one, else measured from the QueueCallerJoin this console saw, else None.
    waited: float | None
    at: datetime
    resync: bool = False
    #: "outbound" for a call this console originated (a callback): `caller_id` is the number
    #: dialled, `action_id` the Originate's ActionID, and NO_ANSWER/BUSY/FAILED endings are
    #: the customer's.
    direction: str = "inbound"
    action_id: str = ""
    #: A scenario's scripted call (the simulator's `UserEvent: ScriptedCall` on this call's
    #: Linkedid): the script id and, when a trainer's run plays it, the run id. "" otherwise.
    script: str = ""
    training_run: str = ""
    #: An outbound campaign's call, connected to this agent by the dialplan's queue: the
    #: campaign and list-entry ids the dialer set on the customer's channel. "" otherwise.
    campaign: str = ""
    lead: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered:
    """The agent answered (AgentConnect)."""

    uniqueid: str
    linkedid: str
    queue: str
    interface: str
    member_name: str
    channel: str
    agent_channel: str
    hold_time: int | None  # seconds the caller waited in the queue (AgentConnect.HoldTime)
    ring_time: int | None  # seconds the agent's phone rang (AgentConnect.RingTime)
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHeld:
    """The agent put the caller on hold."""

    uniqueid: str
    linkedid: str
    interface: str
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResumed:
    """The agent took the caller off hold."""

    uniqueid: str
    linkedid: str
    interface: str
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred:
    """The agent transferred the caller (a ``CallEnded`` with reason ``transfer`` follows)."""

    uniqueid: str
    linkedid: str
    interface: str
    target: str  # the extension the caller was sent to
    context: str  # its dial-plan context ("" when unknown)
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallConferenced:
    """The agent's consult call joined the caller: all three talk (AttendedTransfer with
    ``DestType: Threeway``). The call goes on for the agent until they hang up."""

    uniqueid: str
    linkedid: str
    interface: str
    target: str  # the consulted party's extension
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    """The call is over for the agent: closes exactly one earlier ``CallOffered``."""

    uniqueid: str
    linkedid: str
    queue: str
    interface: str
    answered: bool  # True when CallAnswered had been sent for this offer
    reason: EndReason
    cause: int | None  # Q.850 hangup cause (16 normal clearing…), None when unknown
    cause_text: str  # Asterisk's Cause-txt, "" when unknown
    talk_time: int | None  # seconds, from AgentComplete when it was seen
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAbandoned:
    """A caller hung up while waiting in a queue (any queue, any agent)."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_id: str
    caller_name: str
    position: int | None  # position when they left
    original_position: int | None  # position when they joined
    waited: int | None  # seconds in the queue (QueueCallerAbandon.HoldTime)
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallWaitMeasured:
    """How long the caller of one of the agent's ringing offers has waited in the queue, when
    the offer could not say (its ``waited`` was None: this console did not hear the caller
    join). The PBX's own figure: the caller's ``QueueEntry`` ``Wait`` in a ``QueueStatus``
    asked for at the offer (console/cti/wait_probe.py), whole seconds at ``at``."""

    uniqueid: str
    linkedid: str
    queue: str
    interface: str
    waited: int  # seconds in the queue when the PBX answered (QueueEntry.Wait)
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginateFailed:
    """An Originate from this console never reached the customer: the agent's own phone did
    not answer or was unavailable (OriginateResponse: Failure)."""

    action_id: str
    reason: int | None  # Asterisk's Reason: 0 failed, 1 hung up, 3 no answer, 5 busy
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested:
    """A caller left a queue for a callback (max wait reached; UserEvent: CallbackRequest)."""

    uniqueid: str
    queue: str
    number: str  # the number to call back, as the PBX has it
    waited: int | None  # seconds in the queue
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged:
    """A queue member's state changed (one event per member and queue)."""

    interface: str
    member_name: str
    queue: str
    logged_in: bool  # False once removed from the queue (QueueMemberRemoved / gone on resync)
    paused: bool
    reason: str  # pause reason ("" when not paused)
    status: int  # Asterisk device state: 1 not in use, 2 in use, 6 ringing, 8 on hold…
    status_text: str  # "Not in use", "In use", "Ringing", "On Hold"…
    in_call: bool
    at: datetime
    resync: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueChanged:
    """The state of one queue, sent whenever any of these figures changes.

    Waiting figures are live. ``completed`` and ``abandoned`` start from the last QueueStatus
    snapshot (0 when the PBX gave none, e.g. a replay) and count the events seen since; the
    ``avg_*`` and ``service_level*`` figures come from the snapshot only (None without one):
    the console's own metrics live in ``callkit.metrics``.
    """

    queue: str
    waiting: int
    oldest_joined_at: datetime | None  # when the longest-waiting caller joined
    longest_wait: float  # seconds the longest-waiting caller had waited at ``at``
    members: int  # logged-in members
    available: int  # members neither paused nor busy (device "Not in use")
    paused: int
    completed: int
    abandoned: int
    strategy: str
    avg_hold_time: int | None
    avg_talk_time: int | None
    service_level: int | None  # the threshold, seconds
    service_level_perf: float | None  # percent answered within the threshold
    service_level_perf2: float | None  # same, counting abandons within the threshold
    at: datetime
    resync: bool = False

    def longest_wait_at(self, now: datetime) -> float:
        """Seconds the longest-waiting caller has waited at ``now`` (for a ticking wallboard)."""
        if self.oldest_joined_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_joined_at).total_seconds())


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptLine:
    """One line of the caller's speech on one of the agent's calls (UserEvent: Transcript)."""

    uniqueid: str
    linkedid: str
    speaker: str  # "caller" unless the scenario says otherwise
    text: str
    script: str  # the scenario script id, "" for none
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingChanged:
    """A trainer's run started or ended on this agent's phone (simulator only:
    `UserEvent: TrainingStarted` / `TrainingFinished`, see docs/cti.md)."""

    run_id: str
    scenario: str
    interface: str
    state: str  # "started" | "finished" (every scripted call ended) | "stopped" (by the trainer)
    calls: int  # scripted calls in the run
    at: datetime


#: The user event a supervisor's console sends (Action: UserEvent) when it stored a coach
#: message, with the agent's member ``Interface``: the agent's filtered session takes it.
COACH_DOORBELL = "CoachMessage"


@dataclass(frozen=True, slots=True, kw_only=True)
class CoachMessageWaiting:
    """A supervisor's console stored a coach message for this agent and rang the doorbell
    (``UserEvent: CoachMessage`` naming the agent's ``Interface``): read it now, not at the
    next slow poll. The message itself travels only through the database."""

    interface: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkStateChanged:
    """The CTI link changed state.

    ``connected`` is announced after the resynchronisation and after the events it produced.
    """

    state: LinkState
    since: datetime  # when the link entered this state (reconnecting: when it was lost)
    detail: str  # human-readable reason ("Authentication failed", "no Pong within 5s"…)
    attempt: int = 0  # consecutive failed attempts so far (0 when connected)
    retry_in: float | None = None  # seconds until the next attempt, when reconnecting
    #: True when connected to a PBX offering the simulator's desk-phone action (SimPhone):
    #: the UI enables answer / hold / unhold buttons only then. Always False against a real
    #: Asterisk and whenever the link is not connected.
    sim_phone: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveCall:
    """A call of the agent's as the tracker currently sees it (``CallTracker.active_calls``)."""

    uniqueid: str
    linkedid: str
    queue: str
    caller_id: str
    caller_name: str
    channel: str
    agent_channel: str
    state: CallState


CallEvent = (
    CallOffered
    | CallAnswered
    | CallHeld
    | CallResumed
    | CallTransferred
    | CallConferenced
    | CallEnded
)
CtiEvent = (
    CallEvent
    | CallWaitMeasured
    | CallAbandoned
    | CallbackRequested
    | OriginateFailed
    | AgentStateChanged
    | QueueChanged
    | TranscriptLine
    | TrainingChanged
    | CoachMessageWaiting
    | LinkStateChanged
)

__all__ = [
    "COACH_DOORBELL",
    "UNKNOWN_CALLER",
    "ActiveCall",
    "AgentStateChanged",
    "CallAbandoned",
    "CallAnswered",
    "CallConferenced",
    "CallEnded",
    "CallEvent",
    "CallHeld",
    "CallOffered",
    "CallResumed",
    "CallState",
    "CallTransferred",
    "CallWaitMeasured",
    "CallbackRequested",
    "CoachMessageWaiting",
    "CtiEvent",
    "EndReason",
    "LinkState",
    "LinkStateChanged",
    "OriginateFailed",
    "QueueChanged",
    "TrainingChanged",
    "TranscriptLine",
]
