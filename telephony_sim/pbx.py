"""Channels and the AMI events describing them, as Asterisk 20 names and formats them.

A `Channel` is one leg of a call (the caller's trunk leg, an agent's phone leg). `Pbx` hands
out channel names (``PJSIP/1001-0000002a``), Uniqueids (``1700000000.42``) and Linkedids, keeps
the table of live channels and sends events to listeners.

Every emitting method is called only when somebody listens (``if pbx.listeners:``): building
field lists is most of the cost of an event and a headless run reads none of them. A leg's
block of fields, and its wire text, are cached on the leg (see `Channel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from callkit.ami_frames import encode_text

Fields = list[tuple[str, str]]
Listener = Callable[[str, Fields], None]

UNKNOWN = "<unknown>"  # what Asterisk prints for an empty caller ID

# Channel states (ast_channel_state) and their ChannelStateDesc.
DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

# Hangup causes (Q.850) with Asterisk's Cause-txt.
# main/channel.c causes[] (ast_cause2str(); anything else is "Unknown", e.g. cause 0).
CAUSE_TXT = {
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
}
NORMAL_CLEARING = 16
USER_BUSY = 17
NO_ANSWER = 19
ANSWERED_ELSEWHERE = 26


class SimError(Exception):
    """An action failed; ``str(error)`` is the Asterisk-like message for ``Response: Error``."""


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
_STATE_PAIRS: dict[tuple[str, int], tuple[tuple[str, str], ...]] = {}
_STATE_TEXTS: dict[tuple[str, int], str] = {}


def _state_text(prefix: str, state: int) -> str:
    text = _STATE_TEXTS.get((prefix, state))
    if text is None:
        text = _STATE_TEXTS[prefix, state] = wire_lines(_state_pairs(prefix, state))
    return text


def _state_pairs(prefix: str, state: int) -> tuple[tuple[str, str], ...]:
    pairs = _STATE_PAIRS.get((prefix, state))
    if pairs is None:
        keys = _channel_keys(prefix)
        desc = STATE_DESC.get(state, "Unknown")
        pairs = _STATE_PAIRS[prefix, state] = ((keys[1], str(state)), (keys[2], desc))
    return pairs


def _channel_keys(prefix: str) -> tuple[str, ...]:
    keys = _CHANNEL_KEYS.get(prefix)
    if keys is None:
        keys = _CHANNEL_KEYS[prefix] = tuple(prefix + k for k in _CHANNEL_KEYS[""])
    return keys


_NO_FIELDS: Fields = []
_NO_CACHE: dict[str, _Block] = {}

#: Wire lines of (key, value) pairs already seen. Most values recur (queue and member names,
#: states, causes, small counts, a leg's own identity in each of its events), and a dictionary
#: hit is several times cheaper than formatting. Emptied when full, to bound memory.
_LINES: dict[tuple[str, str], str] = {}
_MAX_LINES = 50_000


class Channel:
    """One call leg.

    Its event block (``fields()``) and the block's wire text (``wire()``) are built once per
    prefix and kept while they hold: most of every call event is one or two such blocks, and a
    leg appears in a dozen events. The shown values that change go through setters, which keep
    the cache true (``set_state`` swaps just the state lines; ``set_connected`` and
    ``set_dialplan`` drop it); their attributes are read-only. Name, Uniqueid, Linkedid, caller
    ID and priority are fixed at creation.
    """

    __slots__ = (
        "_cache",
        "_connected_name",
        "_connected_num",
        "_context",
        "_exten",
        "_mvars",
        "_priority",
        "_state",
        "app_data",
        "application",
        "bridge_id",
        "caller_name",
        "caller_num",
        "created",
        "linkedid",
        "name",
        "owner",
        "uniqueid",
        "variables",
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
        self._connected_num = UNKNOWN
        self._connected_name = UNKNOWN
        self._context = context
        self._exten = exten
        self._priority = 1
        self._state = state
        self.variables: dict[str, str] = {}  # channel variables set on the leg (VarSet)
        # manager.conf channelvars: the variables every event's channel block reports
        # (main/manager_channels.c ast_manager_build_channel_state_string_prefix()).
        self._mvars: tuple[str, ...] = ()
        self.created = created
        self.application = ""
        self.app_data = ""
        self.bridge_id = ""
        self.owner: object = None  # the call object this leg belongs to (set by the ACD)
        # prefix -> its _Block; the shared empty table until first use (a headless run never
        # gets that far).
        self._cache = _NO_CACHE

    @property
    def state(self) -> int:
        """DOWN, RING, RINGING or UP (change it with `set_state`)."""
        return self._state

    @property
    def connected_num(self) -> str:
        """ConnectedLineNum (change it with `set_connected`)."""
        return self._connected_num

    @property
    def connected_name(self) -> str:
        """ConnectedLineName (change it with `set_connected`)."""
        return self._connected_name

    @property
    def context(self) -> str:
        """Dial-plan context (change it with `set_dialplan`)."""
        return self._context

    @property
    def exten(self) -> str:
        """Dial-plan extension (change it with `set_dialplan`)."""
        return self._exten

    @property
    def priority(self) -> int:
        """Dial-plan priority (change it with `set_dialplan`)."""
        return self._priority

    def set_state(self, state: int) -> None:
        """Change the leg's state (cached blocks are brought up to date when next used)."""
        self._state = state

    def set_connected(self, num: str, name: str) -> None:
        """Change the connected line (number and name)."""
        if num != self._connected_num or name != self._connected_name:
            self._connected_num = num
            self._connected_name = name
            self._cache = _NO_CACHE

    def set_dialplan(self, context: str, exten: str, priority: int | None = None) -> None:
        """Change where in the dial plan the leg is (the priority too, when given)."""
        priority = self._priority if priority is None else priority
        if context != self._context or exten != self._exten or priority != self._priority:
            self._context = context
            self._exten = exten
            self._priority = priority
            self._cache = _NO_CACHE

    def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (a manager.conf channelvar shows in the leg's block)."""
        self.variables[name] = value
        if name in self._mvars:
            self._cache = _NO_CACHE

    def set_manager_vars(self, names: tuple[str, ...]) -> None:
        """The channelvars every block of this leg reports as ``ChanVariable: NAME=value``."""
        if names != self._mvars:
            self._mvars = names
            self._cache = _NO_CACHE

    def _cached(self, prefix: str) -> _Block:
        block = self._cache.get(prefix)
        if block is None:
            if self._cache is _NO_CACHE:
                self._cache = {}
            block = self._cache[prefix] = _Block(prefix, self._state, self._build(prefix))
        elif block.state != self._state:
            block = self._cache[prefix] = block.restated(self._state)
        return block

    def _build(self, prefix: str) -> tuple[tuple[str, str], ...]:
        state = self._state
        pairs = tuple(
            zip(
                _channel_keys(prefix),
                (
                    self.name,
                    str(state),
                    STATE_DESC.get(state, "Unknown"),
                    self.caller_num or UNKNOWN,
                    self.caller_name or UNKNOWN,
                    self._connected_num or UNKNOWN,
                    self._connected_name or UNKNOWN,
                    "en",
                    "",
                    self._context,
                    self._exten,
                    str(self._priority),
                    self.uniqueid,
                    self.linkedid,
                ),
                strict=True,
            )
        )
        if not self._mvars:
            return pairs
        # Every configured variable, empty when unset (main/channel.c
        # channel_get_external_vars()), prefixed like the rest: DestChanVariable…
        key = prefix + "ChanVariable"
        return pairs + tuple((key, f"{n}={self.variables.get(n, '')}") for n in self._mvars)

    def block(self, prefix: str = "") -> tuple[tuple[str, str], ...]:
        """The standard channel block of an AMI event (``Dest``/``Transferee`` prefixed)."""
        return self._cached(prefix).pairs

    def fields(self, prefix: str = "") -> Fields:
        """The channel block as a new list, ready to be extended with an event's own fields."""
        return list(self.block(prefix))

    def wire(self, prefix: str = "") -> str:
        """The channel block as AMI wire text (CRLF-ended lines), as `encode` would write it."""
        return self._cached(prefix).wire()


class _Block:
    """One leg's block for one prefix, in one state, with its wire text once asked for."""

    __slots__ = ("head", "pairs", "prefix", "rest", "state", "text")

    def __init__(
        self,
        prefix: str,
        state: int,
        pairs: tuple[tuple[str, str], ...],
        head: str | None = None,
        rest: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.state = state
        self.pairs = pairs  # Channel, the two state pairs, then the rest
        self.head = head  # wire text of the Channel line
        self.rest = rest  # wire text of the pairs after the state
        self.text: str | None = None

    def restated(self, state: int) -> _Block:
        """The same block in another state: only the two state lines differ."""
        pairs = self.pairs[:1] + _state_pairs(self.prefix, state) + self.pairs[3:]
        return _Block(self.prefix, state, pairs, self.head, self.rest)

    def wire(self) -> str:
        """The block's wire text (CRLF-ended lines)."""
        text = self.text
        if text is None:
            if self.head is None or self.rest is None:
                self.head = wire_lines(self.pairs[:1])
                self.rest = wire_lines(self.pairs[3:])
            text = self.text = self.head + _state_text(self.prefix, self.state) + self.rest
        return text


def wire_lines(fields: Sequence[tuple[str, str]]) -> str:
    """``fields`` as AMI wire lines, the same text `encode_text` gives them (without the final
    empty line), for the engine's own fields: their keys are constants of this package, and a
    value holding CR or LF goes through the codec, which turns them into spaces."""
    lines = _LINES
    try:
        return "".join(map(lines.__getitem__, fields))
    except KeyError:
        pass
    if len(lines) > _MAX_LINES:
        lines.clear()
    for pair in fields:
        if pair not in lines:
            key, value = pair
            if "\r" in value or "\n" in value:
                lines[pair] = encode_text((pair,))[:-2]
            else:
                lines[pair] = f"{key}: {value}\r\n"
    return "".join(map(lines.__getitem__, fields))


class CallEvent(list[tuple[str, str]]):
    """The flat field list listeners receive for an event built by `Pbx.emit_call`, which can
    also give its wire text from the legs' cached text (``wire_text``), so the AMI server does
    not serialise the same leg again for every event it appears in."""

    __slots__ = ("_parts",)

    # head fields, the legs' blocks, extra fields
    _parts: tuple[Fields, _Block | None, _Block | None, Fields]

    def wire_text(self) -> str:
        """The serialised fields (without the ``Event:`` line and the final empty line)."""
        head, chan, dest, extra = self._parts
        text = wire_lines(head) if head else ""
        if chan is not None:
            text += chan.text or chan.wire()
        if dest is not None:
            text += dest.text or dest.wire()
        if extra:
            text += wire_lines(extra)
        return text


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
        self._local_seq = 0
        self.bridges: dict[str, list[Channel]] = {}  # bridge id -> its channels, in order
        # manager.conf [general] channelvars: reported in every channel block (none: as now).
        self.manager_vars: tuple[str, ...] = ()
        # Called with every leg that hangs up, after its Hangup event (what audiohooks on the
        # leg see: a spy's ChanSpyStop, a MixMonitor closing its file; telephony_sim/spy.py,
        # mixmonitor.py). Empty unless something spies or records.
        self.hangup_hooks: list[Callable[[Channel], None]] = []

    def set_manager_vars(self, names: tuple[str, ...]) -> None:
        """manager.conf ``channelvars``: every channel block (live legs' too) reports these
        variables as ``ChanVariable: NAME=value`` (main/manager.c load_channelvars())."""
        self.manager_vars = tuple(names)
        for chan in self.channels.values():
            chan.set_manager_vars(self.manager_vars)

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
        self._chan_seq += 1
        name = f"{endpoint}-{self._chan_seq:08x}"
        return self._open(name, linkedid, caller_num, caller_name, context, exten, state)

    def new_named_channel(
        self, name: str, caller_num: str, caller_name: str, context: str, exten: str
    ) -> Channel:
        """A leg whose name is not ``<endpoint>-<sequence>`` (main/pbx.c's Originate failure
        channel ``OutgoingSpoolFailed``), Down, announced with Newchannel."""
        return self._open(name, None, caller_num, caller_name, context, exten, DOWN)

    def _open(
        self,
        name: str,
        linkedid: str | None,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int,
    ) -> Channel:
        """A new live channel with the next Uniqueid, announced with Newchannel."""
        self._uid += 1
        now = self._now()
        uniqueid = f"{self.epoch + int(now)}.{self._uid}"
        chan = Channel(
            name,
            uniqueid,
            linkedid or uniqueid,
            caller_num,
            caller_name,
            context,
            exten,
            now,
            state,
        )
        if self.manager_vars:
            chan.set_manager_vars(self.manager_vars)
        self.channels[chan.name] = chan
        if self.listeners:
            self.emit_call("Newchannel", chan)
        return chan

    def new_local_pair(
        self, interface: str, caller_num: str, caller_name: str, linkedid: str
    ) -> tuple[Channel, Channel]:
        """The two halves of a Local channel for ``Local/<exten>@<context>[/opts]``.

        As main/core_unreal.c ast_unreal_new_channels() names and creates them:
        ``Local/1001@from-queue-<8 hex>;1`` (Down) then ``;2`` (Ring), both with the
        requestor's Linkedid (main/core_local.c local_request()); options never show.
        """
        exten, _at, rest = interface[6:].partition("@")
        context = rest.split("/", 1)[0] or "default"
        self._local_seq += 1
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        one = self._open(base + ";1", linkedid, caller_num, caller_name, context, exten, DOWN)
        two = self._open(base + ";2", linkedid, caller_num, caller_name, context, exten, RING)
        if self.listeners:
            optimise = "No" if "/n" in interface[6:].partition("@")[2] else "Yes"
            self.emit_call(
                "LocalBridge",
                None,
                [("Context", context), ("Exten", exten), ("LocalOptimization", optimise)],
                head=[*one.block("LocalOne"), *two.block("LocalTwo")],
            )
        return one, two

    def new_bridge_id(self) -> str:
        """A bridge identifier shaped like Asterisk's (a UUID)."""
        self._bridge_seq += 1
        return f"{self.epoch:08x}-0000-4000-8000-{self._bridge_seq:012x}"

    def emit(self, event: str, fields: Fields) -> None:
        """Send one event made of ``fields`` (keys: this package's constants) to every listener."""
        self.emit_call(event, None, fields)

    def emit_call(
        self,
        event: str,
        chan: Channel | None,
        extra: Fields = _NO_FIELDS,
        *,
        dest: Channel | None = None,
        head: Fields = _NO_FIELDS,
    ) -> None:
        """Send ``head`` + ``chan``'s block + ``dest``'s ``Dest`` block + ``extra``: the shape
        of nearly every call event, built from the legs' cached blocks (see `CallEvent`)."""
        fields = CallEvent(head)
        chan_entry = dest_entry = None
        if chan is not None:
            chan_entry = chan._cached("")
            fields += chan_entry.pairs
        if dest is not None:
            dest_entry = dest._cached("Dest")
            fields += dest_entry.pairs
        fields += extra
        fields._parts = (head, chan_entry, dest_entry, extra)
        for listener in self.listeners:
            listener(event, fields)

    def set_state(self, chan: Channel, state: int) -> None:
        """Change a leg's state, announcing it with Newstate."""
        chan.set_state(state)
        if self.listeners:
            self.emit_call("Newstate", chan)

    def hangup_request(self, chan: Channel, cause: int = NORMAL_CLEARING) -> None:
        """HangupRequest: the leg is asked to hang up (main/channel.c
        ast_queue_hangup_with_cause()); its Hangup follows once it is torn down."""
        if self.listeners and chan.name in self.channels:
            self.emit_call("HangupRequest", chan, [("Cause", str(cause))])

    def hangup(self, chan: Channel, cause: int = NORMAL_CLEARING) -> None:
        """Remove a leg, announcing it with Hangup (Cause, Cause-txt)."""
        if self.channels.pop(chan.name, None) is None:
            return
        if chan.bridge_id:
            self.unbridge(chan)
        if self.listeners:
            cause_txt = CAUSE_TXT.get(cause, "Unknown")
            self.emit_call("Hangup", chan, [("Cause", str(cause)), ("Cause-txt", cause_txt)])
        for hook in tuple(self.hangup_hooks):
            hook(chan)

    def dial_begin(self, caller: Channel, dest: Channel, dial_string: str) -> None:
        """DialBegin from ``caller`` to ``dest``."""
        if self.listeners:
            self.emit_call("DialBegin", caller, [("DialString", dial_string)], dest=dest)

    def dial_end(self, caller: Channel, dest: Channel, status: str) -> None:
        """DialEnd with DialStatus ANSWER, NOANSWER, CANCEL, BUSY…"""
        if self.listeners:
            self.emit_call("DialEnd", caller, [("DialStatus", status)], dest=dest)

    def bridge_fields(self, bridge_id: str, count: int) -> Fields:
        """The bridge block of BridgeEnter, BridgeLeave and BlindTransfer."""
        return [
            ("BridgeUniqueid", bridge_id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(count)),
            ("BridgeVideoSourceMode", "none"),
        ]

    def bridge(self, a: Channel, b: Channel) -> str:
        """Put two legs in a new basic bridge (BridgeCreate, BridgeEnter for each); its id."""
        bridge_id = self.new_bridge_id()
        self.bridges[bridge_id] = []
        a.set_connected(b.caller_num, b.caller_name)
        b.set_connected(a.caller_num, a.caller_name)
        if self.listeners:
            self.emit("BridgeCreate", self.bridge_fields(bridge_id, 0))
        self.enter(bridge_id, a)
        self.enter(bridge_id, b)
        return bridge_id

    def enter(self, bridge_id: str, chan: Channel, swap: Channel | None = None) -> None:
        """BridgeEnter (``SwapUniqueid`` when ``chan`` takes ``swap``'s place, which then
        leaves: main/bridge.c bridge_channel_internal_push())."""
        members = self.bridges.setdefault(bridge_id, [])
        if chan.bridge_id:
            self.unbridge(chan)
        members.append(chan)
        chan.bridge_id = bridge_id
        if self.listeners:
            extra = [("SwapUniqueid", swap.uniqueid)] if swap is not None else []
            head = self.bridge_fields(bridge_id, len(members))
            self.emit_call("BridgeEnter", chan, extra, head=head)
        if swap is not None:
            self.unbridge(swap)

    def unbridge(self, *chans: Channel) -> None:
        """Take legs out of their bridge (BridgeLeave for each; BridgeDestroy once empty)."""
        for chan in chans:
            bridge_id = chan.bridge_id
            if not bridge_id:
                continue
            members = self.bridges.get(bridge_id, [])
            if chan in members:
                members.remove(chan)
            chan.bridge_id = ""
            if self.listeners:
                head = self.bridge_fields(bridge_id, len(members))
                self.emit_call("BridgeLeave", chan, head=head)
            if not members:
                self.bridges.pop(bridge_id, None)
                if self.listeners:
                    self.emit("BridgeDestroy", self.bridge_fields(bridge_id, 0))

    def hold(self, chan: Channel, on: bool) -> None:
        """Hold (with MusicClass) or Unhold on a leg."""
        if self.listeners:
            if on:
                self.emit_call("Hold", chan, [("MusicClass", "default")])
            else:
                self.emit_call("Unhold", chan)

    def music(self, chan: Channel, on: bool) -> None:
        """MusicOnHoldStart (Class) / MusicOnHoldStop on the leg that hears the music."""
        if self.listeners:
            if on:
                self.emit_call("MusicOnHoldStart", chan, [("Class", "default")])
            else:
                self.emit_call("MusicOnHoldStop", chan)

    def device_state(self, device: str, state: str) -> None:
        """DeviceStateChange (main/devicestate.c devstate_to_ami): NOT_INUSE, INUSE, RINGING,
        ONHOLD, UNAVAILABLE…"""
        if self.listeners:
            self.emit("DeviceStateChange", [("Device", device), ("State", state)])

    def new_exten(self, chan: Channel, application: str, data: str) -> None:
        """Newexten: the leg runs a dial-plan application (noise every real PBX sends)."""
        chan.application, chan.app_data = application, data
        if self.listeners:
            self.emit_call(
                "Newexten",
                chan,
                [("Extension", chan.exten), ("Application", application), ("AppData", data)],
            )

    def var_set(self, chan: Channel, name: str, value: str) -> None:
        """Set a channel variable and announce it with VarSet (main/pbx_variables.c
        pbx_builtin_setvar_helper(): the value is set, then published with the leg's block)."""
        chan.set_variable(name, value)
        if self.listeners:
            self.emit_call("VarSet", chan, [("Variable", name), ("Value", value)])

    def user_event(self, chan: Channel | None, name: str, extra: Fields) -> None:
        """``Event: UserEvent`` / ``UserEvent: name`` with custom headers."""
        if self.listeners:
            self.emit_call("UserEvent", chan, [("UserEvent", name), *extra])

    def find(self, name: str) -> Channel:
        """The live channel called ``name``, or SimError as Asterisk words it."""
        chan = self.channels.get(name)
        if chan is None:
            raise SimError("No such channel")
        return chan
