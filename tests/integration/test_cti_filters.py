"""Event filters over a real socket: the simulator's Filter action, and an agent's console on a
filtered session following whole calls while another agent's calls never reach it."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable

import pytest

from callkit.ami_frames import Message
from console.cti.ami import AmiClient
from console.cti.protocol import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    CallWaitMeasured,
    CtiEvent,
    EndReason,
    LinkState,
)
from console.cti.tracker import CallTracker
from tests.integration.ami_support import FakeEngine, RawClient, serving
from tests.integration.test_cti_client import (
    FAST,
    EventStream,
    MutePbx,
    is_link,
    of,
    only,
    until,
)
from tests.pbx import Pbx, running_pbx

SCENARIO = """
name = "filters"
[[queues]]
name = "support"
extension = "600"
timeout = 300
[[queues]]
name = "sales"
extension = "601"
timeout = 300
[[agents]]
interface = "PJSIP/1001"
name = "Alice"
kind = "phone"
queues = ["support"]
[[agents]]
interface = "PJSIP/1002"
name = "Bob"
kind = "phone"
queues = ["sales"]
[[agents]]
interface = "PJSIP/1003"
name = "Carol"
kind = "phone"
queues = ["support"]
"""
ALICE, BOB, CAROL = "PJSIP/1001", "PJSIP/1002", "PJSIP/1003"
USERS = {"agent": "s3cret"}


# The Filter action itself ----------------------------------------------------------------


async def test_filter_action_answers_and_filters_only_this_session() -> None:
    engine = FakeEngine()
    async with serving(engine) as server:
        filtered, full = await RawClient.connect(server.port), await RawClient.connect(server.port)
        for client in (filtered, full):
            await client.login()
        answer = await filtered.action(
            ("Action", "Filter"), ("ActionID", "f1"), ("Operation", "Add"),
            ("Filter", "Channel: PJSIP/1001-"),
        )  # fmt: skip
        assert list(answer.pairs) == [
            ("Response", "Success"),
            ("ActionID", "f1"),
            ("Message", "Success"),
        ]
        refused = await filtered.action(("Action", "Filter"), ("Operation", "Remove"))
        assert refused.get("Message") == "Unknown operation"
        bad = await filtered.action(("Action", "Filter"), ("Operation", "Add"), ("Filter", "a["))
        assert bad.get("Message") == (
            "Filter did not compile.  Check the syntax of the filter given."
        )

        engine.emit("Newchannel", [("Channel", "PJSIP/1002-00000009"), ("Uniqueid", "9")])
        engine.emit("Newchannel", [("Channel", "PJSIP/1001-0000000a"), ("Uniqueid", "10")])
        got = await filtered.read()
        assert (got.get("Event"), got.get("Uniqueid")) == ("Newchannel", "10")
        seen = [await full.read(), await full.read()]
        assert [m.get("Uniqueid") for m in seen] == ["9", "10"]  # the other session: all

        # Answers and their lists are never filtered (Asterisk writes them to the session).
        status = await filtered.action(("Action", "QueueStatus"), ("ActionID", "q"))
        assert status.get("EventList") == "start"
        items = await filtered.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
        assert {m.get("Event") for m in items} >= {"QueueParams", "QueueMember"}
        # Filters match Asterisk's text, Privilege line included.
        await filtered.action(
            ("Action", "Filter"), ("Operation", "Add"), ("Filter", "Privilege: agent")
        )
        engine.emit("QueueMemberPause", [("Queue", "sales"), ("Interface", "PJSIP/1003")])
        assert (await filtered.read()).get("Event") == "QueueMemberPause"


async def test_user_event_action_reaches_the_sessions_whose_filters_take_it() -> None:
    """Asterisk's UserEvent action (main/manager.c action_userevent): an ack, then
    ``Event: UserEvent`` with ``UserEvent: <name>`` first and the action's other headers."""
    engine = FakeEngine()
    async with serving(engine) as server:
        sender, alice, bob = [await RawClient.connect(server.port) for _ in range(3)]
        for client in (sender, alice, bob):
            await client.login()
        for client, device in ((alice, "PJSIP/1001"), (bob, "PJSIP/1002")):
            await client.action(
                ("Action", "Filter"), ("Operation", "Add"),
                ("Filter", f": {device}(-[^[:space:]]*)?[[:cntrl:]]"),
            )  # fmt: skip
        ack = await sender.action(
            ("Action", "UserEvent"), ("ActionID", "c1"), ("UserEvent", "CoachMessage"),
            ("Interface", "PJSIP/1001"),
        )  # fmt: skip
        assert list(ack.pairs) == [
            ("Response", "Success"),
            ("ActionID", "c1"),
            ("Message", "Event Sent"),
        ]
        got = await alice.read()
        assert list(got.pairs) == [
            ("Event", "UserEvent"),
            ("UserEvent", "CoachMessage"),
            ("Action", "UserEvent"),
            ("ActionID", "c1"),
            ("Interface", "PJSIP/1001"),
        ]
        assert (await sender.read()).get("UserEvent") == "CoachMessage"  # unfiltered: all
        assert (await bob.action(("Action", "Ping"))).get("Ping") == "Pong"  # nothing before


# An agent's console on a filtered session --------------------------------------------------


class Frames:
    """Every raw event frame a client received, to assert what its session was sent."""

    def __init__(self) -> None:
        self.frames: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.frames.append(message)

    def mentioning(self, text: str) -> list[Message]:
        return [m for m in self.frames if any(text in v for _k, v in m.pairs)]


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    async with running_pbx(SCENARIO, users=USERS) as sim:
        yield sim


def agent_client(port: int, frames: Frames, *, event_filter: bool = True) -> AmiClient:
    # on_frame here only records: the session is an agent's (tracker, filters), not a board.
    return AmiClient(
        "127.0.0.1",
        port,
        "agent",
        "s3cret",
        tracker=CallTracker(ALICE),
        timings=FAST,
        rng=random.Random(1),
        on_frame=frames,
        event_filter=event_filter,
    )


@contextlib.asynccontextmanager
async def consoles(
    pbx: Pbx, *, event_filter: bool = True
) -> AsyncIterator[tuple[AmiClient, EventStream, Frames, Frames]]:
    """Alice's filtered console and a wallboard's full-stream client (no tracker)."""
    mine, board = Frames(), Frames()
    alice = agent_client(pbx.port, mine, event_filter=event_filter)
    wall = AmiClient("127.0.0.1", pbx.port, "agent", "s3cret", timings=FAST, on_frame=board)
    stream = alice.events()
    await alice.start()
    await wall.start()
    try:
        await until(stream, is_link(LinkState.CONNECTED))
        await wall.wait_connected()
        yield alice, stream, mine, board
    finally:
        await alice.close()
        await wall.close()


async def until_frame(frames: Frames, predicate: Callable[[Message], bool]) -> Message:
    async with asyncio.timeout(3):
        while True:
            for m in frames.frames:
                if predicate(m):
                    return m
            await asyncio.sleep(0.01)


def agent_event(name: str, member: str) -> Callable[[Message], bool]:
    return lambda m: m.get("Event") == name and m.get("MemberName") == member


async def answered_call(pbx: Pbx, alice: AmiClient, stream: EventStream) -> CallOffered:
    pbx.ring("+14155550100", "Ann Caller", "support")
    offered = only(await until(stream, of(CallOffered)), CallOffered)[0]
    assert (await alice.sim_phone(ALICE, "answer")).ok
    await until(stream, of(CallAnswered))
    return offered


def ended(events: list[CtiEvent]) -> CallEnded:
    return only(events, CallEnded)[0]


async def test_another_agents_calls_never_reach_a_filtered_console(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, _stream, mine, board):
        assert alice.event_filter and alice.stats.filters_added >= 4
        pbx.ring("+14155550199", "Bo Caller", "sales")
        await until_frame(board, agent_event("AgentCalled", "Bob"))
        pbx.engine.phone(BOB, "answer")
        await until_frame(board, agent_event("AgentConnect", "Bob"))
        pbx.engine.phone(BOB, "hangup")
        await until_frame(board, agent_event("AgentComplete", "Bob"))
        # A round trip: what the PBX sent Alice's session before this answer has arrived.
        assert (await alice.send_action("Ping")).ok

        bobs = board.mentioning(BOB)
        assert len(bobs) >= 6  # the full stream has Bob's legs (so this test can fail)
        linkedid = next(m.get("Linkedid") for m in bobs if m.get("Linkedid"))
        assert mine.mentioning(BOB) == []
        assert mine.mentioning(linkedid) == []
        assert [m for m in mine.frames if m.get("Queue") == "sales"] == []


async def test_a_colleagues_callers_reach_it_only_when_they_abandon(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, stream, mine, board):
        paused = await alice.send_action(
            "QueuePause", Interface=ALICE, Queue="support", Paused="true", Reason="test"
        )
        assert paused.ok
        pbx.ring("+14155550177", "Cy Caller", "support")
        await until_frame(board, agent_event("AgentCalled", "Carol"))
        pbx.engine.phone(CAROL, "answer")
        await until_frame(board, agent_event("AgentConnect", "Carol"))
        # A second caller gives up while Carol talks and Alice is paused.
        pbx.ring("+14155550178", "Di Caller", "support")
        join = await until_frame(
            board,
            lambda m: m.get("Event") == "QueueCallerJoin" and m.get("CallerIDName") == "Di Caller",
        )
        pbx.engine.hangup(join.get("Channel"))
        await until_frame(board, lambda m: m.get("Event") == "QueueCallerAbandon")
        abandoned = only(await until(stream, of(CallAbandoned)), CallAbandoned)
        assert [e.caller_name for e in abandoned] == ["Di Caller"]  # a follow-up to make
        pbx.engine.phone(CAROL, "hangup")
        await until_frame(board, agent_event("AgentComplete", "Carol"))
        assert (await alice.send_action("Ping")).ok

        def support(frames: Frames) -> set[str]:
            return {m.get("Event") for m in frames.frames if m.get("Queue") == "support"}

        # The full stream has Carol's member events and every caller joining and leaving (so
        # this test can fail) ...
        assert {"AgentCalled", "AgentConnect", "QueueMemberStatus", "QueueCallerJoin"} <= support(
            board
        )
        assert "QueueCallerLeave" in support(board)
        # ... Alice's session only the abandon (a follow-up to make) and her own pause.
        assert support(mine) == {"QueueCallerAbandon", "QueueMemberPause"}
        assert mine.mentioning(CAROL) == []


async def test_an_offer_whose_join_it_did_not_hear_gets_the_wait_from_the_pbx() -> None:
    """Alice's session hears no caller join, so the offer cannot say how long the caller
    waited; the console asks the PBX (QueueStatus) and reports the caller's own Wait."""
    async with (
        running_pbx(SCENARIO, users=USERS, speed=20.0) as pbx,
        consoles(pbx) as (alice, stream, mine, board),
    ):
        for agent in (ALICE, CAROL):
            paused = await alice.send_action(
                "QueuePause", Interface=agent, Queue="support", Paused="true", Reason="test"
            )
            assert paused.ok
        pbx.ring("+14155550166", "Ed Caller", "support")
        join = await until_frame(board, lambda m: m.get("Event") == "QueueCallerJoin")
        joined = pbx.engine.clock.now()
        # The caller queues 10 s on the simulator's clock (20x real time).
        queued = asyncio.Event()
        pbx.engine.clock.call_later(10.0, queued.set)
        async with asyncio.timeout(10):
            await queued.wait()
        assert (
            await alice.send_action("QueuePause", Interface=ALICE, Queue="support", Paused="false")
        ).ok
        offer = only(await until(stream, of(CallOffered)), CallOffered)[0]
        assert offer.uniqueid == join.get("Uniqueid")
        assert offer.waited is None  # the join never reached this session
        measured = only(await until(stream, of(CallWaitMeasured)), CallWaitMeasured)[0]
        elapsed = pbx.engine.clock.now() - joined
        assert (measured.uniqueid, measured.queue, measured.interface) == (
            offer.uniqueid,
            "support",
            ALICE,
        )
        assert 10 <= measured.waited <= elapsed + 1
        assert alice.stats.waits_asked == 1
        assert [m for m in mine.frames if m.get("Event") == "QueueCallerJoin"] == []


async def test_a_filtered_console_follows_offer_answer_hold_resume_and_hangup(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, stream, mine, _board):
        offered = await answered_call(pbx, alice, stream)
        assert (await alice.sim_phone(ALICE, "hold")).ok
        await until(stream, of(CallHeld))
        assert (await alice.sim_phone(ALICE, "unhold")).ok
        await until(stream, of(CallResumed))
        # The caller hangs up: their own Hangup reaches Alice through the call's filter.
        assert (await alice.hangup(offered.channel)).ok
        end = ended(await until(stream, of(CallEnded)))
        assert (end.uniqueid, end.reason, end.answered) == (
            offered.uniqueid,
            EndReason.CALLER,
            True,
        )
        callers = [m for m in mine.frames if m.get("Channel") == offered.channel]
        assert "Hangup" in {m.get("Event") for m in callers}


async def test_a_filtered_console_sees_a_blind_transfer(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, stream, _mine, _board):
        offered = await answered_call(pbx, alice, stream)
        assert (await alice.blind_transfer(offered.agent_channel, "601")).ok
        events = await until(stream, of(CallEnded))
        (moved,) = only(events, CallTransferred)
        assert moved.target == "601" and ended(events).reason is EndReason.TRANSFER


async def test_a_filtered_console_sees_an_attended_transfer(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, stream, _mine, board):
        offered = await answered_call(pbx, alice, stream)
        assert (await alice.atxfer(offered.agent_channel, "601")).ok
        await until_frame(board, agent_event("AgentCalled", "Bob"))
        pbx.engine.phone(BOB, "answer")
        await until_frame(board, agent_event("AgentConnect", "Bob"))
        assert (await alice.sim_phone(ALICE, "hangup")).ok  # completes the transfer
        events = await until(stream, of(CallEnded))
        (moved,) = only(events, CallTransferred)
        assert moved.target == "601"
        assert (ended(events).uniqueid, ended(events).reason) == (
            offered.uniqueid,
            EndReason.TRANSFER,
        )


@pytest.mark.parametrize("event_filter", [True, False], ids=["filtered", "full"])
async def test_a_filtered_console_sees_ring_no_answer_and_abandon(
    pbx: Pbx, event_filter: bool
) -> None:
    async with consoles(pbx, event_filter=event_filter) as (alice, stream, _mine, _board):
        pbx.ring("+14155550100", "Ann Caller", "support")
        await until(stream, of(CallOffered))
        assert (await alice.sim_phone(ALICE, "hangup")).ok  # a rejection: no answer
        assert ended(await until(stream, of(CallEnded))).reason is EndReason.NO_ANSWER

        pbx.ring("+14155550101", "Al Caller", "support")
        offered = only(await until(stream, of(CallOffered)), CallOffered)
        caller = next(o for o in offered if o.caller_id == "+14155550101")
        assert (await alice.hangup(caller.channel)).ok  # the caller gives up while it rings
        end = ended(
            await until(
                stream, lambda e: isinstance(e, CallEnded) and e.uniqueid == caller.uniqueid
            )
        )
        assert end.reason is EndReason.ABANDONED


async def test_a_filtered_console_resyncs_after_a_reconnect(pbx: Pbx) -> None:
    async with consoles(pbx) as (alice, stream, _mine, _board):
        offered = await answered_call(pbx, alice, stream)
        before = alice.stats.filters_added
        await pbx.stop()
        await until(stream, is_link(LinkState.RECONNECTING))
        pbx.engine.phone(ALICE, "hold")  # while the console is blind
        await pbx.start()
        back = await until(stream, is_link(LinkState.CONNECTED), wait_s=5)
        assert only(back, CallHeld)[0].resync
        # A new session: its filters again, the live call's Linkedid among them.
        assert alice.stats.filters_added > before
        assert (await alice.hangup(offered.channel)).ok
        end = ended(await until(stream, of(CallEnded)))
        assert (end.reason, end.resync) == (EndReason.CALLER, False)


async def test_a_pbx_without_the_filter_action_gives_the_full_stream() -> None:
    server = MutePbx(list_commands=True, pongs=["pong"] * 100)  # "Invalid/unknown command"
    port = await server.start()
    try:
        client = agent_client(port, Frames())
        await client.start()
        await client.wait_connected()
        assert not client.event_filter  # refused: the full stream, without a reconnect
        assert (client.stats.filters_added, server.connections) == (0, 1)
        await client.close()
    finally:
        await server.close()


async def test_a_session_with_many_call_filters_is_renewed_when_the_agent_is_idle(
    pbx: Pbx,
) -> None:
    """Asterisk cannot remove a filter: past `max_call_filters` the session is renewed, only
    while the agent has no call, and the new session carries no old call's filter."""
    frames = Frames()
    alice = AmiClient(
        "127.0.0.1",
        pbx.port,
        "agent",
        "s3cret",
        tracker=CallTracker(ALICE),
        timings=FAST,
        rng=random.Random(1),
        on_frame=frames,
        event_filter=True,
        max_call_filters=2,
    )
    stream = alice.events()
    await alice.start()
    try:
        await until(stream, is_link(LinkState.CONNECTED))
        for n in range(3):
            offered = await answered_call(pbx, alice, stream)
            assert alice.stats.renewals == 0  # never during a call
            assert (await alice.hangup(offered.channel)).ok
            events = await until(stream, of(CallEnded))
            if n < 2:
                assert alice.stats.renewals == 0
        # The third call's filter made three: renewed once the call was over.
        await until(stream, is_link(LinkState.CONNECTED), wait_s=5)
        assert alice.stats.renewals == 1 and alice.stats.connections == 2
        assert events  # the last call ended before the renewal
        link = alice._link
        assert link is not None and not any(p.startswith("Linkedid: ") for p in link.filters)
        offered = await answered_call(pbx, alice, stream)  # and calls still reach the agent
        assert offered.interface == ALICE
    finally:
        await alice.close()
