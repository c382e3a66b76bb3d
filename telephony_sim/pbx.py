"""Channels and the AMI events describing them, as Asterisk 20 names and formats them.

A `Channel` is one leg of a call (the caller's trunk leg, an agent's phone leg). `Pbx` hands
out channel names (``PJSIP/1001-0000002a``), Uniqueids (``1700000000.42``) and Linkedids, keeps
the table of live channels and sends events to listeners.

Every emitting method is called only when somebody listens (``if pbx.listeners:``): building
field lists is most of the cost of an event and a headless run reads none of them.
"""

from __future__ import annotations

from collections.abc import Callable

Fields = list[tuple[str, str]]
Listener = Callable[[str, Fields], None]

UNKNOWN = "<unknown>"  # what Asterisk prints for an empty caller ID

# Channel states (ast_channel_state) and their ChannelStateDesc.
DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

# Hangup causes (Q.850) with Asterisk's Cause-txt.
CAUSE_TXT = {
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
}
NORMAL_CLEARING = 16
NO_ANSWER = 19
ANSWERED_ELSEWHERE = 26


class SimError(Exception):
    """An action failed; ``str(error)`` is the Asterisk-like message for ``Response: Error``."""


class Channel:
    """One call leg."""

    __slots__ = (
        "app_data",
        "application",
        "bridge_id",
        "caller_name",
        "caller_num",
        "connected_name",
        "connected_num",
        "context",
        "created",
        "exten",
        "linkedid",
        "name",
        "owner",
        "priority",
        "state",
        "uniqueid",
    )

    def __init__(
        self,
        name: str,
        uniqueid: str,
        linkedid: str,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        created: float,
        state: int,
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.caller_num = caller_num
        self.caller_name = caller_name
        self.connected_num = UNKNOWN
        self.connected_name = UNKNOWN
        self.context = context
        self.exten = exten
        self.priority = 1
        self.state = state
        self.created = created
        self.application = ""
        self.app_data = ""
        self.bridge_id = ""
        self.owner: object = None  # the call object this leg belongs to (set by the ACD)

    def fields(self, prefix: str = "") -> Fields:
        """The standard channel block of an AMI event (``Dest``/``Transferee`` prefixed)."""
        keys = _CHANNEL_KEYS.get(prefix)
        if keys is None:
            keys = _CHANNEL_KEYS[prefix] = tuple(prefix + k for k in _CHANNEL_KEYS[""])
        state = self.state
        # zip over a tuple runs in C: this block is most of every event's cost.
        return list(
            zip(
                keys,
                (
                    self.name,
                    _STATE_STR.get(state) or str(state),
                    STATE_DESC.get(state, "Unknown"),
                    self.caller_num or UNKNOWN,
                    self.caller_name or UNKNOWN,
                    self.connected_num or UNKNOWN,
                    self.connected_name or UNKNOWN,
                    "en",
                    "",
                    self.context,
                    self.exten,
                    str(self.priority),
                    self.uniqueid,
                    self.linkedid,
                ),
                strict=True,
            )
        )


_CHANNEL_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
    )
}
_STATE_STR = {state: str(state) for state in STATE_DESC}


class Pbx:
    """Channel table, identifier allocation and event fan-out."""

    def __init__(self, clock_now: Callable[[], float], epoch: int) -> None:
        self._now = clock_now
        self.epoch = epoch
        self.listeners: list[Listener] = []
        self.channels: dict[str, Channel] = {}
        self._uid = 0
        self._chan_seq = 0
        self._bridge_seq = 0

    def epoch_now(self) -> float:
        """Unix time of the current simulated instant."""
        return self.epoch + self._now()

    def new_channel(
        self,
        endpoint: str,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int,
        linkedid: str | None = None,
    ) -> Channel:
        """Create a leg on ``endpoint`` (``PJSIP/1001``) and announce it with Newchannel."""
        self._uid += 1
        self._chan_seq += 1
        now = self._now()
        uniqueid = f"{self.epoch + int(now)}.{self._uid}"
        chan = Channel(
            f"{endpoint}-{self._chan_seq:08x}",
            uniqueid,
            linkedid or uniqueid,
            caller_num,
            caller_name,
            context,
            exten,
            now,
            state,
        )
        self.channels[chan.name] = chan
        if self.listeners:
            self.emit("Newchannel", chan.fields())
        return chan

    def new_bridge_id(self) -> str:
        """A bridge identifier shaped like Asterisk's (a UUID)."""
        self._bridge_seq += 1
        return f"{self.epoch:08x}-0000-4000-8000-{self._bridge_seq:012x}"

    def emit(self, event: str, fields: Fields) -> None:
        """Send one event to every listener."""
        for listener in self.listeners:
            listener(event, fields)

    def set_state(self, chan: Channel, state: int) -> None:
        """Change a leg's state, announcing it with Newstate."""
        chan.state = state
        if self.listeners:
            self.emit("Newstate", chan.fields())

    def hangup(self, chan: Channel, cause: int = NORMAL_CLEARING) -> None:
        """Remove a leg, announcing it with Hangup (Cause, Cause-txt)."""
        if self.channels.pop(chan.name, None) is None:
            return
        if self.listeners:
            fields = chan.fields()
            fields.append(("Cause", str(cause)))
            fields.append(("Cause-txt", CAUSE_TXT.get(cause, "Unknown")))
            self.emit("Hangup", fields)

    def dial_begin(self, caller: Channel, dest: Channel, dial_string: str) -> None:
        """DialBegin from ``caller`` to ``dest``."""
        if self.listeners:
            fields = caller.fields()
            fields += dest.fields("Dest")
            fields.append(("DialString", dial_string))
            self.emit("DialBegin", fields)

    def dial_end(self, caller: Channel, dest: Channel, status: str) -> None:
        """DialEnd with DialStatus ANSWER, NOANSWER, CANCEL, BUSY…"""
        if self.listeners:
            fields = caller.fields()
            fields += dest.fields("Dest")
            fields.append(("DialStatus", status))
            self.emit("DialEnd", fields)

    def _bridge_fields(self, bridge_id: str, count: int) -> Fields:
        return [
            ("BridgeUniqueid", bridge_id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(count)),
            ("BridgeVideoSourceMode", "none"),
        ]

    def bridge(self, a: Channel, b: Channel) -> None:
        """Put two legs in a new basic bridge (BridgeEnter for each)."""
        bridge_id = self.new_bridge_id()
        a.bridge_id = bridge_id
        b.bridge_id = bridge_id
        a.connected_num, a.connected_name = b.caller_num, b.caller_name
        b.connected_num, b.connected_name = a.caller_num, a.caller_name
        if self.listeners:
            self.emit("BridgeEnter", self._bridge_fields(bridge_id, 1) + a.fields())
            self.emit("BridgeEnter", self._bridge_fields(bridge_id, 2) + b.fields())

    def unbridge(self, *chans: Channel) -> None:
        """Take legs out of their bridge (BridgeLeave for each)."""
        remaining = sum(1 for c in chans if c.bridge_id)
        for chan in chans:
            if not chan.bridge_id:
                continue
            remaining -= 1
            if self.listeners:
                self.emit(
                    "BridgeLeave", self._bridge_fields(chan.bridge_id, remaining) + chan.fields()
                )
            chan.bridge_id = ""

    def hold(self, chan: Channel, on: bool) -> None:
        """Hold (with MusicClass) or Unhold on a leg."""
        if self.listeners:
            fields = chan.fields()
            if on:
                fields.append(("MusicClass", "default"))
            self.emit("Hold" if on else "Unhold", fields)

    def user_event(self, chan: Channel | None, name: str, extra: Fields) -> None:
        """``Event: UserEvent`` / ``UserEvent: name`` with custom headers."""
        if self.listeners:
            fields = chan.fields() if chan is not None else []
            fields.append(("UserEvent", name))
            fields += extra
            self.emit("UserEvent", fields)

    def find(self, name: str) -> Channel:
        """The live channel called ``name``, or SimError as Asterisk words it."""
        chan = self.channels.get(name)
        if chan is None:
            raise SimError("No such channel")
        return chan
