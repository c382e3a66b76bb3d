"""An asyncio AMI server speaking Asterisk 20's manager protocol (AMI 9.0.0).

Sessions, login (plain and MD5 challenge), Logoff, Ping, Events/EventMask, ListCommands and the
framing errors live here; every other action comes from a backend table (``ami_actions`` for
the live engine, ``recorder`` for replays).

Fan-out: an event is serialised once and the same bytes are written to every subscribed
client; when nobody listens (and nothing records) it is not serialised at all. What a client
is sent during one turn of the event loop goes to its transport as one write when the turn
ends. Each client's queue is that turn's frames plus its transport's write buffer: writes never
block the engine, and a client more than ``max_client_buffer`` bytes behind (slow, stalled or
vanished) is dropped with a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from callkit.ami_frames import (
    INVALID_UTF8,
    FrameError,
    FrameParser,
    Message,
    encode,
    encode_text,
)
from telephony_sim.ami_actions import (
    Action,
    ActionError,
    EngineActions,
    EngineLike,
    Fields,
    Handler,
    error,
    success,
)
from telephony_sim.ami_filters import (
    FilterError,
    FilterIndex,
    SessionFilters,
    filter_action,
    filter_text,
)

log = logging.getLogger(__name__)

GREETING = b"Asterisk Call Manager/9.0.0\r\n"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5038
#: The demo account used when no user is configured (documented in docs/cti.md).
DEMO_USER = ("callconsole", "callconsole")
#: A client more than this many bytes behind is dropped rather than slowing anyone down.
DEFAULT_MAX_CLIENT_BUFFER = 16 * 1024 * 1024
#: Actions handled from one read before yielding, so a flood cannot starve other clients.
_ACTIONS_PER_TURN = 32
_READ_SIZE = 65_536
#: Event names whose ``Event:`` line is kept serialised (names come from code, not peers).
_MAX_EVENT_NAMES = 256

# Asterisk's event classes (the EventMask vocabulary) for the events the simulator sends.
_AGENT_EVENTS = frozenset(
    {
        "queuecallerjoin",
        "queuecallerleave",
        "queuecallerabandon",
        "agentcalled",
        "agentringnoanswer",
        "agentconnect",
        "agentcomplete",
        "agentdump",
        "queuememberadded",
        "queuememberremoved",
        "queuememberpause",
        "queuememberstatus",
        "queuememberpenalty",
        "queuememberringinuse",
    }
)
_CLASS_OF = {name: "agent" for name in _AGENT_EVENTS} | {
    "fullybooted": "system",
    "shutdown": "system",
    "userevent": "user",
    "dtmfbegin": "dtmf",
    "dtmfend": "dtmf",
}
_KNOWN_CLASSES = frozenset(
    {"system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf"}
    | {"reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security"}
)
_ALL = frozenset({"all"})


def event_class(event_name: str) -> str:
    """The Asterisk event class (EventMask word) an event belongs to; ``call`` by default."""
    return _CLASS_OF.get(event_name.lower(), "call")


def parse_event_mask(value: str) -> frozenset[str]:
    """Asterisk's EventMask: on/yes/all → everything, off/no/none → nothing, or a class list."""
    words = {w.strip().lower() for w in value.split(",") if w.strip()}
    if not words or words & {"off", "no", "false", "none", "0"}:
        return frozenset()
    if words & {"on", "yes", "true", "all", "1"}:
        return _ALL
    return frozenset(words & _KNOWN_CLASSES)


class FrameSink(Protocol):
    """Where every frame the server sends is also written (the recorder)."""

    def record(self, kind: str, client: int, data: bytes) -> None:
        """Store ``data``; ``kind`` is ``event`` (shared by all clients) or ``reply``."""


class _Session:
    """One connected client.

    Frames sent during one turn of the event loop are collected and handed to the transport
    as one buffer when the turn ends: one write (one system call) per client per turn instead
    of one per frame. Order is kept, since replies and events share the same queue.
    """

    __slots__ = (
        "authenticated",
        "backlog",
        "challenge",
        "closed",
        "filters",
        "loop",
        "mask",
        "max_buffer",
        "number",
        "parser",
        "peer",
        "pending",
        "username",
        "writer",
    )

    def __init__(
        self, number: int, peer: str, writer: asyncio.StreamWriter, max_buffer: int
    ) -> None:
        self.number = number
        self.peer = peer
        self.writer = writer
        self.max_buffer = max_buffer
        self.username = ""
        self.authenticated = False
        self.mask: frozenset[str] = _ALL
        self.challenge = ""
        self.closed = False
        self.filters: SessionFilters | None = None  # the Filter action's, once one is added
        self.parser = FrameParser()
        self.loop = asyncio.get_running_loop()
        self.pending: list[bytes] = []  # frames of this turn, not yet given to the transport
        self.backlog = 0  # bytes behind: the transport's buffer plus ``pending``

    def wants(self, event_name: str) -> bool:
        """True when this session's EventMask lets ``event_name`` through."""
        return self.mask is _ALL or "all" in self.mask or event_class(event_name) in self.mask

    def send(self, data: bytes) -> None:
        """Queue ``data``; drop the client instead if it has fallen too far behind."""
        if self.closed:
            return
        pending = self.pending
        if not pending:
            self.backlog = self.writer.transport.get_write_buffer_size()
            self.loop.call_soon(self.flush)
        if self.backlog > self.max_buffer:
            self._drop()
            return
        pending.append(data)
        self.backlog += len(data)

    def flush(self) -> None:
        """Hand this turn's frames to the transport as one buffer."""
        pending = self.pending
        if not pending or self.closed:
            pending.clear()
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if not self.writer.transport.is_closing():
            self.writer.write(data)

    def _drop(self) -> None:
        log.warning(
            "AMI client #%d %s dropped: more than %d bytes behind",
            self.number,
            self.peer,
            self.max_buffer,
        )
        self.closed = True
        self.pending.clear()
        self.writer.transport.abort()


class AmiServer:
    """The AMI listener: accepts clients, authenticates them and fans out events.

    ``users`` maps user names to secrets. ``actions`` is the backend's table of actions (keyed
    by lower-case name) served to logged-in clients besides the built-in session actions;
    ``fallback``, if given, answers every other action instead of "Invalid/unknown command"
    (replay uses it to refuse everything as read-only).
    """

    def __init__(
        self,
        actions: Mapping[str, Action],
        users: Mapping[str, str],
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        recorder: FrameSink | None = None,
        max_client_buffer: int = DEFAULT_MAX_CLIENT_BUFFER,
        fallback: Handler | None = None,
    ) -> None:
        if not users:
            raise ValueError("at least one AMI user is needed")
        self._actions = dict(actions)
        self._users = dict(users)
        self._host = host
        self._port = port
        self._recorder = recorder
        self._max_buffer = max_client_buffer
        self._fallback = fallback
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._subscribers: set[_Session] = set()
        self._fanout: tuple[_Session, ...] = ()  # the subscribers, for the per-event loop
        self._filter_index = FilterIndex()  # every session's include filters, by literal
        self._next_number = 1
        self._started = time.time()
        self._event_lines: dict[str, str] = {}
        self.subscribed = asyncio.Event()  # set once some client listens to events

    @property
    def port(self) -> int:
        """The bound TCP port (useful after asking for port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        """Start listening; return the bound port. Raises OSError if the port is taken."""
        self._server = await asyncio.start_server(self._serve_client, self._host, self._port)
        return self.port

    async def close(self) -> None:
        """Stop listening and disconnect every client."""
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.closed = True
            session.pending.clear()
            session.writer.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    def backlog(self) -> int:
        """Bytes queued for event subscribers and not yet taken by their sockets."""
        return sum(
            s.writer.transport.get_write_buffer_size() + sum(map(len, s.pending))
            for s in self._subscribers
        )

    # Events ------------------------------------------------------------------------------

    def publish_event(self, name: str, fields: Iterable[tuple[str, str]]) -> None:
        """Engine listener: send ``Event: name`` + ``fields`` to every subscribed client.

        ``fields`` may offer ``wire_text()``: its own serialised lines, the text `encode` would
        write for them (the engine's call events cache their legs' text this way).
        """
        if not self._subscribers and self._recorder is None:
            return  # nobody reads it: don't even serialise
        wire_text = getattr(fields, "wire_text", None)
        if wire_text is None:
            data = encode([("Event", name), *fields])
        else:
            line = self._event_lines.get(name)
            if line is None:
                line = encode_text([("Event", name)])[:-2]
                if len(self._event_lines) < _MAX_EVENT_NAMES:
                    self._event_lines[name] = line
            data = (line + wire_text() + "\r\n").encode("utf-8", errors="replace")
        self.publish_frame(name, data)

    def publish_frame(self, name: str, data: bytes) -> None:
        """Send an already serialised event frame (shared bytes) to every subscriber whose
        EventMask and filters (the Filter action) let it through."""
        if self._recorder is not None:
            self._recorder.record("event", 0, data)
        text: str | None = None  # what filters match, built once for all filtered sessions
        matched: set[object] | None = None  # the sessions an indexed filter lets it reach
        for session in self._fanout:
            if session.mask is _ALL or session.wants(name):
                filters = session.filters
                if filters is not None:
                    if text is None:
                        text = filter_text(event_class(name), data)
                        matched = self._filter_index.matching(text)
                    if not filters.allows(name, text, matched):
                        continue
                session.send(data)
                if session.closed:
                    self._unsubscribe(session)

    # Per-client loop ---------------------------------------------------------------------

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        session = _Session(self._next_number, str(peer), writer, self._max_buffer)
        self._next_number += 1
        self._sessions.add(session)
        log.info("AMI client #%d connected from %s", session.number, session.peer)
        try:
            session.send(GREETING)
            while not session.closed:
                data = await reader.read(_READ_SIZE)
                if not data:
                    break
                for count, item in enumerate(session.parser.feed(data), start=1):
                    self._handle(session, item)
                    if session.closed:
                        break
                    if count % _ACTIONS_PER_TURN == 0:
                        await asyncio.sleep(0)  # let other clients and the engine run
                # Backpressure on this client only: stop reading its actions while it is not
                # reading our answers.
                session.flush()
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.info("AMI client #%d: connection lost (%s)", session.number, exc)
        finally:
            self._forget(session)
            with contextlib.suppress(ConnectionError, OSError):
                if not writer.transport.is_closing():
                    await writer.drain()
                writer.close()
            log.info("AMI client #%d disconnected", session.number)

    def _forget(self, session: _Session) -> None:
        session.closed = True
        self._sessions.discard(session)
        self._unsubscribe(session)
        self._filter_index.remove(session)

    def _reply(self, session: _Session, fields: Fields) -> None:
        data = encode(fields)
        if self._recorder is not None:
            self._recorder.record("reply", session.number, data)
        session.send(data)

    def _close_after_reply(self, session: _Session) -> None:
        # Let the transport flush what is queued, then close (Asterisk's behaviour on Logoff
        # and on a failed login).
        session.flush()
        self._forget(session)
        session.writer.close()

    def _handle(self, session: _Session, item: Message | FrameError) -> None:
        if isinstance(item, FrameError):
            self._reply(session, error(None, item.reason, item.action_id))
            return
        if item.lossy:
            self._reply(session, error(item, INVALID_UTF8))
            return
        name = item.get("Action").strip()
        if not name:
            self._reply(session, error(item, "Missing action in request"))
            return
        key = name.lower()
        if key == "login":
            self._login(session, item)
        elif key == "logoff":
            self._reply(
                session,
                [("Response", "Goodbye"), *_id(item), ("Message", "Thanks for all the fish.")],
            )
            self._close_after_reply(session)
        elif key == "challenge":
            self._challenge(session, item)
        elif not session.authenticated:
            self._reply(session, error(item, "Permission denied"))
        else:
            self._dispatch(session, key, name, item)

    def _dispatch(self, session: _Session, key: str, name: str, item: Message) -> None:
        if key == "ping":
            now = f"{time.time():.6f}"
            self._reply(session, success(item, None, ("Ping", "Pong"), ("Timestamp", now)))
        elif key == "events":
            self._set_mask(session, parse_event_mask(item.get("EventMask")))
            state = "On" if session.mask else "Off"
            self._reply(session, success(item, None, ("Events", state)))
        elif key == "listcommands":
            self._reply(session, self._list_commands(item))
        elif key == "filter":
            self._filter(session, item)
        elif key == "userevent":
            self._reply(session, success(item, "Event Sent"))  # the ack, then the event
            self._user_event(item)
        else:
            action = self._actions.get(key)
            handler = action.handler if action is not None else self._fallback
            if handler is None:
                unknown = (
                    f"Invalid/unknown command: {name}. "
                    "Use Action: ListCommands to show available commands."
                )
                self._reply(session, error(item, unknown))
                return
            try:
                replies = handler(item)
            except ActionError as exc:
                replies = [error(item, str(exc))]
            except Exception:
                # A bug must not take the server down for every other client.
                log.exception("AMI action %s failed", name)
                replies = [error(item, f"Internal error while handling {name}")]
            for fields in replies:
                self._reply(session, fields)

    def _list_commands(self, item: Message) -> Fields:
        builtin = [
            ("Login", "Login Manager."),
            ("Logoff", "Logoff Manager."),
            ("Challenge", "Generate Challenge for MD5 Auth."),
            ("Ping", "Keepalive command."),
            ("Events", "Control Event Flow."),
            ("ListCommands", "List available manager commands."),
            ("Filter", "Dynamically add filters for the current manager session."),
            ("UserEvent", "Send an arbitrary event."),
        ]
        builtin += [(a.name, a.synopsis) for a in self._actions.values()]
        return success(item, None, *((n, f"{s}  (Priv: all)") for n, s in builtin))

    def _user_event(self, item: Message) -> None:
        """Asterisk's action_userevent (main/manager.c): ``Event: UserEvent`` to every session
        that takes the ``user`` class, ``UserEvent: <name>`` first, then every other header of
        the action as it came (Action and ActionID included, as Asterisk copies them)."""
        body = [(k, v) for k, v in item.pairs if k.lower() != "userevent"]
        self.publish_event("UserEvent", [("UserEvent", item.get("UserEvent")), *body])

    def _filter(self, session: _Session, item: Message) -> None:
        """Asterisk's action_filter: add one event filter to this session (never removed)."""
        filters = session.filters
        if filters is None:
            filters = SessionFilters(self._filter_index, session)
        try:
            message = filter_action(
                filters, item.get("Operation"), item.get("MatchCriteria"), item.get("Filter")
            )
        except FilterError as exc:
            self._reply(session, error(item, str(exc)))
            return
        session.filters = filters
        self._reply(session, success(item, message))

    # Login -------------------------------------------------------------------------------

    def _challenge(self, session: _Session, item: Message) -> None:
        if item.get("AuthType").strip().lower() != "md5":
            self._reply(session, error(item, "Must specify AuthType"))
            return
        if not session.challenge:
            session.challenge = str(secrets.randbelow(10**9))
        self._reply(session, success(item, None, ("Challenge", session.challenge)))

    def _login(self, session: _Session, item: Message) -> None:
        if session.authenticated:
            self._reply(session, success(item, "Already authenticated"))
            return
        username = item.get("Username").strip()
        secret = self._users.get(username)
        if secret is None or not self._credentials_ok(session, item, secret):
            log.warning("AMI client #%d: failed login as %r", session.number, username)
            self._reply(session, error(item, "Authentication failed"))
            self._close_after_reply(session)
            return
        session.authenticated = True
        session.username = username
        log.info("AMI client #%d logged in as %s", session.number, username)
        self._reply(session, success(item, "Authentication accepted"))
        uptime = str(int(time.time() - self._started))
        self._reply(
            session,
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ],
        )
        events = item.get("Events")
        self._set_mask(session, parse_event_mask(events) if events.strip() else _ALL)

    @staticmethod
    def _credentials_ok(session: _Session, item: Message, secret: str) -> bool:
        if item.get("AuthType").strip().lower() == "md5":
            if not session.challenge:
                return False
            # MD5 is what the AMI protocol prescribes, not our choice; the flag keeps FIPS
            # builds from refusing it.
            digest = hashlib.md5((session.challenge + secret).encode(), usedforsecurity=False)
            expected = digest.hexdigest()
            return secrets.compare_digest(item.get("Key").strip().lower(), expected)
        return secrets.compare_digest(item.get("Secret").encode(), secret.encode())

    def _set_mask(self, session: _Session, mask: frozenset[str]) -> None:
        session.mask = mask
        if mask and session.authenticated and not session.closed:
            self._subscribers.add(session)
            self._fanout = tuple(self._subscribers)
            self.subscribed.set()
        else:
            self._unsubscribe(session)

    def _unsubscribe(self, session: _Session) -> None:
        self._subscribers.discard(session)
        self._fanout = tuple(self._subscribers)


class PublishingEngine(EngineLike, Protocol):
    """An engine the server can front: its AMI actions, and a listener for its events."""

    def add_listener(self, fn: Callable[[str, list[tuple[str, str]]], None]) -> None: ...


def engine_server(
    engine: PublishingEngine,
    engine_errors: tuple[type[Exception], ...],
    users: Mapping[str, str],
    *,
    scenario_dirs: Sequence[Path] | None = None,
    **options: Any,
) -> AmiServer:
    """An `AmiServer` serving ``engine``'s actions and publishing its events (not started).

    ``engine_errors`` are the engine's refusals (its ``SimError``); ``scenario_dirs`` the
    folders SimTraining may read scenario files from (None: the default); ``options`` go to
    `AmiServer` (host, port, recorder, max_client_buffer).
    """
    actions = EngineActions(engine, engine_errors, scenario_dirs=scenario_dirs).actions()
    server = AmiServer(actions, users, **options)
    engine.add_listener(server.publish_event)
    return server


def _id(item: Message) -> list[tuple[str, str]]:
    action_id = item.get("ActionID")
    return [("ActionID", action_id)] if action_id else []
