"""Event-sequence fixtures written from the Asterisk source, served over a real AMI socket.

A fixture file (``tests/fixtures/ami/*.ami``) describes one call as a real Asterisk sends it:
the channels, the events in Asterisk's order (each file names the source functions its order
follows), where the console's link drops and comes back, and what the console must make of it.
`FixturePbx` serves it to the real `AmiClient` + `CallTracker`: it answers Login, ListCommands
(without the simulator's ``Sim*`` actions), Ping, QueueStatus (the fixture's items) and
CoreShowChannels (built from the channels and bridges live at that point, with the fields of
``action_coreshowchannels`` in main/manager.c), then streams the section's events with
``Privilege`` and ``Timestamp`` headers as manager.c's ``append_event`` writes them
(``timestampevents = yes``).

Syntax, one statement a line (``#`` starts a comment; values with blanks take double quotes)::

    agent PJSIP/1001 Alice [state=PJSIP/1001]     # the console's agent (member, name, device)
    chan C PJSIP/trunk-00000001 1733390000.1 cid=+14155550123 cname="Ann Lee"
         ctx=from-trunk exten=601 [linked=C] [app=Queue] [data=support] [state=Ring]
    bridge B1 8a6f3f2e-0000-4000-8000-000000000001
    2.000 AgentCalled C Dest:A Queue=support Interface=PJSIP/1001 MemberName=Alice
    @connect | @drop | @reconnect                  # link markers (see `Fixture`)
    > QueueMember Queue=support Name=Alice …        # QueueStatus items served at the next login
    = CallOffered queue=support waited=2            # expected CTI events, in order
    == status=wrapup ring_seconds=3 end_reason=caller   # expected interaction row

An event line is a time (seconds after the fixture's epoch), the event name, then channel
blocks (``C`` plain, ``Dest:A`` / ``Transferer:A`` prefixed), bridge blocks (``Bridge:B1``,
``OrigBridge:B1``…) and ``Key=Value`` fields. Channel state follows the events: ``Newstate``,
``Hangup`` (the channel is gone), ``BridgeEnter`` / ``BridgeLeave`` (membership and the block's
``BridgeNumChannels``), ``Newexten`` (``Application``/``AppData``), and ``set`` lines
(``0.5 set A state=Up connected=+1415… cname=…``) change a channel without an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from callkit.ami_frames import FrameParser, Message, encode

FIXTURES = Path(__file__).parent / "fixtures" / "ami"
EPOCH = 1_733_390_000  # 2024-12-05 09:13:20 UTC: every fixture's time 0

_STATES = {"Down": 0, "Rsrvd": 1, "OffHook": 2, "Dialing": 3, "Ring": 4, "Ringing": 5, "Up": 6}
_STATE_DESC = {v: k for k, v in _STATES.items()}
# main/manager.c: the event's class, as the Privilege header shows it (EVENT_FLAG_*).
_AGENT_EVENTS = {
    "agentcalled",
    "agentconnect",
    "agentcomplete",
    "agentringnoanswer",
    "agentdump",
    "queuecallerjoin",
    "queuecallerleave",
    "queuecallerabandon",
    "queuememberstatus",
    "queuememberadded",
    "queuememberremoved",
    "queuememberpause",
    "queuememberpenalty",
    "queuememberringinuse",
}


class FixtureError(ValueError):
    """A fixture file is wrong; the message names ``file:line``."""


@dataclass
class FixtureChannel:
    """One channel as a snapshot blob shows it (ast_manager_build_channel_state_string)."""

    name: str
    uniqueid: str
    linkedid: str
    cid: str = "<unknown>"
    cname: str = "<unknown>"
    connected: str = "<unknown>"
    connected_name: str = "<unknown>"
    context: str = "default"
    exten: str = "s"
    priority: str = "1"
    state: int = 0
    app: str = ""
    data: str = ""
    created: float = 0.0
    bridge: str = ""  # the bridge key it is in, "" when none

    def block(self, prefix: str = "") -> list[tuple[str, str]]:
        """The channel's fields as an event carries them under ``prefix``."""
        pairs = [
            ("Channel", self.name),
            ("ChannelState", str(self.state)),
            ("ChannelStateDesc", _STATE_DESC.get(self.state, "Unknown")),
            ("CallerIDNum", self.cid),
            ("CallerIDName", self.cname),
            ("ConnectedLineNum", self.connected),
            ("ConnectedLineName", self.connected_name),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", self.priority),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]
        return [(prefix + k, v) for k, v in pairs]


@dataclass
class FixtureBridge:
    uniqueid: str
    members: list[str] = field(default_factory=list)  # channel keys

    def block(self, prefix: str = "Bridge") -> list[tuple[str, str]]:
        """The bridge's fields (ast_manager_build_bridge_state_string), ``prefix`` + Uniqueid…"""
        pairs = [
            ("Uniqueid", self.uniqueid),
            ("Type", "basic"),
            ("Technology", "simple_bridge"),
            ("Creator", "<unknown>"),
            ("Name", "<unknown>"),
            ("NumChannels", str(len(self.members))),
            ("VideoSourceMode", "none"),
        ]
        return [(prefix + k, v) for k, v in pairs]


@dataclass(frozen=True)
class Step:
    """One line of the script: an event to send, a state change, or a link marker."""

    line: int
    kind: str  # "event" | "set" | "connect" | "drop" | "reconnect"
    at: float = 0.0
    name: str = ""
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expected:
    """An expected CTI event: its type and the attributes the fixture pins down."""

    type: str
    fields: dict[str, str]


@dataclass
class Fixture:
    """A parsed fixture file; see the module docstring.

    Markers: events before ``@connect`` happened before the console started (they shape the
    state its first snapshot sees, and are not sent); ``@drop`` closes the console's link
    after the events above it; events between ``@drop`` and ``@reconnect`` happen while the
    link is down; the console's next login (and snapshot) happens at ``@reconnect``.
    """

    path: Path
    title: str
    agent: str
    member_name: str
    state_interface: str
    channels: dict[str, FixtureChannel]
    bridges: dict[str, FixtureBridge]
    steps: list[Step]
    queue_status: dict[int, list[list[tuple[str, str]]]]  # step index of a connect -> items
    expected: list[Expected]
    row: dict[str, str] | None
    sources: list[str]

    @property
    def name(self) -> str:
        return self.path.stem


def load(name: str) -> Fixture:
    """The fixture ``tests/fixtures/ami/<name>.ami``."""
    return parse(FIXTURES / f"{name}.ami")


def all_fixtures() -> list[str]:
    """Every fixture's name, sorted."""
    return sorted(p.stem for p in FIXTURES.glob("*.ami"))


def parse(path: Path) -> Fixture:
    """Read a fixture file; `FixtureError` names the file and line of a mistake."""
    text = path.read_text("utf-8")
    title, sources = "", []
    agent = member = state = ""
    channels: dict[str, FixtureChannel] = {}
    bridges: dict[str, FixtureBridge] = {}
    steps: list[Step] = []
    queue_status: dict[int, list[list[tuple[str, str]]]] = {}
    expected: list[Expected] = []
    row: dict[str, str] | None = None
    last_connect = -1
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()

        def fail(message: str, number: int = number) -> FixtureError:
            return FixtureError(f"{path}:{number}: {message}")

        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if not title and comment:
                title = comment
            if comment.lower().startswith("source:"):
                sources.append(comment[7:].strip())
            continue
        if not stripped:
            continue
        try:
            tokens = shlex.split(stripped, comments=True)
        except ValueError as exc:
            raise fail(str(exc)) from None
        head, rest = tokens[0], tokens[1:]
        if head == "include":
            # Another fixture's call (channels, bridges, events, markers), seen by this one's
            # agent with this one's expectations: one stream, two consoles.
            if len(rest) != 1 or not (path.parent / f"{rest[0]}.ami").is_file():
                raise fail("include needs the name of another fixture")
            other = parse(path.parent / f"{rest[0]}.ami")
            channels.update(other.channels)
            bridges.update(other.bridges)
            offset = len(steps)
            steps += other.steps
            queue_status.update({k + offset: v for k, v in other.queue_status.items()})
            sources += other.sources
            last_connect = max((k for k in queue_status), default=-1)
            continue
        if head == "agent":
            if not rest:
                raise fail("agent needs an interface")
            agent = rest[0]
            opts = _options(rest[1:])
            member = next((t for t in rest[1:] if "=" not in t), agent)
            state = opts.get("state", "")
        elif head == "chan":
            if len(rest) < 3:
                raise fail("chan needs a key, a name and a Uniqueid")
            key, name, uid = rest[:3]
            opts = _options(rest[3:])
            linked = opts.pop("linked", key)
            channels[key] = FixtureChannel(name=name, uniqueid=uid, linkedid=linked)
            try:
                _apply(channels[key], opts)
            except (KeyError, ValueError) as exc:
                raise fail(f"bad channel option: {exc}") from None
        elif head == "bridge":
            if len(rest) != 2:
                raise fail("bridge needs a key and a uniqueid")
            bridges[rest[0]] = FixtureBridge(rest[1])
        elif head in ("@connect", "@reconnect"):
            steps.append(Step(number, head[1:]))
            last_connect = len(steps) - 1
            queue_status[last_connect] = []
        elif head == "@drop":
            steps.append(Step(number, "drop"))
        elif head == ">":
            if last_connect < 0:
                steps.insert(0, Step(number, "connect"))
                last_connect = 0
                queue_status[0] = []
            if not rest:
                raise fail("a QueueStatus item needs its event name")
            item = [("Event", rest[0])]
            for token in rest[1:]:
                if token in channels:
                    c = channels[token]
                    item += [("Channel", c.name), ("Uniqueid", c.uniqueid)]
                    item += [("CallerIDNum", c.cid), ("CallerIDName", c.cname)]
                    item += [("ConnectedLineNum", c.connected)]
                    item += [("ConnectedLineName", c.connected_name)]
                    continue
                key, sep, value = token.partition("=")
                if not sep:
                    raise fail(f"expected Key=Value, got {token!r}")
                item.append((key, value))
            queue_status[last_connect].append(item)
        elif head == "=":
            if not rest:
                raise fail("an expected event needs its type")
            expected.append(Expected(rest[0], _options(rest[1:])))
        elif head == "==":
            row = _options(rest)
        else:
            try:
                at = float(head)
            except ValueError:
                raise fail(f"unknown statement {head!r}") from None
            if not rest:
                raise fail("an event line needs an event name")
            kind = "set" if rest[0] == "set" else "event"
            steps.append(Step(number, kind, at, rest[0], tuple(rest[1:])))
    if not agent:
        raise FixtureError(f"{path}: no 'agent' line")
    if not sources:
        raise FixtureError(f"{path}: no '# source:' line naming the Asterisk code or doc")
    if not any(s.kind == "connect" for s in steps):
        steps.insert(0, Step(0, "connect"))
        queue_status = {k + 1: v for k, v in queue_status.items()}
        queue_status.setdefault(0, [])
    return Fixture(
        path,
        title,
        agent,
        member,
        state,
        channels,
        bridges,
        steps,
        queue_status,
        expected,
        row,
        sources,
    )


def _options(tokens: list[str]) -> dict[str, str]:
    """The ``Key=Value`` tokens of a line, as a dict (other tokens are skipped)."""
    out: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep:
            out[key] = value
    return out


def _apply(chan: FixtureChannel, opts: dict[str, str]) -> None:
    """Set a channel's options (``state=Up``, ``cid=…``); ValueError for an unknown one."""
    for key, value in opts.items():
        if key == "state":
            chan.state = _STATES[value] if value in _STATES else int(value)
        elif key == "cid":
            chan.cid = value
        elif key == "cname":
            chan.cname = value
        elif key == "connected":
            chan.connected = value
        elif key == "connected_name":
            chan.connected_name = value
        elif key == "ctx":
            chan.context = value
        elif key == "exten":
            chan.exten = value
        elif key == "app":
            chan.app = value
        elif key == "data":
            chan.data = value
        elif key == "linked":
            chan.linkedid = value
        else:
            raise ValueError(f"unknown channel option {key!r}")


class Playback:
    """The fixture's PBX state as the script advances, and the frames it produces."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        # Fresh copies: one fixture may be played several times.
        self.channels = {
            k: FixtureChannel(**{f: getattr(c, f) for f in c.__dataclass_fields__})
            for k, c in fixture.channels.items()
        }
        for c in self.channels.values():
            if c.linkedid in fixture.channels:
                c.linkedid = fixture.channels[c.linkedid].uniqueid
        self.bridges = {k: FixtureBridge(b.uniqueid) for k, b in fixture.bridges.items()}
        self.live: set[str] = set()  # channel keys created (Newchannel) and not hung up
        self.now = 0.0

    def frame(self, step: Step) -> list[tuple[str, str]] | None:
        """Apply ``step`` to the state; the event's fields (None for a ``set``)."""
        self.now = step.at
        name = step.name
        lowered = name.lower()
        if step.kind == "set":
            key, *opts = step.tokens
            _apply(self.channels[key], _options(opts))
            return None
        fields: list[tuple[str, str]] = [("Event", name)]
        privilege = "agent,all" if lowered in _AGENT_EVENTS else "call,all"
        if lowered == "userevent":
            privilege = "user,all"
        fields += [("Privilege", privilege), ("Timestamp", f"{EPOCH + step.at:.6f}")]
        # State changes the event itself describes, applied before its blocks are built
        # (a Newstate shows the new state; a BridgeEnter counts the channel in).
        chans = [t.rpartition(":")[2] for t in step.tokens if "=" not in t]
        bridge = next(
            (
                self.bridges[t.rpartition(":")[2]]
                for t in step.tokens
                if "=" not in t and t.rpartition(":")[2] in self.bridges
            ),
            None,
        )
        opts = _options(list(step.tokens))
        first = next((c for c in chans if c in self.channels), None)
        if lowered == "newchannel" and first is not None:
            self.live.add(first)
            self.channels[first].created = step.at
        if lowered == "newstate" and first is not None and "state" in opts:
            self.channels[first].state = _STATES[opts["state"]]
        if lowered == "newexten" and first is not None:
            self.channels[first].app = opts.get("Application", self.channels[first].app)
            self.channels[first].data = opts.get("AppData", self.channels[first].data)
        if lowered == "bridgeenter" and bridge is not None and first is not None:
            bridge.members.append(first)
            self.channels[first].bridge = bridge.uniqueid
        if lowered == "bridgeleave" and bridge is not None and first is not None:
            with contextlib.suppress(ValueError):
                bridge.members.remove(first)
            self.channels[first].bridge = ""
        for token in step.tokens:
            prefix, _, key = token.rpartition(":")
            if "=" in token:
                k, _, v = token.partition("=")
                if not (lowered == "newstate" and k == "state"):
                    fields.append((k, v))
            elif key in self.channels:
                fields += self.channels[key].block(prefix)
            elif key in self.bridges:
                fields += self.bridges[key].block(prefix or "Bridge")
            else:
                raise FixtureError(f"{self.fixture.path}:{step.line}: unknown name {token!r}")
        if lowered == "hangup" and first is not None:
            self.live.discard(first)
            chan = self.channels[first]
            for b in self.bridges.values():
                if first in b.members:
                    b.members.remove(first)
            chan.bridge = ""
        return fields

    def core_show_channels(self) -> list[list[tuple[str, str]]]:
        """CoreShowChannel items for the live channels (main/manager.c fields)."""
        items = []
        for key in sorted(self.live, key=lambda k: self.channels[k].uniqueid):
            c = self.channels[key]
            seconds = max(0, int(self.now - c.created))
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            items.append(
                [
                    ("Event", "CoreShowChannel"),
                    *c.block(),
                    ("BridgeId", c.bridge),
                    ("Application", c.app),
                    ("ApplicationData", c.data),
                    ("Duration", duration),
                ]
            )
        return items


class FixturePbx:
    """A real AMI server on a free port that plays one fixture to one console at a time.

    After each login it answers the console's QueueStatus and CoreShowChannels from the state
    at that point, then streams the events up to the next ``@drop`` (where it closes the link)
    or the end (followed by ``UserEvent: FixtureDone``, so a test knows all was sent).
    """

    DONE = "FixtureDone"

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.playback = Playback(fixture)
        self._pos = 0  # next step to play
        self._server: asyncio.Server | None = None
        self.port = 0
        self.logins = 0
        self.actions: list[str] = []
        #: The fixture time of the last snapshot served: "now" for the console's resync.
        self.snapshot_at = 0.0

    async def __aenter__(self) -> FixturePbx:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def _advance_to_connect(self) -> int:
        """Apply steps (unsent) up to the next connect marker; its index."""
        steps = self.fixture.steps
        while self._pos < len(steps) and steps[self._pos].kind not in ("connect", "reconnect"):
            self.playback.frame(steps[self._pos]) if steps[self._pos].kind != "drop" else None
            self._pos += 1
        return self._pos

    def _section(self) -> Iterator[list[tuple[str, str]] | None]:
        """The frames after the current connect marker, up to a drop (None) or the end."""
        steps = self.fixture.steps
        self._pos += 1  # past the connect marker
        while self._pos < len(steps):
            step = steps[self._pos]
            if step.kind == "drop":
                self._pos += 1
                yield None
                return
            if step.kind in ("connect", "reconnect"):
                return
            frame = self.playback.frame(step)
            self._pos += 1
            if frame is not None:
                yield frame
        yield [("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", self.DONE)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = FrameParser()
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        connect = self._advance_to_connect()
        snapshots_left = {"queuestatus", "coreshowchannels"}
        try:
            while data := await reader.read(65536):
                for request in parser.feed(data):
                    if not isinstance(request, Message):
                        continue
                    name = request.get("Action").strip().lower()
                    self.actions.append(name)
                    for reply in self._answer(request, name, connect):
                        writer.write(encode(reply))
                    snapshots_left.discard(name)
                    if name in ("queuestatus", "coreshowchannels") and not snapshots_left:
                        for frame in self._section():
                            if frame is None:
                                # Close after what was written is flushed (abort would drop it).
                                writer.close()
                                await writer.wait_closed()
                                return
                            writer.write(encode(frame))
                        snapshots_left = {"never"}
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _answer(self, request: Message, name: str, connect: int) -> list[list[tuple[str, str]]]:
        action_id = ("ActionID", request.get("ActionID"))
        ok = [("Response", "Success"), action_id]
        if name == "login":
            self.logins += 1
            return [
                [*ok, ("Message", "Authentication accepted")],
                [("Event", "FullyBooted"), ("Privilege", "system,all"), ("Status", "Fully Booted")],
            ]
        if name == "listcommands":
            names = (
                "Login",
                "Logoff",
                "Ping",
                "QueueStatus",
                "CoreShowChannels",
                "QueueAdd",
                "QueuePause",
                "QueueRemove",
                "Originate",
                "Redirect",
                "Hangup",
                "Atxfer",
                "BlindTransfer",
            )
            return [[*ok, *((n, f"{n}.  (Priv: <none>)") for n in names)]]
        if name == "ping":
            return [[*ok, ("Ping", "Pong"), ("Timestamp", f"{EPOCH + self.playback.now:.6f}")]]
        if name in ("queuestatus", "coreshowchannels"):
            self.snapshot_at = self.playback.now
            items = (
                self.fixture.queue_status.get(connect, [])
                if name == "queuestatus"
                else self.playback.core_show_channels()
            )
            complete = (
                "QueueStatusComplete" if name == "queuestatus" else "CoreShowChannelsComplete"
            )
            out = [[*ok, ("EventList", "start"), ("Message", "will follow")]]
            out += [[item[0], action_id, *item[1:]] for item in items]
            out.append(
                [
                    ("Event", complete),
                    action_id,
                    ("EventList", "Complete"),
                    ("ListItems", str(len(items))),
                ]
            )
            return out
        if name == "logoff":
            return [[("Response", "Goodbye"), action_id, ("Message", "Thanks for all the fish.")]]
        return [
            [
                ("Response", "Error"),
                action_id,
                (
                    "Message",
                    f"Invalid/unknown command: {request.get('Action')}. Use Action: "
                    "ListCommands to show available commands.",
                ),
            ]
        ]
