"""One AMI connection's plumbing, below `AmiClient`: the socket, the frame parser, the actions
waiting for their answer (matched by ``ActionID``; event lists collected up to their
``…Complete`` event) and the events held back while the client resynchronises.

`AmiLink` knows nothing of logins, reconnects or the tracker: the client (console.cti.ami)
opens one per connection attempt, reads it with `read_loop`, and drops it when it closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from callkit.ami_frames import FrameError, FrameParser, Message, encode
from console.cti.ami_types import (
    ActionResult,
    AmiConnectionLost,
    AmiNotConnected,
    AmiProtocolError,
    AmiTimeout,
    ClientStats,
)

log = logging.getLogger("console.cti.ami")  # one logger for the CTI link (the CLI quiets it)

_READ_SIZE = 65_536
#: Events held back during one resync; past this the PBX is flooding us and we start over.
_MAX_HELD_EVENTS = 100_000


@dataclass(eq=False)
class _Pending:
    future: asyncio.Future[ActionResult]
    response: Message | None = None  # set once an event list has started
    items: list[Message] = field(default_factory=list)


class AmiLink:
    """One TCP connection: parser, pending actions, held-back events."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: ClientStats
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.stats = stats
        self.parser = FrameParser(expect_greeting=True)
        self.pending: dict[str, _Pending] = {}
        self.greeted = asyncio.Event()
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.ready = False  # logged in and resynchronised: open to the console's actions
        self.resyncing = True  # hold events back until the snapshot is applied
        self.held: list[Message] = []
        self.filters: set[str] = set()  # the Filter patterns sent on this connection
        self.call_filters = 0  # of them, one call's each (event_filters.call_pattern)
        self.tasks: set[asyncio.Task[None]] = set()  # filters being added, waits asked
        self.close_reason = ""
        self.reader_task: asyncio.Task[None] | None = None
        self.keepalive: asyncio.Task[None] | None = None

    def abort(self, reason: str) -> None:
        """Drop the connection now; ``reason`` is what the link state will say."""
        self.close_reason = self.close_reason or reason
        self.writer.transport.abort()

    async def request(
        self, pairs: list[tuple[str, str]], wait_s: float, new_action_id: Callable[[], str]
    ) -> ActionResult:
        """Send one action (``pairs``, "Action" first) and wait up to ``wait_s`` for its
        answer, matched by the ActionID ``new_action_id()`` gives it."""
        action_id, future = self.send(pairs, new_action_id)
        return await self.answer(pairs[0][1], action_id, future, wait_s)

    def send(
        self, pairs: list[tuple[str, str]], new_action_id: Callable[[], str]
    ) -> tuple[str, asyncio.Future[ActionResult]]:
        """Write one action now (before any other task can write); its answer comes in the
        returned future (await it with `answer`)."""
        if self.closed.done():
            raise AmiNotConnected(f"CTI link closed: {self.closed.result()}")
        action_id = new_action_id()
        pending = _Pending(asyncio.get_running_loop().create_future())
        self.pending[action_id] = pending
        self.writer.write(encode([pairs[0], ("ActionID", action_id), *pairs[1:]]))
        return action_id, pending.future

    async def answer(
        self, action: str, action_id: str, future: asyncio.Future[ActionResult], wait_s: float
    ) -> ActionResult:
        """Wait up to ``wait_s`` for the answer to an action written with `send`."""
        try:
            async with asyncio.timeout(wait_s):
                return await future
        except TimeoutError:
            raise AmiTimeout(f"{action}: no answer within {wait_s:g}s") from None
        finally:
            self.pending.pop(action_id, None)

    async def read_loop(
        self, on_event: Callable[[Message], None], on_closed: Callable[[str], None]
    ) -> None:
        """Read frames until the connection ends: answers go to their actions, events to
        ``on_event`` (held back while resynchronising); ``on_closed(reason)`` at the end."""
        reason = "connection closed by the PBX"
        try:
            while data := await self.reader.read(_READ_SIZE):
                for item in self.parser.feed(data):
                    self._dispatch(item, on_event)
                if self.parser.greeting is not None:
                    self.greeted.set()
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            on_closed(self.close_reason or reason)

    def shut(self, reason: str) -> bool:
        """The connection ended: fail the actions in flight, stop the keep-alive, close the
        socket and resolve `closed`. False if it was already shut."""
        if self.closed.done():
            return False
        self.ready = False
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_exception(AmiConnectionLost(reason))
        self.pending.clear()
        self.greeted.set()  # wake a connect still waiting for the greeting
        if self.keepalive is not None:
            self.keepalive.cancel()
        self.writer.close()
        self.closed.set_result(reason)
        return True

    def _dispatch(self, item: Message | FrameError, on_event: Callable[[Message], None]) -> None:
        if isinstance(item, FrameError):
            self.stats.malformed_frames += 1
            log.warning("AMI: dropped a malformed frame (%s)", item.reason)
            pending = self.pending.get(item.action_id) if item.action_id else None
            if pending is not None and not pending.future.done():
                pending.future.set_exception(AmiProtocolError(f"unreadable answer: {item.reason}"))
            return
        action_id = item.get("ActionID")
        pending = self.pending.get(action_id) if action_id else None
        if "Event" in item:
            if pending is not None and pending.response is not None:  # an event list's item
                if item.get("EventList").strip().lower() == "complete":
                    result = ActionResult(pending.response, tuple(pending.items), item)
                    pending.future.set_result(result)
                else:
                    pending.items.append(item)
                return
            self.stats.event_frames += 1
            if self.resyncing:
                self.held.append(item)
                if len(self.held) > _MAX_HELD_EVENTS:
                    self.abort("too many events during the resynchronisation")
            else:
                on_event(item)
        elif "Response" in item:
            if pending is None or pending.future.done():
                self.stats.unmatched_responses += 1
            elif item.get("EventList").strip().lower() == "start":
                pending.response = item
            else:
                pending.future.set_result(ActionResult(item))
        else:
            self.stats.malformed_frames += 1
