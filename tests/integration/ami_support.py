"""Helpers for AMI tests over a real socket: a raw line-level client and a fake engine.

The fake engine implements the engine facade contract the AMI server codes against, with just
enough state (queues, members, channels) for the protocol tests to assert real answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from callkit.ami_frames import FrameError, FrameParser, Message, encode
from telephony_sim.ami_server import AmiServer, PublishingEngine, engine_server
from telephony_sim.outbound import OriginateRequest

Fields = list[tuple[str, str]]
Listener = Callable[[str, list[tuple[str, str]]], None]


#: The AMI account of the tests' servers (RawClient.login's default).
USERS = {"admin": "s3cret"}


class FakeSimError(Exception):
    """Stands in for telephony_sim.engine.SimError."""


@contextlib.asynccontextmanager
async def serving(
    engine: PublishingEngine,
    errors: tuple[type[Exception], ...] = (FakeSimError,),
    users: Mapping[str, str] = USERS,
    **options: Any,
) -> AsyncIterator[AmiServer]:
    """An AMI server in front of ``engine`` on a free port, closed afterwards."""
    server = engine_server(engine, errors, users, port=0, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


class FakeEngine:
    """A tiny PBX: queues with members, some channels, and a log of the calls it received."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.calls: list[tuple[object, ...]] = []
        self.members: dict[str, dict[str, tuple[str, int, bool]]] = {
            "support": {"PJSIP/1001": ("Alice", 0, False)},
            "sales": {},
        }
        self.waiting: dict[str, list[str]] = {"support": ["PJSIP/trunk-00000001"], "sales": []}
        self.channels = ["PJSIP/trunk-00000001", "PJSIP/1001-00000002"]

    async def run(self, stop_event: asyncio.Event) -> None:
        await stop_event.wait()

    def add_listener(self, fn: Listener) -> None:
        self.listeners.append(fn)

    def emit(self, name: str, fields: list[tuple[str, str]]) -> None:
        for fn in self.listeners:
            fn(name, fields)

    def queue_status_items(self, queue: str | None) -> list[tuple[str, Fields]]:
        items: list[tuple[str, Fields]] = []
        for name in sorted(self.members):
            if queue is not None and name != queue:
                continue
            items.append(("QueueParams", [("Queue", name), ("Max", "0"), ("Strategy", "rrmemory")]))
            for iface, (member, penalty, paused) in self.members[name].items():
                items.append(
                    (
                        "QueueMember",
                        [
                            ("Queue", name),
                            ("Name", member),
                            ("Location", iface),
                            ("Penalty", str(penalty)),
                            ("Paused", "1" if paused else "0"),
                        ],
                    )
                )
            for pos, chan in enumerate(self.waiting[name], start=1):
                items.append(
                    ("QueueEntry", [("Queue", name), ("Position", str(pos)), ("Channel", chan)])
                )
        return items

    def queue_summary_items(self, queue: str | None) -> list[tuple[str, Fields]]:
        return [
            ("QueueSummary", [("Queue", name), ("Callers", str(len(self.waiting[name])))])
            for name in sorted(self.members)
            if queue is None or name == queue
        ]

    def core_show_channels_items(self) -> list[tuple[str, Fields]]:
        return [("CoreShowChannel", [("Channel", c)]) for c in self.channels]

    def status_items(self, channel: str | None) -> list[tuple[str, Fields]]:
        return [("Status", [("Channel", c)]) for c in self.channels if channel in (None, c)]

    def _queue(self, queue: str) -> dict[str, tuple[str, int, bool]]:
        if queue not in self.members:
            raise FakeSimError("Unable to add interface to queue: No such queue")
        return self.members[queue]

    def queue_add(
        self,
        queue: str,
        interface: str,
        member_name: str,
        penalty: int,
        paused: bool,
        state_interface: str,
    ) -> None:
        self.calls.append(("queue_add", queue, interface, member_name, penalty, paused))
        members = self._queue(queue)
        if interface in members:
            raise FakeSimError("Unable to add interface: Already there")
        members[interface] = (member_name, penalty, paused)
        self.emit("QueueMemberAdded", [("Queue", queue), ("Interface", interface)])

    def queue_remove(self, queue: str, interface: str) -> None:
        self.calls.append(("queue_remove", queue, interface))
        if self._queue(queue).pop(interface, None) is None:
            raise FakeSimError("Unable to remove interface: Not there")

    def queue_pause(self, interface: str, paused: bool, queue: str | None, reason: str) -> None:
        self.calls.append(("queue_pause", interface, paused, queue, reason))
        found = False
        for name, members in self.members.items():
            if interface in members and queue in (None, name):
                member, penalty, _ = members[interface]
                members[interface] = (member, penalty, paused)
                found = True
        if not found:
            raise FakeSimError("Interface not found")

    def originate(self, request: OriginateRequest) -> None:
        self.calls.append(
            (
                "originate",
                request.channel,
                request.exten,
                request.context,
                request.caller_id,
                request.timeout_ms,
            )
        )
        # The real engine answers later on its clock; a loop callback gives the same ordering.
        asyncio.get_running_loop().call_soon(
            self.emit,
            "OriginateResponse",
            [
                ("ActionID", request.action_id),
                ("Response", "Success"),
                ("Channel", request.channel),
            ],
        )

    def redirect(self, channel: str, exten: str, context: str) -> None:
        self.calls.append(("redirect", channel, exten, context))
        if channel not in self.channels:
            raise FakeSimError(f"Channel does not exist: {channel}")

    def hangup(self, channel: str, cause: int) -> None:
        self.calls.append(("hangup", channel, cause))
        if channel not in self.channels:
            raise FakeSimError("No such channel")
        self.channels.remove(channel)
        self.emit("Hangup", [("Channel", channel), ("Cause", str(cause))])

    def phone(self, interface: str, command: str) -> None:
        self.calls.append(("phone", interface, command))


class RawClient:
    """A line-level AMI client over a real socket, reading with the shared frame parser."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = FrameParser(expect_greeting=True)
        self.pending: list[Message | FrameError] = []

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, *pairs: tuple[str, str]) -> None:
        await self.send_raw(encode(pairs))

    async def read(self, wait_s: float = 5.0) -> Message:
        """Next message from the server (fails the test on timeout or EOF)."""
        async with asyncio.timeout(wait_s):
            while not self.pending:
                data = await self.reader.read(65_536)
                if not data:
                    raise EOFError("server closed the connection")
                self.pending.extend(self.parser.feed(data))
        item = self.pending.pop(0)
        assert isinstance(item, Message), item
        return item

    async def read_until(self, predicate: Callable[[Message], bool]) -> list[Message]:
        """Messages up to and including the first one matching ``predicate``."""
        seen: list[Message] = []
        while True:
            message = await self.read()
            seen.append(message)
            if predicate(message):
                return seen

    async def action(self, *pairs: tuple[str, str]) -> Message:
        """Send an action and return the next Response (skipping events)."""
        await self.send(*pairs)
        (*_, response) = await self.read_until(lambda m: "Response" in m)
        return response

    async def login(
        self, user: str = "admin", secret: str = "s3cret", events: str = "on"
    ) -> Message:
        response = await self.action(
            ("Action", "Login"), ("Username", user), ("Secret", secret), ("Events", events)
        )
        assert response.get("Response") == "Success", response
        booted = await self.read()
        assert booted.get("Event") == "FullyBooted"
        return response

    async def md5_login(self, user: str, secret: str) -> Message:
        challenge = await self.action(("Action", "Challenge"), ("AuthType", "MD5"))
        key = hashlib.md5((challenge.get("Challenge") + secret).encode()).hexdigest()
        return await self.action(
            ("Action", "Login"), ("AuthType", "MD5"), ("Username", user), ("Key", key)
        )

    async def closed_by_server(self, wait_s: float = 5.0) -> bool:
        """True when the server closes the socket (after any frames still in flight)."""
        async with asyncio.timeout(wait_s):
            while await self.reader.read(65_536):
                pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def names(messages: Sequence[Message], key: str = "Event") -> list[str]:
    return [m.get(key) for m in messages]


async def assert_sim_only(client: RawClient, action: str, *fields: tuple[str, str]) -> None:
    """`action` is listed by the simulator that has it, and is unknown (as on a real Asterisk)
    to a server whose engine lacks it."""
    assert action in await client.action(("Action", "ListCommands"))
    async with serving(FakeEngine()) as fake:
        other = await RawClient.connect(fake.port)
        try:
            await other.login(events="off")
            assert action not in await other.action(("Action", "ListCommands"))
            refused = await other.action(("Action", action), *fields)
            assert refused.get("Message").startswith(f"Invalid/unknown command: {action}.")
        finally:
            await other.close()
