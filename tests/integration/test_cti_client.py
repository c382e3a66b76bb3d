"""The console's AMI client against the real simulator over a real socket (and a mute server).

The simulator runs in-process (engine + AmiServer on a free port); "killing" the PBX closes its
AMI server while the engine, and so the call, stays up, as when Asterisk's manager restarts or
the network drops; the restart listens on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

import pytest

from callkit.ami_frames import FrameParser, Message, encode
from console.cti.ami import (
    AmiAuthError,
    AmiClient,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimings,
    AmiUnsupported,
    Backoff,
    EventStream,
)
from console.cti.protocol import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallState,
    CallTransferred,
    CallWaitMeasured,
    CtiEvent,
    EndReason,
    LinkState,
    LinkStateChanged,
    QueueChanged,
)
from console.cti.tracker import CallTracker
from tests.pbx import Pbx as SimPbx

USERS = {"agent": "s3cret"}
AGENT = "PJSIP/1001"
SCENARIO = """
name = "cti-client"
[[queues]]
name = "support"
extension = "600"
timeout = 300
[[queues]]
name = "sales"
extension = "601"
[[agents]]
interface = "PJSIP/1001"
name = "Alice"
kind = "phone"
queues = ["support"]
"""
FAST = AmiTimings(
    connect_timeout=2.0,
    action_timeout=2.0,
    ping_interval=0.2,
    ping_timeout=0.5,
    stable_after=5.0,
    backoff=Backoff(initial=0.02, cap=0.1, jitter=0.5),
)
E = TypeVar("E")


class Pbx(SimPbx):
    """The simulator with this module's scenario (Alice's phone at PJSIP/1001 in support)."""

    def __init__(self, *, sim_phone: bool = True) -> None:
        super().__init__(SCENARIO, sim_phone=sim_phone, users=USERS)

    def ring(self) -> None:  # type: ignore[override]
        """A caller dials the support queue; the phone at PJSIP/1001 rings."""
        super().ring("+14155550100", "Ann Caller")


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    sim = Pbx()
    await sim.start()
    stop = asyncio.Event()
    runner = asyncio.create_task(sim.engine.run(stop))
    try:
        yield sim
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
        if sim.server is not None:
            await sim.stop()


def make_client(port: int, secret: str = "s3cret", **kwargs: object) -> AmiClient:
    """An agent's client as the console builds it: on a filtered session (AMI Filter)."""
    kwargs.setdefault("event_filter", True)
    return AmiClient(
        "127.0.0.1",
        port,
        "agent",
        secret,
        tracker=CallTracker(AGENT),
        timings=FAST,
        rng=random.Random(1),
        **kwargs,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[EventStream]:
    stream = client.events()
    try:
        await client.start()
        yield stream
    finally:
        await client.close()


async def until(
    stream: EventStream, predicate: Callable[[CtiEvent], bool], wait_s: float = 3.0
) -> list[CtiEvent]:
    """Events from ``stream`` up to and including the first matching ``predicate``."""
    seen: list[CtiEvent] = []
    async with asyncio.timeout(wait_s):
        async for event in stream:
            seen.append(event)
            if predicate(event):
                return seen
    raise AssertionError(f"stream ended before the expected event; saw {seen}")


def is_link(state: LinkState) -> Callable[[CtiEvent], bool]:
    return lambda e: isinstance(e, LinkStateChanged) and e.state is state


def of(kind: type[E]) -> Callable[[CtiEvent], bool]:
    return lambda e: isinstance(e, kind)


def only(events: list[CtiEvent], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def call_kinds(events: list[CtiEvent]) -> list[str]:
    names = {"CallOffered", "CallAnswered", "CallHeld", "CallResumed", "CallEnded"}
    return [type(e).__name__ for e in events if type(e).__name__ in names]


async def test_login_and_a_whole_call_driven_through_simphone(pbx: Pbx) -> None:
    client = make_client(pbx.port)
    async with running(client) as stream:
        up = await until(stream, is_link(LinkState.CONNECTED))
        assert up[-1].sim_phone is True  # type: ignore[union-attr]
        assert client.capabilities.sim_phone

        pbx.ring()
        seen = await until(stream, of(CallOffered))
        offered = only(seen, CallOffered)[0]
        assert (offered.caller_id, offered.caller_name, offered.queue) == (
            "+14155550100",
            "Ann Caller",
            "support",
        )
        assert (offered.interface, offered.member_name) == (AGENT, "Alice")
        assert offered.agent_channel.startswith("PJSIP/1001-")
        # The filtered session did not hear the caller join: the PBX says how long they waited.
        assert offered.waited is None
        measured = only(await until(stream, of(CallWaitMeasured)), CallWaitMeasured)[0]
        assert (measured.uniqueid, measured.queue) == (offered.uniqueid, "support")
        assert 0 <= measured.waited <= 2  # rung at once: no member was busy or paused

        assert (await client.sim_phone(AGENT, "answer")).ok
        answered = only(await until(stream, of(CallAnswered)), CallAnswered)[0]
        assert answered.uniqueid == offered.uniqueid
        assert (await client.sim_phone(AGENT, "hold")).ok
        await until(stream, of(CallHeld))
        assert client_call_state(client) is CallState.HELD
        assert (await client.sim_phone(AGENT, "unhold")).ok
        await until(stream, of(CallResumed))
        assert (await client.sim_phone(AGENT, "hangup")).ok
        end = only(await until(stream, of(CallEnded)), CallEnded)[0]
        assert (end.uniqueid, end.reason, end.answered, end.cause) == (
            offered.uniqueid,
            EndReason.AGENT,
            True,
            16,
        )

        refused = await client.sim_phone(AGENT, "hold")  # no call any more
        assert not refused.ok and refused.message == "No call in progress"


def client_call_state(client: AmiClient) -> CallState | None:
    tracker = client.tracker
    assert tracker is not None
    active = tracker.active_calls()
    return active[0].state if active else None


async def test_concurrent_actions_get_their_own_answers(pbx: Pbx) -> None:
    pbx.ring()
    client = make_client(pbx.port)
    async with running(client):
        await client.wait_connected()
        results = await asyncio.gather(
            client.send_action("QueueStatus", Queue="support"),
            client.send_action("QueueStatus", Queue="sales"),
            client.send_action("CoreShowChannels"),
            client.send_action("QueueSummary"),
            client.send_action("NoSuchThing"),
            *(client.send_action("Ping") for _ in range(10)),
        )
        support, sales, channels, summary, unknown, *pings = results
        assert {m.get("Queue") for m in support.items} == {"support"}
        assert [m.get("Event") for m in support.items] == [
            "QueueParams",
            "QueueMember",
            "QueueEntry",
        ]
        assert [m.get("Event") for m in sales.items] == ["QueueParams"]
        assert sales.complete is not None and sales.complete.get("ListItems") == "1"
        assert {m.get("Event") for m in channels.items} == {"CoreShowChannel"}
        assert len(channels.items) == 2  # the caller's leg and the ringing phone's
        assert sorted(m.get("Queue") for m in summary.items) == ["sales", "support"]
        assert not unknown.ok and unknown.message.startswith("Invalid/unknown command")
        assert all(p.ok and p.response.get("Ping") == "Pong" for p in pings)
        ids = [r.response.get("ActionID") for r in results]
        assert len(set(ids)) == len(ids)
        # Every list item carries its own action's ActionID.
        assert {m.get("ActionID") for m in support.items} == {support.response.get("ActionID")}


async def test_server_restart_mid_call_reconnects_and_resyncs(pbx: Pbx) -> None:
    client = make_client(pbx.port)
    async with running(client) as stream:
        await until(stream, is_link(LinkState.CONNECTED))
        pbx.ring()
        await until(stream, of(CallOffered))
        await client.sim_phone(AGENT, "answer")
        await until(stream, of(CallAnswered))

        await pbx.stop()  # the AMI link drops; the call itself stays up in the PBX
        down = await until(stream, is_link(LinkState.RECONNECTING))
        assert down[-1].retry_in is not None  # type: ignore[union-attr]
        with pytest.raises(AmiNotConnected):
            await client.send_action("Ping")
        assert client_call_state(client) is CallState.CONNECTED  # still shown meanwhile
        pbx.engine.phone(AGENT, "hold")  # happens while the console is blind

        await pbx.start()
        back = await until(stream, is_link(LinkState.CONNECTED), wait_s=5)
        # Only what changed comes back: the hold, flagged as found on resync.
        assert call_kinds(back) == ["CallHeld"]
        assert only(back, CallHeld)[0].resync
        assert client_call_state(client) is CallState.HELD
        assert client.stats.connections == 2

        await client.sim_phone(AGENT, "hangup")
        end = only(await until(stream, of(CallEnded)), CallEnded)[0]
        assert (end.reason, end.resync) == (EndReason.AGENT, False)


async def test_a_call_that_ended_during_the_outage_is_closed_on_resync(pbx: Pbx) -> None:
    client = make_client(pbx.port)
    async with running(client) as stream:
        pbx.ring()
        await until(stream, of(CallOffered))
        await client.sim_phone(AGENT, "answer")
        await until(stream, of(CallAnswered))
        await pbx.stop()
        await until(stream, is_link(LinkState.RECONNECTING))
        pbx.engine.phone(AGENT, "hangup")
        await pbx.start()
        back = await until(stream, is_link(LinkState.CONNECTED), wait_s=5)
        (end,) = only(back, CallEnded)
        assert (end.reason, end.answered, end.resync) == (EndReason.UNKNOWN, True, True)
        assert client_call_state(client) is None


async def test_a_console_started_mid_call_shows_the_call(pbx: Pbx) -> None:
    pbx.ring()
    pbx.engine.phone(AGENT, "answer")
    client = make_client(pbx.port)
    async with running(client) as stream:
        events = await until(stream, is_link(LinkState.CONNECTED))
        assert call_kinds(events) == ["CallOffered", "CallAnswered"]
        offered = only(events, CallOffered)[0]
        assert offered.resync and offered.caller_id == "+14155550100"
        assert offered.queue == "support" and offered.member_name == "Alice"
        # The standard Hangup action (what works on Asterisk too) on the agent's leg.
        assert (await client.hangup(offered.agent_channel)).ok
        end = only(await until(stream, of(CallEnded)), CallEnded)[0]
        assert (end.uniqueid, end.reason, end.resync) == (offered.uniqueid, EndReason.AGENT, False)


async def test_a_redirect_transfers_the_caller_to_another_queue(pbx: Pbx) -> None:
    client = make_client(pbx.port)
    async with running(client) as stream:
        pbx.ring()
        offered = only(await until(stream, of(CallOffered)), CallOffered)[0]
        await client.sim_phone(AGENT, "answer")
        await until(stream, of(CallAnswered))
        assert (await client.redirect(offered.channel, "601")).ok
        events = await until(stream, of(CallEnded))
        assert call_kinds(events) == ["CallEnded"]
        (moved,) = only(events, CallTransferred)
        assert moved.target == "601" and moved.uniqueid == offered.uniqueid
        assert only(events, CallEnded)[0].reason is EndReason.TRANSFER
        sales = await until(stream, lambda e: isinstance(e, QueueChanged) and e.queue == "sales")
        assert only(sales, QueueChanged)[-1].waiting == 1


async def test_a_wrong_password_is_one_clear_error_and_no_retry_storm(pbx: Pbx) -> None:
    client = make_client(pbx.port, secret="wrong")
    stream = client.events()
    with pytest.raises(AmiAuthError, match="Authentication failed"):
        await client.start()
    assert client.link_state.state is LinkState.DOWN
    assert "Authentication failed" in client.link_state.detail
    await asyncio.sleep(0.3)  # many backoff periods
    assert client.stats.connect_attempts == 1
    with pytest.raises(AmiAuthError):
        await client.wait_connected()
    await client.close()
    states = [e for e in [e async for e in stream] if isinstance(e, LinkStateChanged)]
    assert [s.state for s in states] == [LinkState.DOWN]  # the auth failure, kept


async def test_starting_before_the_pbx_is_up(pbx: Pbx) -> None:
    port = pbx.port
    await pbx.stop()
    client = make_client(port)
    async with running(client) as stream:
        assert client.link_state.state is LinkState.RECONNECTING
        assert "connection refused" in client.link_state.detail
        retries = [
            e
            for _ in range(3)
            for e in await until(stream, is_link(LinkState.RECONNECTING))
            if isinstance(e, LinkStateChanged)
        ]
        # Backing off: counted attempts, capped delays, one "since" for the whole outage.
        assert [r.attempt for r in retries] == [1, 2, 3]
        assert all(r.retry_in is not None and r.retry_in <= FAST.backoff.cap for r in retries)
        assert len({r.since for r in retries}) == 1
        await pbx.start()
        async with asyncio.timeout(5):
            await client.wait_connected()
        assert only(await until(stream, is_link(LinkState.CONNECTED)), LinkStateChanged)


async def test_a_pbx_without_simphone_disables_call_control() -> None:
    pbx = Pbx(sim_phone=False)
    await pbx.start()
    try:
        client = make_client(pbx.port)
        async with running(client) as stream:
            up = await until(stream, is_link(LinkState.CONNECTED))
            assert up[-1].sim_phone is False  # type: ignore[union-attr]
            assert "queuestatus" in client.capabilities.actions
            with pytest.raises(AmiUnsupported):
                await client.sim_phone(AGENT, "answer")
            # Standard actions still work: the agent takes a break.
            assert (await client.queue_pause(AGENT, True, reason="Lunch")).ok
            paused = only(await until(stream, of(AgentStateChanged)), AgentStateChanged)[-1]
            assert (paused.interface, paused.paused, paused.reason) == (AGENT, True, "Lunch")
    finally:
        await pbx.stop()


# A PBX that stops talking --------------------------------------------------------------------


class MutePbx:
    """A minimal AMI server: logs in, answers the resync, then never answers a Ping.

    ``list_commands`` False refuses ListCommands so the client must probe SimPhone, which this
    server, like Asterisk, does not know. It also sends one malformed frame after login.
    """

    def __init__(self, *, list_commands: bool, pongs: Sequence[str] = ()) -> None:
        self.list_commands = list_commands
        # How the first pings are answered ("garbage", "error", "pong"); silence after them.
        self.pongs = list(pongs)
        self.connections = 0
        self.pings = 0
        self.probed_simphone = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 1)

    def _answer(self, request: Message) -> list[list[tuple[str, str]]]:
        action_id = ("ActionID", request.get("ActionID"))
        name = request.get("Action").lower()
        ok = [("Response", "Success"), action_id]
        if name == "login":
            return [[*ok, ("Message", "Authentication accepted")]]
        if name == "listcommands" and self.list_commands:
            return [[*ok, ("Ping", "Keepalive command.  (Priv: <none>)")]]
        if name in ("queuestatus", "coreshowchannels"):
            complete = (
                "QueueStatusComplete" if name == "queuestatus" else "CoreShowChannelsComplete"
            )
            return [
                [*ok, ("EventList", "start"), ("Message", "will follow")],
                [("Event", complete), action_id, ("EventList", "Complete"), ("ListItems", "0")],
            ]
        if name == "ping":
            self.pings += 1
            how = self.pongs.pop(0) if self.pongs else "silence"
            if how == "pong":
                return [[*ok, ("Ping", "Pong")]]
            if how == "error":
                return [[("Response", "Error"), action_id, ("Message", "Permission denied")]]
            if how == "garbage":
                # Names the Ping's ActionID, but a line over the 8 KB limit makes it unreadable.
                return [[*ok, ("Ping", "x" * 9000)]]
            return []  # the silence under test
        if name == "simphone":
            self.probed_simphone = True
        error = f"Invalid/unknown command: {request.get('Action')}."
        if name == "listcommands":
            error = "Permission denied"
        return [[("Response", "Error"), action_id, ("Message", error)]]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        parser = FrameParser()
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while data := await reader.read(65536):
                for request in parser.feed(data):
                    assert isinstance(request, Message)
                    for reply in self._answer(request):
                        writer.write(encode(reply))
                    if request.get("Action").lower() == "login":
                        writer.write(b"this line has no colon\r\n\r\n")
                        writer.write(b"Event: Mystery\r\nFoo: bar\r\n\r\n")
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.fixture(params=[True, False], ids=["listcommands", "probe"])
async def mute(request: pytest.FixtureRequest) -> AsyncIterator[tuple[MutePbx, int]]:
    server = MutePbx(list_commands=request.param)
    port = await server.start()
    try:
        yield server, port
    finally:
        await server.close()


async def test_keepalive_drops_a_silent_server_and_reconnects(
    mute: tuple[MutePbx, int],
) -> None:
    server, port = mute
    client = make_client(port)
    async with running(client) as stream:
        up = await until(stream, is_link(LinkState.CONNECTED))
        assert up[-1].sim_phone is False  # type: ignore[union-attr]
        assert server.probed_simphone is not server.list_commands
        # The malformed frame was counted, the unknown event too; the link stayed up.
        assert client.stats.malformed_frames == 1
        assert client.tracker is not None and client.tracker.stats.unknown["Mystery"] == 1

        in_flight = asyncio.create_task(client.send_action("Ping"))
        down = await until(stream, is_link(LinkState.RECONNECTING), wait_s=3)
        assert "no Pong" in down[-1].detail  # type: ignore[union-attr]
        with pytest.raises(AmiConnectionLost):  # not answered later by a new link
            await in_flight
        assert client.stats.missed_pongs == 1 and server.pings >= 1
        await until(stream, is_link(LinkState.CONNECTED), wait_s=3)
        assert server.connections == 2


async def test_keepalive_goes_on_after_unreadable_and_error_answers() -> None:
    """Any answer proves the PBX alive, a garbled one too; a later hang is still detected."""
    server = MutePbx(list_commands=True, pongs=["garbage", "error", "pong"])
    port = await server.start()
    try:
        client = make_client(port)
        async with running(client) as stream:
            await until(stream, is_link(LinkState.CONNECTED))
            down = await until(stream, is_link(LinkState.RECONNECTING), wait_s=10)
            assert "no Pong" in down[-1].detail  # type: ignore[union-attr]
            # The three answered pings, then the one nobody answered.
            assert server.pings == 4
            assert (client.stats.bad_pongs, client.stats.missed_pongs) == (1, 1)
    finally:
        await server.close()


def test_backoff_doubles_up_to_the_cap_with_jitter_below_it() -> None:
    backoff = Backoff(initial=0.5, cap=30.0, jitter=0.5)
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(12)]
    for n, delay in enumerate(delays):
        base = min(30.0, 0.5 * 2**n)
        assert base / 2 <= delay <= base
    assert max(delays) <= 30.0
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jittered, not in lockstep
