"""The AMI client: one TCP link to Asterisk (or telephony_sim), kept alive and resynchronised.

`AmiClient` connects, reads the greeting, logs in (plain ``Login``), correlates every action
with its answer by ``ActionID`` (event lists are collected up to their ``…Complete`` event),
pings the PBX every ``ping_interval`` and drops a link whose Pong does not come back, and
reconnects with capped exponential backoff and jitter. After every (re)connect it
resynchronises the call tracker from ``QueueStatus`` + ``CoreShowChannels`` before announcing
``LinkState.CONNECTED``; the events that arrive meanwhile are held back and replayed after the
snapshot (the tracker ignores the ones the snapshot already reflects).

Only standard actions are used on the core path (Login, ListCommands, QueueStatus,
CoreShowChannels, Ping, Logoff), so a real Asterisk works. The simulator's desk-phone action
(``SimPhone``) is detected once per login, from ListCommands or, where that is refused, by
trying it and seeing ``Invalid/unknown command``; `Capabilities.sim_phone` and
`LinkStateChanged.sim_phone` tell the UI whether to offer answer/hold/hangup buttons. The
trainer's ``SimTraining`` (`start_training`, `stop_training`) is detected the same way
(`Capabilities.sim_training`). Both live in ``console.cti.ami_sim``.

Failure policy: refused credentials stop the client (`AmiAuthError`, state ``down``) instead
of retrying them; everything else (refused connection, silence, a dropped socket, garbage) is
retried. Actions are never queued across an outage: sending while the link is down raises
`AmiNotConnected`, and actions in flight when it drops raise `AmiConnectionLost`, so a button
pressed during an outage cannot fire minutes later. Malformed frames are counted, never fatal.

Event filters (``event_filter=True``, an agent's console): right after the login the client
adds AMI ``Filter``s so the PBX sends only this agent's legs, its queues, the answers to its own
actions and, once a call is offered, that call's every event (``console.cti.event_filters``;
docs/cti.md). Wallboards and supervisors keep the full stream. A PBX that refuses a filter
(an AMI user without the ``system`` write permission, an Asterisk before 10) costs one
reconnect: the client logs it and goes on with the full stream.

One connection's socket, ActionID matching and held-back events are `ami_link.AmiLink`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import SecretStr

from callkit.ami_frames import Message
from console.cti.actions import CallActions
from console.cti.ami_link import AmiLink
from console.cti.ami_monitor import MonitorActions
from console.cti.ami_sim import SimActions, probe_capabilities
from console.cti.ami_types import (
    ActionResult,
    AmiAuthError,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiProtocolError,
    AmiTimeout,
    AmiTimings,
    AmiUnsupported,
    Backoff,
    Capabilities,
    ClientStats,
)
from console.cti.event_filters import CALL_FILTER_START, agent_patterns, call_pattern
from console.cti.protocol import (
    AgentStateChanged,
    CallOffered,
    CtiEvent,
    LinkState,
    LinkStateChanged,
)
from console.cti.tracker import CallTracker, Snapshot
from console.cti.wait_probe import measure_wait, needs_wait

__all__ = [
    "ActionResult",
    "AmiAuthError",
    "AmiClient",
    "AmiConnectionLost",
    "AmiError",
    "AmiNotConnected",
    "AmiProtocolError",
    "AmiTimeout",
    "AmiTimings",
    "AmiUnsupported",
    "Backoff",
    "Capabilities",
    "ClientStats",
    "EventStream",
]

log = logging.getLogger(__name__)

#: Per-call filters a session collects before it is renewed at the agent's next idle moment
#: (an agent's long shift: a few hundred calls). Each costs the PBX a match per event.
MAX_CALL_FILTERS = 64


class EventStream:
    """An async iterator over the client's events from the moment it was created.

    Ends after `AmiClient.close` (or `close` on the stream). Unbounded: a consumer that stops
    reading should close its stream.
    """

    def __init__(self, client: AmiClient) -> None:
        self._client = client
        self._queue: asyncio.Queue[CtiEvent | None] = asyncio.Queue()
        self._done = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> CtiEvent:
        if self._done:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._done = True
            raise StopAsyncIteration
        return event

    def push(self, event: CtiEvent | None) -> None:
        """Deliver ``event`` (None ends the stream)."""
        self._queue.put_nowait(event)

    def close(self) -> None:
        """Stop receiving events; iteration ends after what is already queued."""
        self._client._unsubscribe(self)
        self.push(None)


class AmiClient(CallActions, SimActions, MonitorActions):
    """A self-healing AMI connection feeding a `CallTracker`; see the module docstring.

    ``tracker`` (optional) turns events into typed call/queue events; without it the client
    only reports link states and answers actions. ``on_event`` is called (synchronously, on
    the loop) with every typed event, as `events()` streams receive them; ``on_frame`` with
    every raw AMI event frame (e.g. OriginateResponse, for services that need one). The
    simulator's actions (`sim_phone`, `start_training`, `stop_training`) come from `SimActions`.
    ``event_filter`` (needs ``tracker``): ask the PBX for this agent's events only (module
    docstring); ``queues``: the agent's queues, besides those the PBX says it is a member of.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: SecretStr | str,
        *,
        tracker: CallTracker | None = None,
        timings: AmiTimings | None = None,
        on_event: Callable[[CtiEvent], None] | None = None,
        on_frame: Callable[[Message], None] | None = None,
        rng: random.Random | None = None,
        event_filter: bool = False,
        queues: Sequence[str] = (),
        max_call_filters: int = MAX_CALL_FILTERS,
    ) -> None:
        if event_filter and tracker is None:
            raise ValueError("event_filter needs a tracker: it names the agent's devices")
        self.host, self.port = host, port
        self._username = username
        # Unwrapped only in the Login action: repr, logs and errors never see it.
        self._secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        self._tracker = tracker
        self._timings = timings or AmiTimings()
        self._on_event, self._on_frame = on_event, on_frame
        self._rng = rng or random.Random()
        self.stats = ClientStats()
        self.capabilities = Capabilities()
        self._state = LinkStateChanged(
            state=LinkState.DOWN, since=datetime.now(UTC), detail="not started"
        )
        self._changed = asyncio.Event()  # replaced on every state change
        self._subscribers: list[EventStream] = []
        self._link: AmiLink | None = None
        self._runner: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._fatal: AmiAuthError | None = None
        self._closing = False
        # ActionIDs unique across consoles: some answers (OriginateResponse) reach everyone.
        self._prefix = f"cc-{secrets.token_hex(4)}"
        self._ids = itertools.count(1)
        self._filtering = event_filter
        self._queues = tuple(queues)
        self._max_call_filters = max_call_filters
        self._renewing = False  # the link was dropped on purpose: reconnect at once

    # Life cycle ----------------------------------------------------------------------------

    @property
    def tracker(self) -> CallTracker | None:
        """The call tracker fed by this client (for ``active_calls()``, ``queues()``…)."""
        return self._tracker

    @property
    def peer(self) -> str:
        """Where the link goes, for people (``host:port``)."""
        return f"{self.host}:{self.port}"

    @property
    def link_state(self) -> LinkStateChanged:
        """The current link state (the last `LinkStateChanged` published)."""
        return self._state

    def events(self) -> EventStream:
        """A new stream of every typed event from now on (create it before `start`)."""
        stream = EventStream(self)
        self._subscribers.append(stream)
        return stream

    def _unsubscribe(self, stream: EventStream) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(stream)

    async def start(self) -> None:
        """Start connecting; return once the first attempt succeeded or failed.

        Raises `AmiAuthError` if the PBX refused the credentials (the client then stops).
        A network failure does not raise: the client keeps retrying in the background and
        reports ``reconnecting`` meanwhile.
        """
        if self._runner is not None:
            raise RuntimeError("AmiClient.start() was already called")
        self._closing = False
        self._fatal = None
        self._first = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(), name=f"ami {self.host}:{self.port}")
        await asyncio.shield(self._first)

    async def wait_connected(self) -> None:
        """Wait until the link is connected and resynchronised (bound it with asyncio.timeout).

        Raises `AmiAuthError` if the login was refused, `AmiNotConnected` if the client is
        not running.
        """
        while self._state.state is not LinkState.CONNECTED:
            if self._fatal is not None:
                raise self._fatal
            if self._runner is None or self._runner.done():
                raise AmiNotConnected(f"the CTI client is not running ({self._state.detail})")
            await self._changed.wait()

    async def close(self) -> None:
        """Log off, disconnect, stop reconnecting and end every event stream."""
        self._closing = True
        link = self._link
        if link is not None and link.ready:
            with contextlib.suppress(AmiError, OSError):
                # Short: a PBX that does not answer must not hold the console's exit up.
                await self._request(link, [("Action", "Logoff")], 1.0)
        if link is not None:
            link.abort("closed by the console")
            if link.reader_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await link.reader_task
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._state.state is not LinkState.DOWN or self._fatal is None:
            self._set_state(LinkState.DOWN, "closed by the console")
        for stream in list(self._subscribers):
            stream.close()

    async def __aenter__(self) -> AmiClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # Actions -------------------------------------------------------------------------------

    async def send_action(self, action: str, /, **fields: str | Sequence[str]) -> ActionResult:
        """Send ``Action: action`` with ``fields`` and return its answer.

        AMI field names are passed as keyword arguments (``Queue="support"``); a sequence
        value repeats the key (``Variable=["a=1", "b=2"]``). For event-list actions the
        result holds the items up to the ``…Complete`` event. An error answer is returned,
        not raised (check ``result.ok``); raises `AmiNotConnected`, `AmiConnectionLost` or
        `AmiTimeout` (after ``AmiTimings.action_timeout``) when no answer can come.
        """
        link = self._link
        if link is None or not link.ready:
            raise AmiNotConnected(f"CTI link {self._state.state}: {action} was not sent")
        pairs = [("Action", action)]
        for key, value in fields.items():
            if key.lower() == "actionid":
                raise ValueError("the client sets ActionID itself")
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, str(v)) for v in value)
        return await self._request(link, pairs, self._timings.action_timeout)

    async def _request(
        self, link: AmiLink, pairs: list[tuple[str, str]], wait_s: float
    ) -> ActionResult:
        return await link.request(pairs, wait_s, lambda: f"{self._prefix}-{next(self._ids)}")

    # Connection loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closing:
            self.stats.connect_attempts += 1
            up_since: float | None = None
            try:
                link = await self._connect()
                up_since = loop.time()
                self._first_done(None)
                reason = await link.closed
            except AmiAuthError as exc:
                log.error("AMI %s:%d: %s", self.host, self.port, exc)
                self._fatal = exc
                self._set_state(LinkState.DOWN, str(exc))
                self._first_done(exc)
                return
            except (OSError, TimeoutError, AmiError) as exc:
                reason = self._describe(exc)
            except Exception as exc:
                # A bug of ours: log it, but keep the console's CTI link alive.
                log.exception("AMI %s:%d: unexpected error", self.host, self.port)
                reason = f"internal error: {exc}"
            if self._closing:
                return
            if up_since is not None and loop.time() - up_since >= self._timings.stable_after:
                attempt = 0
            delay = self._timings.backoff.delay(attempt, self._rng)
            if self._renewing:  # dropped on purpose, the PBX is fine: straight back
                self._renewing, delay = False, 0.0
            attempt += 1
            log.warning("AMI %s:%d: %s; retrying in %.3gs", self.host, self.port, reason, delay)
            self._set_state(LinkState.RECONNECTING, reason, attempt=attempt, retry_in=delay)
            self._first_done(None)
            await asyncio.sleep(delay)

    def _describe(self, exc: BaseException) -> str:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, AmiError):
            return str(exc)
        if isinstance(exc, TimeoutError):
            return f"no answer from {where} within {self._timings.connect_timeout:g}s"
        if isinstance(exc, ConnectionRefusedError):
            return f"cannot connect to {where}: connection refused (is the PBX running?)"
        if isinstance(exc, OSError):
            return f"cannot connect to {where}: {exc.strerror or exc}"
        return f"{where}: {exc}"

    def _first_done(self, exc: AmiAuthError | None) -> None:
        first = self._first
        if first is not None and not first.done():
            if exc is None:
                first.set_result(None)
            else:
                first.set_exception(exc)

    async def _connect(self) -> AmiLink:
        timings = self._timings
        async with asyncio.timeout(timings.connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        link = AmiLink(reader, writer, self.stats)
        link.reader_task = asyncio.create_task(
            link.read_loop(self._track, lambda reason: self._closed(link, reason))
        )
        try:
            async with asyncio.timeout(timings.connect_timeout):
                await link.greeted.wait()
            if link.closed.done():
                raise AmiConnectionLost(link.closed.result())
            greeting = link.parser.greeting or ""
            if not greeting.startswith("Asterisk Call Manager/"):
                raise AmiProtocolError(f"not an AMI server (it greeted {greeting[:60]!r})")
            login = await self._request(
                link,
                [
                    ("Action", "Login"),
                    ("Username", self._username),
                    ("Secret", self._secret.get_secret_value()),
                    ("Events", "on"),
                ],
                timings.action_timeout,
            )
            if not login.ok:
                detail = login.message or "no reason given"
                raise AmiAuthError(f"login as {self._username!r} refused: {detail}")
            capabilities = await self._probe_capabilities(link)
            snapshot = await self._snapshot(link)
            if self._filtering:
                # After the snapshot, which names the agent's queues and devices; what comes
                # before the filters is the full stream, held back and fed as usual.
                await self._install_filters(link, snapshot)
        except BaseException:
            link.abort("connection attempt failed")
            raise
        self.capabilities = capabilities
        self._link = link
        # No await from here on: nothing can slip in between the snapshot and the replay.
        if self._tracker is not None:
            try:
                events = self._tracker.rebuild(snapshot)
            except Exception:
                self.stats.tracker_errors += 1
                log.exception("AMI resync: the tracker failed to rebuild")
                events = []
            for event in events:
                self._publish(event)
        link.resyncing = False
        for message in link.held:
            self._track(message)
        link.held.clear()
        self._sync_filters(link)  # what the snapshot taught (member names' devices, queues)
        link.ready = True
        link.keepalive = asyncio.create_task(self._keepalive(link))
        self.stats.connections += 1
        log.info("AMI %s:%d: connected as %s", self.host, self.port, self._username)
        self._set_state(LinkState.CONNECTED, f"connected to {self.host}:{self.port}")
        return link

    @property
    def event_filter(self) -> bool:
        """Whether this client asks the PBX for its agent's events only (False after a PBX
        refused a filter: then it takes the full stream)."""
        return self._filtering

    def _wanted_filters(self, snapshot: Snapshot | None = None) -> list[str]:
        """Every pattern this agent's session should have now (console.cti.event_filters),
        with what ``snapshot`` (not yet applied) says of the agent's queues and devices."""
        tracker = self._tracker
        if tracker is None:
            return []
        lines = tracker.lines
        queues = set(self._queues)
        queues.update(
            m.queue
            for m in tracker.members()
            if m.logged_in and lines.member(m.interface, m.member_name)
        )
        if snapshot is not None and snapshot.queue_status:
            lines = copy.deepcopy(lines)
            for item in snapshot.queue_status:
                if item.get("Event").strip().lower() == "queuemember":
                    where, name = item.get("Location"), item.get("Name")
                    if lines.member(where, name):
                        lines.learn(where, name, item.get("StateInterface"))
                        queues.add(item.get("Queue").strip())
        patterns = agent_patterns(lines, queues, self._prefix)
        patterns += [call_pattern(c.linkedid) for c in tracker.active_calls() if c.linkedid]
        return patterns

    def _new_filters(self, link: AmiLink, snapshot: Snapshot | None = None) -> list[str]:
        new = [p for p in self._wanted_filters(snapshot) if p not in link.filters]
        link.filters.update(new)
        link.call_filters += sum(1 for p in new if p.startswith(CALL_FILTER_START))
        return new

    async def _install_filters(self, link: AmiLink, snapshot: Snapshot) -> None:
        """Add the session's filters and wait for every answer. If the PBX refuses them all
        (no Filter action, no permission) the session simply keeps the full stream; if it
        refuses some, this raises: the link is dropped and the next one is unfiltered."""
        results = await asyncio.gather(
            *(self._filter(link, pattern) for pattern in self._new_filters(link, snapshot))
        )
        refused = [r.message or "no reason given" for r in results if not r.ok]
        if not refused:
            return
        reason = self._refused(refused[0])
        if len(refused) < len(results):
            raise AmiProtocolError(reason)

    async def _filter(self, link: AmiLink, pattern: str) -> ActionResult:
        result = await self._request(
            link,
            [("Action", "Filter"), ("Operation", "Add"), ("Filter", pattern)],
            self._timings.action_timeout,
        )
        if result.ok:
            self.stats.filters_added += 1
        return result

    def _refused(self, reason: str) -> str:
        self._filtering = False
        log.error("AMI: the PBX refused an event filter (%s); taking the full event stream", reason)
        return f"the PBX refused an event filter ({reason}); reconnecting for the full stream"

    def _sync_filters(self, link: AmiLink | None) -> None:
        """Add the filters the agent's state now calls for (a call offered: its Linkedid; a
        queue joined). Written at once, before any action the console sends on seeing the
        offer; answers are checked later, and a refusal drops the link."""
        if not self._filtering or link is None or link.closed.done():
            return
        sent = [
            link.send(
                [("Action", "Filter"), ("Operation", "Add"), ("Filter", pattern)],
                lambda: f"{self._prefix}-{next(self._ids)}",
            )
            for pattern in self._new_filters(link)
        ]
        if sent:
            link.tasks.add(asyncio.create_task(self._check_filters(link, sent)))

    async def _check_filters(
        self, link: AmiLink, sent: list[tuple[str, asyncio.Future[ActionResult]]]
    ) -> None:
        timeout = self._timings.action_timeout
        try:
            results = [await link.answer("Filter", i, f, timeout) for i, f in sent]
        except AmiError:
            for _action_id, future in sent:  # retrieved, so asyncio does not log them
                if future.done() and not future.cancelled():
                    future.exception()
            return  # the link went; the next connection installs what it needs
        finally:
            task = asyncio.current_task()
            if task is not None:
                link.tasks.discard(task)
        self.stats.filters_added += sum(r.ok for r in results)
        refused = [r.message or "no reason given" for r in results if not r.ok]
        if refused:
            link.abort(self._refused(refused[0]))

    async def _probe_capabilities(self, link: AmiLink) -> Capabilities:
        timeout = self._timings.action_timeout
        return await probe_capabilities(lambda pairs: self._request(link, pairs, timeout))

    async def _snapshot(self, link: AmiLink) -> Snapshot:
        timeout = self._timings.action_timeout
        queues, channels = await asyncio.gather(
            self._request(link, [("Action", "QueueStatus")], timeout),
            self._request(link, [("Action", "CoreShowChannels")], timeout),
        )
        for name, result in (("QueueStatus", queues), ("CoreShowChannels", channels)):
            if not result.ok:
                log.warning("AMI resync: %s refused (%s)", name, result.message)
        return Snapshot(
            queues.items if queues.ok else None, channels.items if channels.ok else None
        )

    async def _keepalive(self, link: AmiLink) -> None:
        """Ping every ``ping_interval`` for the link's whole life; drop it on a missed Pong.

        Any answer, even an error or an unreadable one, proves the PBX is alive and the loop
        goes on: a PBX that hangs later is still detected within ping_interval + ping_timeout
        of its last answer. Only silence (or the link closing) ends the loop.
        """
        timings = self._timings
        while not link.closed.done():
            await asyncio.sleep(timings.ping_interval)
            try:
                await self._request(link, [("Action", "Ping")], timings.ping_timeout)
            except AmiTimeout:
                self.stats.missed_pongs += 1
                link.abort(f"no Pong within {timings.ping_timeout:g}s: the PBX stopped answering")
                return
            except (AmiConnectionLost, AmiNotConnected):
                return  # the link closed meanwhile
            except AmiError as exc:
                # An unreadable answer is still an answer: the peer is alive. Keep pinging.
                self.stats.bad_pongs += 1
                log.warning("AMI: unreadable answer to Ping (%s); still pinging", exc)

    # Frames from the link -----------------------------------------------------------------

    def _closed(self, link: AmiLink, reason: str) -> None:
        if link.shut(reason) and self._link is link:
            self._link = None

    def _track(self, message: Message) -> None:
        if self._on_frame is not None:
            try:
                self._on_frame(message)
            except Exception:
                log.exception("AMI: on_frame callback failed")
        if self._tracker is None:
            return
        try:
            events = self._tracker.feed(message)
        except Exception:
            # A tracker bug must not take the CTI link down with it.
            self.stats.tracker_errors += 1
            log.exception("AMI: the tracker failed on %s", message.get("Event"))
            return
        for event in events:
            self._publish(event)
        if self._filtering and any(isinstance(e, CallOffered | AgentStateChanged) for e in events):
            self._sync_filters(self._link)
        for event in events:
            if needs_wait(event):
                self._ask_wait(self._link, event)
        if self._filtering and events:
            self._renew_if_crowded(self._link)

    def _ask_wait(self, link: AmiLink | None, offer: CallOffered) -> None:
        """The offer could not say how long its caller waited: ask the PBX (wait_probe.py),
        after the offer is published, so the pop never waits for the answer."""
        if link is None or link.closed.done():
            return
        self.stats.waits_asked += 1
        task = asyncio.create_task(self._measure_wait(link, offer))
        link.tasks.add(task)
        task.add_done_callback(link.tasks.discard)

    async def _measure_wait(self, link: AmiLink, offer: CallOffered) -> None:
        timeout = self._timings.action_timeout
        try:
            measured = await measure_wait(lambda pairs: self._request(link, pairs, timeout), offer)
        except AmiError as exc:  # the link went or the PBX is slow: the wait stays unknown
            log.debug("AMI: no wait for %s (%s)", offer.uniqueid, exc)
            return
        if measured is not None:
            self._publish(measured)

    def _renew_if_crowded(self, link: AmiLink | None) -> None:
        """Asterisk cannot remove a filter, and a session gains one per offered call; every
        event is matched against each of them, for every console. Past `max_call_filters`, the
        session is renewed (a new login: the filters this agent needs now, the resync) at the
        first moment the agent has no call, so nothing of a call is missed."""
        tracker = self._tracker
        if link is None or link.closed.done() or self._renewing or tracker is None:
            return
        calls = link.call_filters
        if calls > self._max_call_filters and not tracker.active_calls():
            self._renewing = True
            self.stats.renewals += 1
            link.abort(f"renewing the session ({calls} call filters)")

    # Publishing ----------------------------------------------------------------------------

    def _set_state(
        self,
        state: LinkState,
        detail: str,
        *,
        attempt: int = 0,
        retry_in: float | None = None,
    ) -> None:
        # While reconnecting, "since" stays when the link was lost: retries do not reset it.
        same = self._state.state is state is LinkState.RECONNECTING
        self._state = LinkStateChanged(
            state=state,
            since=self._state.since if same else datetime.now(UTC),
            detail=detail,
            attempt=attempt,
            retry_in=retry_in,
            sim_phone=state is LinkState.CONNECTED and self.capabilities.sim_phone,
        )
        self._changed.set()
        self._changed = asyncio.Event()
        self._publish(self._state)

    def _publish(self, event: CtiEvent) -> None:
        for stream in list(self._subscribers):
            stream.push(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("AMI: on_event callback failed")
