"""Following outbound dials over AMI: raw event frames in, each dial's progress and outcome out.

`DialTracker` is a pure, synchronous state machine (no asyncio, no database): the dialer feeds
it every frame of a full-stream AMI session, tells it of the dials it places (`expect`, `sent`),
and writes what changed (`take_changed`) to `dial_attempts`. A dial is known by its campaign
and list entry, ``(CC_CAMPAIGN, CC_LEAD)``: the Originate sets both on the leg it creates, so
the ``VarSet`` events (main/pbx_outgoing.c pbx_outgoing_attempt(): ast_set_variables() right
after the channel is made) name the leg's Uniqueid before anything else happens on it. A list
entry has one dial in flight at a time (the claim), so the pair is enough; it also lets a
dialer follow dials another process placed (a standby watching a dying dialer's calls).

What is followed, on that leg (docs/cti.md, "Customer-first Originate"):

- customer-first (progressive, predictive): ``DialEnd`` with no caller channel and the leg as
  ``Dest`` (main/dial.c handle_frame_ownerless()), ``Newstate Up``, ``VarSet AMDSTATUS``,
  ``QueueCallerJoin`` (a live answer waiting for an agent: the FCC's 2 s start),
  ``AgentConnect`` (an agent took it: which one), ``UserEvent: OutboundAbandon`` (the campaign
  dialplan's convention) or ``QueueCallerAbandon`` (a plain Queue() that timed out), the
  leg's ``Hangup`` (its cause), and ``OriginateResponse`` by ActionID;
- agent-first (preview): the Originate's leg is the agent's phone; its ``DialEnd`` gives the
  customer's answer (ANSWER: connected at once), an ``OriginateResponse`` Failure means the
  agent's own phone did not answer: no call reached the customer.

The outcome is taken from the leg's DialEnd status, then its Hangup cause, and only then from
the OriginateResponse ``Reason``: main/dial.c's hang-up path does not record a PJSIP trunk's
486/503 for pbx_dial_reason(), so a real Asterisk may say ``Reason: 0`` for a busy customer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from callkit.ami_frames import Message

CC_CAMPAIGN, CC_LEAD = "CC_CAMPAIGN", "CC_LEAD"

# DialAttempt.outcome values.
CONNECTED = "connected"  # an agent took the customer
ABANDONED = "abandoned"  # a live customer no agent took within the queue timeout
MACHINE = "machine"  # an answering machine (AMD), left the campaign's message or hung up
ANSWER = "answer"  # answered, then gone before an agent (hung up during AMD or in the queue)
NO_ANSWER = "noanswer"
BUSY = "busy"
FAILED = "failed"  # congestion, no route, refused by the network
UNKNOWN = "unknown"  # the dialer lost sight of it (no event, no channel left to ask about)
REFUSED = "refused"  # the PBX refused the Originate: nothing was dialled
NOT_SENT = "not_sent"  # the link was down: nothing was dialled
AGENT_AWAY = "agent"  # preview: the agent's own phone did not answer
#: Outcomes where no call reached the customer: not an attempt (the lead's count is given back).
NOT_PLACED = frozenset({REFUSED, NOT_SENT, AGENT_AWAY})
#: Live answers, the FCC's denominator of the abandon rate.
LIVE = frozenset({CONNECTED, ABANDONED})

_STATUS = {
    "ANSWER": ANSWER,
    "BUSY": BUSY,
    "CONGESTION": FAILED,
    "CHANUNAVAIL": FAILED,
    "NOANSWER": NO_ANSWER,
    "CANCEL": NO_ANSWER,
}
# Q.850 causes of an unanswered leg: user busy / call rejected; no user responding / no answer.
_CAUSES = {17: BUSY, 21: BUSY, 18: NO_ANSWER, 19: NO_ANSWER}
_FAILED_CAUSES = frozenset({1, 2, 3, 22, 27, 28, 34, 38, 41, 42, 44, 47, 58, 88})
# OriginateResponse Reason: pbx_dial_reason()'s AST_CONTROL_* codes.
_REASONS = {1: NO_ANSWER, 3: NO_ANSWER, 4: ANSWER, 5: BUSY, 8: FAILED, 0: FAILED}
_MACHINE_AMD = frozenset({"MACHINE", "NOTSURE"})
_KEEP_UNKNOWN = 4096  # frames kept for dials not yet known (bounded: a flood cannot grow them)
_NULL = "<null>"

DialKey = tuple[int, int]  # (campaign id, lead id)


@dataclass(eq=False)
class Dial:
    """One dial as the tracker knows it. Times are epoch seconds of the dialer's clock."""

    campaign_id: int
    lead_id: int
    seen_at: float
    attempt_id: int | None = None  # its dial_attempts row (None: not ours, not yet adopted)
    agent_first: bool | None = None  # None: not known yet (a dial someone else placed)
    action_id: str = ""
    uniqueid: str = ""  # the leg carrying CC_CAMPAIGN / CC_LEAD
    channel: str = ""
    answered_at: float | None = None
    live_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    amd: str = ""
    dial_status: str = ""
    cause: int | None = None
    reason: int | None = None
    abandoned: bool = False
    agent_interface: str = ""
    outcome: str = ""  # set when it ends
    version: int = 0  # bumped on every change

    @property
    def key(self) -> DialKey:
        return (self.campaign_id, self.lead_id)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def live_known(self) -> bool | None:
        """True once a live answer reached the queue, False once it is over (or a machine)
        without one, None while that is not known."""
        if self.live_at is not None or self.connected_at is not None or self.abandoned:
            return True
        if self.ended_at is not None or (self.amd in _MACHINE_AMD and self.live_at is None):
            return False
        return None

    @property
    def in_flight(self) -> bool:
        """Still able to need an agent: not over, not taken, not abandoned, not a machine."""
        return (
            self.ended_at is None
            and self.connected_at is None
            and not self.abandoned
            and not (self.amd in _MACHINE_AMD and self.live_at is None)
        )


def outcome_of(dial: Dial) -> str:
    """How a dial that is over ended (see the module docstring for the order of evidence)."""
    if dial.connected_at is not None:
        return CONNECTED
    if dial.abandoned:
        return ABANDONED
    if dial.amd in _MACHINE_AMD and dial.live_at is None:
        return MACHINE
    answered = dial.answered_at is not None or dial.dial_status == "ANSWER" or dial.reason == 4
    if answered:
        return ANSWER
    if dial.dial_status in _STATUS:
        return _STATUS[dial.dial_status]
    if dial.cause in _CAUSES:
        return _CAUSES[dial.cause]
    if dial.cause in _FAILED_CAUSES:
        return FAILED
    if dial.reason in _REASONS:
        return _REASONS[dial.reason]
    return FAILED


def interface_of(channel: str) -> str:
    """A phone's device from one of its channels: ``PJSIP/2001-0000002a`` → ``PJSIP/2001``."""
    device, dash, _seq = channel.rpartition("-")
    return device if dash and device else channel


def _number(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _key(campaign: str, lead: str) -> DialKey | None:
    c, lead_id = _number(campaign), _number(lead)
    if c is None or lead_id is None or c <= 0 or lead_id <= 0:
        return None
    return (c, lead_id)


class DialTracker:
    """Every dial in sight (see the module docstring)."""

    def __init__(self) -> None:
        self.dials: dict[DialKey, Dial] = {}
        self._by_uid: dict[str, DialKey] = {}
        self._by_action: dict[str, DialKey] = {}
        self._partial: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._responses: OrderedDict[str, Message] = OrderedDict()
        self._changed: set[DialKey] = set()
        self._handlers = {
            "varset": self._varset,
            "dialbegin": self._dial_begin,
            "dialend": self._dial_end,
            "newstate": self._newstate,
            "queuecallerjoin": self._joined,
            "agentconnect": self._agent_connect,
            "queuecallerabandon": self._queue_abandon,
            "userevent": self._user_event,
            "hangup": self._hangup,
            "originateresponse": self._originate_response,
        }

    # What the dialer tells it ---------------------------------------------------------------

    def expect(
        self, campaign_id: int, lead_id: int, attempt_id: int, *, agent_first: bool, at: float
    ) -> Dial:
        """A dial about to be sent (its attempt row written): follow its events from now."""
        old = self.dials.get((campaign_id, lead_id))
        if old is not None:
            self._drop(old)
        dial = Dial(campaign_id, lead_id, at, attempt_id, agent_first)
        self.dials[dial.key] = dial
        return dial

    def sent(self, dial: Dial, action_id: str, at: float) -> None:
        """The PBX queued the Originate under ``action_id`` (its OriginateResponse may already
        have come: frames are read before the action's answer is handed back)."""
        dial.action_id = action_id
        self._by_action[action_id] = dial.key
        self._touch(dial)
        early = self._responses.pop(action_id, None)
        if early is not None:
            self._apply_response(dial, early, at)

    def end(self, dial: Dial, outcome: str, at: float) -> None:
        """End a dial the dialer gave up on itself (not sent, refused, lost from sight)."""
        if dial.ended_at is None:
            dial.ended_at = at
            dial.outcome = outcome
            self._touch(dial)

    def adopt(self, dial: Dial, attempt_id: int, placed_at: float) -> None:
        """An open attempt row (placed by another process, or before a reconnect) for a dial
        seen on the wire: written from now on; its placing time is the row's."""
        dial.attempt_id = attempt_id
        dial.seen_at = min(dial.seen_at, placed_at)
        self._touch(dial)

    def take_changed(self) -> list[Dial]:
        """The dials changed since the last call (to be written)."""
        changed = [self.dials[k] for k in self._changed if k in self.dials]
        self._changed.clear()
        return changed

    def changed_again(self, dials: Iterable[Dial]) -> None:
        """Writing ``dials`` failed: hand them back with the next `take_changed`."""
        for dial in dials:
            if self.dials.get(dial.key) is dial:
                self._changed.add(dial.key)

    def forget(self, dial: Dial) -> None:
        """A dial that is over and written: no longer followed."""
        if self.dials.get(dial.key) is dial and dial.ended_at is not None:
            self._drop(dial)

    def in_flight(self, campaign_id: int) -> int:
        """Dials of the campaign that may still need an agent."""
        return sum(1 for d in self.dials.values() if d.campaign_id == campaign_id and d.in_flight)

    def of_campaign(self, campaign_id: int) -> list[Dial]:
        return [d for d in self.dials.values() if d.campaign_id == campaign_id]

    def bind_listed(self, items: Iterable[Message], at: float) -> list[Dial]:
        """Learn from a ``CoreShowChannels`` list (after a reconnect, or on taking over a
        campaign): each channel carrying CC_CAMPAIGN/CC_LEAD (manager.conf ``channelvars``) is
        bound to its dial, and what its state says that was missed is filled in: Up is
        answered, in Queue() a live answer waiting, bridged an agent on it. Returns the dials
        found live."""
        listed = list(items)
        bridges: dict[str, list[str]] = {}
        for item in listed:
            bridge = item.get("BridgeId").strip()
            if bridge:
                bridges.setdefault(bridge, []).append(item.get("Channel"))
        found = []
        for item in listed:
            values = dict(v.partition("=")[::2] for v in item.get_all("ChanVariable"))
            key = _key(values.get(CC_CAMPAIGN, ""), values.get(CC_LEAD, ""))
            uid = item.get("Uniqueid").strip()
            if key is None or not uid:
                continue
            dial = self._bind(key, uid, item.get("Channel"), at)
            if dial is None or dial.ended_at is not None:
                continue
            found.append(dial)
            if item.get("ChannelState").strip() == "6" and dial.agent_first is False:
                dial.answered_at = dial.answered_at or at
            if item.get("Application").strip().lower() == "queue":
                dial.live_at = dial.live_at or at
            bridge = item.get("BridgeId").strip()
            peers = [c for c in bridges.get(bridge, ()) if c != item.get("Channel")]
            if bridge and peers and dial.connected_at is None:
                dial.answered_at = dial.answered_at or at
                dial.connected_at = at
                dial.agent_interface = interface_of(peers[0])
            self._touch(dial)
        return found

    # Frames ---------------------------------------------------------------------------------

    def feed(self, msg: Message, at: float) -> None:
        """Apply one AMI event frame (anything unrelated to a dial changes nothing)."""
        handler = self._handlers.get(msg.get("Event").strip().lower())
        if handler is not None:
            handler(msg, at)

    def _dial_of(self, uid: str) -> Dial | None:
        key = self._by_uid.get(uid)
        return None if key is None else self.dials.get(key)

    def _varset(self, msg: Message, at: float) -> None:
        name = msg.get("Variable").strip()
        uid = msg.get("Uniqueid").strip()
        if name in (CC_CAMPAIGN, CC_LEAD):
            # main/pbx_outgoing.c runs a context's "failed" extension on a channel of its own
            # with the same variables: not the dial's leg.
            if not uid or msg.get("Channel").startswith("OutgoingSpoolFailed"):
                return
            partial = self._partial.setdefault(uid, {})
            partial[name] = msg.get("Value")
            if len(self._partial) > _KEEP_UNKNOWN:
                self._partial.popitem(last=False)
            if CC_CAMPAIGN in partial and CC_LEAD in partial:
                del self._partial[uid]
                key = _key(partial[CC_CAMPAIGN], partial[CC_LEAD])
                if key is not None:
                    self._bind(key, uid, msg.get("Channel"), at)
            return
        if name == "AMDSTATUS":
            dial = self._dial_of(uid)
            if dial is not None and dial.ended_at is None:
                dial.amd = msg.get("Value").strip().upper()
                self._touch(dial)

    def _bind(self, key: DialKey, uid: str, channel: str, at: float) -> Dial | None:
        dial = self.dials.get(key)
        if dial is not None and dial.uniqueid and dial.uniqueid != uid:
            if dial.ended_at is None:
                return None  # a second channel with the same variables (inherited): not the leg
            self._drop(dial)  # a newer dial of the same list entry
            dial = None
        if dial is None:
            dial = Dial(key[0], key[1], at)
            self.dials[key] = dial
        if not dial.uniqueid:
            dial.uniqueid, dial.channel = uid, channel
            self._by_uid[uid] = key
            self._touch(dial)
        return dial

    def _dial_begin(self, msg: Message, at: float) -> None:
        if msg.get("Uniqueid").strip():
            dial = self._dial_of(msg.get("Uniqueid").strip())
            if dial is not None and dial.agent_first is None and dial.live_at is None:
                dial.agent_first = True  # the leg dials out: an agent's phone dialling
        else:
            dial = self._dial_of(msg.get("DestUniqueid").strip())
            if dial is not None and dial.agent_first is None:
                dial.agent_first = False  # an ownerless dial of the leg: customer-first

    def _dial_end(self, msg: Message, at: float) -> None:
        status = msg.get("DialStatus").strip().upper()
        caller = msg.get("Uniqueid").strip()
        if not caller:  # ownerless: the customer-first leg's own dial
            dial = self._dial_of(msg.get("DestUniqueid").strip())
            if dial is None or dial.ended_at is not None or dial.agent_first:
                return
            dial.dial_status = status
            if status == "ANSWER":
                dial.answered_at = dial.answered_at or at
            self._touch(dial)
            return
        dial = self._dial_of(caller)
        if dial is None or dial.ended_at is not None or not dial.agent_first or dial.dial_status:
            return  # customer-first: the queue ringing its members, not the customer's dial
        dial.dial_status = status
        if status == "ANSWER":
            dial.answered_at = dial.connected_at = at
            dial.agent_interface = interface_of(dial.channel)
        self._touch(dial)

    def _newstate(self, msg: Message, at: float) -> None:
        dial = self._dial_of(msg.get("Uniqueid").strip())
        if dial is None or dial.ended_at is not None or dial.agent_first is not False:
            return
        if msg.get("ChannelState").strip() == "6" and dial.answered_at is None:
            dial.answered_at = at
            self._touch(dial)

    def _joined(self, msg: Message, at: float) -> None:
        dial = self._dial_of(msg.get("Uniqueid").strip())
        if dial is not None and dial.ended_at is None and dial.live_at is None:
            dial.live_at = at
            dial.answered_at = dial.answered_at or at
            self._touch(dial)

    def _agent_connect(self, msg: Message, at: float) -> None:
        dial = self._dial_of(msg.get("Uniqueid").strip())
        if dial is None or dial.ended_at is not None or dial.connected_at is not None:
            return
        dial.connected_at = at
        dial.agent_interface = msg.get("Interface").strip() or interface_of(
            msg.get("DestChannel").strip()
        )
        self._touch(dial)

    def _queue_abandon(self, msg: Message, at: float) -> None:
        self._abandon(self._dial_of(msg.get("Uniqueid").strip()))

    def _user_event(self, msg: Message, at: float) -> None:
        if msg.get("UserEvent").strip().lower() != "outboundabandon":
            return
        dial = self._dial_of(msg.get("Uniqueid").strip())
        if dial is None:  # a dialplan sending it from another channel: its headers
            key = _key(msg.get("Campaign"), msg.get("Lead"))
            dial = None if key is None else self.dials.get(key)
        self._abandon(dial)

    def _abandon(self, dial: Dial | None) -> None:
        if dial is None or dial.ended_at is not None or dial.connected_at is not None:
            return
        if not dial.abandoned:
            dial.abandoned = True
            self._touch(dial)

    def _hangup(self, msg: Message, at: float) -> None:
        dial = self._dial_of(msg.get("Uniqueid").strip())
        if dial is None or dial.ended_at is not None:
            return
        dial.cause = _number(msg.get("Cause"))
        self._finish(dial, at)

    def _originate_response(self, msg: Message, at: float) -> None:
        action_id = msg.get("ActionID").strip()
        key = self._by_action.get(action_id) if action_id else None
        if key is None:
            uid = msg.get("Uniqueid").strip()
            key = self._by_uid.get(uid) if uid and uid != _NULL else None
        dial = None if key is None else self.dials.get(key)
        if dial is None:
            if action_id:  # its answer may not have been handed to the dialer yet
                self._responses[action_id] = msg
                if len(self._responses) > _KEEP_UNKNOWN:
                    self._responses.popitem(last=False)
            return
        self._apply_response(dial, msg, at)

    def _apply_response(self, dial: Dial, msg: Message, at: float) -> None:
        dial.reason = _number(msg.get("Reason"))
        success = msg.get("Response").strip().lower() == "success"
        uid = msg.get("Uniqueid").strip()
        if success and uid and uid != _NULL and not dial.uniqueid:
            dial.uniqueid, dial.channel = uid, msg.get("Channel")
            self._by_uid[uid] = dial.key
        self._touch(dial)
        if dial.ended_at is not None:
            return
        if dial.agent_first:
            if not success:  # the agent's own phone never answered: nobody was dialled
                self.end(dial, AGENT_AWAY, at)
        elif success:
            dial.answered_at = dial.answered_at or at
        else:  # the leg, if one was made, hung up before this was sent: the dial is over
            self._finish(dial, at)

    def _finish(self, dial: Dial, at: float) -> None:
        dial.ended_at = max(at, dial.seen_at)
        dial.outcome = outcome_of(dial)
        self._touch(dial)

    def _touch(self, dial: Dial) -> None:
        dial.version += 1
        self._changed.add(dial.key)

    def _drop(self, dial: Dial) -> None:
        self.dials.pop(dial.key, None)
        self._changed.discard(dial.key)
        if dial.uniqueid:
            self._by_uid.pop(dial.uniqueid, None)
        if dial.action_id:
            self._by_action.pop(dial.action_id, None)
