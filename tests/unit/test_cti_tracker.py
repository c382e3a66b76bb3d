"""The call tracker from crafted AMI frames: life cycle, duplicates, disorder, junk, rebuild."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callkit.ami_frames import Message
from console.cti.protocol import (
    UNKNOWN_CALLER,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackRequested,
    CallEnded,
    CallEvent,
    CallHeld,
    CallOffered,
    CallResumed,
    CallState,
    CallTransferred,
    CoachMessageWaiting,
    CtiEvent,
    EndReason,
    OriginateFailed,
    QueueChanged,
    TrainingChanged,
    TranscriptLine,
)
from console.cti.tracker import CallTracker, Snapshot
from tests.unit.sim_helpers import build

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
AGENT = "PJSIP/1001"
CALLER = ("PJSIP/trunk-00000001", "1700000000.1")
LEG = ("PJSIP/1001-00000002", "1700000000.2")
OTHER_LEG = ("PJSIP/2001-00000003", "1700000000.3")
LINKED = "1700000000.1"
T = TypeVar("T")


class Clock:
    """A settable clock for the tracker's ``at``."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def chan(
    prefix: str,
    leg: tuple[str, str],
    *,
    num: str = "+14155550100",
    name: str = "Ann Caller",
    state: str = "6",
) -> list[tuple[str, str]]:
    """A channel block as Asterisk 20 (and the simulator) send it."""
    keys = ["Channel", "ChannelState", "CallerIDNum", "CallerIDName", "Uniqueid", "Linkedid"]
    values = [leg[0], state, num, name, leg[1], LINKED]
    return [(prefix + k, v) for k, v in zip(keys, values, strict=True)]


def ev(event: str, *blocks: Iterable[tuple[str, str]], **extra: str) -> Message:
    pairs: list[tuple[str, str]] = [("Event", event)]
    for block in blocks:
        pairs.extend(block)
    pairs.extend((k.replace("_", "-"), v) for k, v in extra.items())
    return Message(tuple(pairs))


def join(queue: str = "support") -> Message:
    return ev("QueueCallerJoin", chan("", CALLER), Queue=queue, Position="1", Count="1")


def leave(queue: str = "support") -> Message:
    return ev("QueueCallerLeave", chan("", CALLER), Queue=queue, Position="1", Count="0")


def agent(event: str, leg: tuple[str, str] = LEG, iface: str = AGENT, **extra: str) -> Message:
    return ev(
        event,
        chan("", CALLER),
        chan("Dest", leg, num=iface.rpartition("/")[2], name="Alice"),
        Queue="support",
        Interface=iface,
        MemberName="Alice" if iface == AGENT else "Bot",
        **extra,
    )


def hangup(leg: tuple[str, str], cause: str = "16", text: str = "Normal Clearing") -> Message:
    return ev("Hangup", chan("", leg), Cause=cause, Cause_txt=text)


def member(event: str, status: str = "1", paused: str = "0", reason: str = "") -> Message:
    return ev(
        event,
        Queue="support",
        MemberName="Alice",
        Interface=AGENT,
        Status=status,
        Paused=paused,
        PausedReason=reason,
        InCall="0",
    )


def feed(tracker: CallTracker, *messages: Message) -> list[CtiEvent]:
    out: list[CtiEvent] = []
    for message in messages:
        out.extend(tracker.feed(message))
    return out


def calls(events: Iterable[CtiEvent]) -> list[CallEvent]:
    """Only the call events, in order."""
    return [
        e
        for e in events
        if isinstance(
            e, CallOffered | CallAnswered | CallHeld | CallResumed | CallTransferred | CallEnded
        )
    ]


def kinds(events: Iterable[CtiEvent]) -> list[str]:
    return [type(e).__name__ for e in calls(events)]


def events_of(events: Iterable[CtiEvent], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> CallTracker:
    return CallTracker(AGENT, clock=clock)


def test_a_call_rings_is_answered_held_resumed_and_ended(
    tracker: CallTracker, clock: Clock
) -> None:
    feed(tracker, join())
    clock.advance(12)
    (offered,) = calls(feed(tracker, agent("AgentCalled")))
    assert isinstance(offered, CallOffered)
    assert (offered.uniqueid, offered.linkedid, offered.queue) == (CALLER[1], LINKED, "support")
    assert (offered.caller_id, offered.caller_name) == ("+14155550100", "Ann Caller")
    assert (offered.interface, offered.member_name) == (AGENT, "Alice")
    assert (offered.channel, offered.agent_channel) == (CALLER[0], LEG[0])
    assert offered.waited == pytest.approx(12.0)  # measured from the join we saw
    assert tracker.active_calls()[0].state is CallState.OFFERED

    events = feed(tracker, leave(), agent("AgentConnect", RingTime="3", HoldTime="15"))
    (answered,) = calls(events)
    assert isinstance(answered, CallAnswered)
    assert (answered.hold_time, answered.ring_time) == (15, 3)
    assert [e.waiting for e in events if isinstance(e, QueueChanged)] == [0]

    held = feed(tracker, ev("Hold", chan("", LEG), MusicClass="default"))
    assert kinds(held) == ["CallHeld"]
    assert tracker.active_calls()[0].state is CallState.HELD
    assert kinds(feed(tracker, ev("Unhold", chan("", LEG)))) == ["CallResumed"]

    done = agent("AgentComplete", HoldTime="15", TalkTime="60", Reason="agent")
    ended = calls(feed(tracker, done, hangup(LEG), hangup(CALLER)))
    assert len(ended) == 1 and isinstance(ended[0], CallEnded)
    end = ended[0]
    assert (end.reason, end.answered, end.cause, end.cause_text, end.talk_time) == (
        EndReason.AGENT,
        True,
        16,
        "Normal Clearing",
        60,
    )
    assert tracker.active_calls() == []


def test_without_queue_figures_a_colleagues_caller_is_no_event_yet_waits_are_measured(
    clock: Clock,
) -> None:
    """An agent's filtered session (queue_figures=False): a caller joining or leaving is no
    typed event at all (nothing for the console to wake up for), the offer still says how long
    the caller waited, and `queues()` still answers when asked."""
    quiet = CallTracker(AGENT, clock=clock, queue_figures=False)
    assert feed(quiet, join()) == []
    clock.advance(7)
    (offered,) = feed(quiet, agent("AgentCalled"))
    assert isinstance(offered, CallOffered) and offered.waited == pytest.approx(7.0)
    assert quiet.queues()["support"].waiting == 1
    events = feed(quiet, leave(), agent("AgentConnect", RingTime="3", HoldTime="7"))
    assert kinds(events) == ["CallAnswered"]
    assert quiet.queues()["support"].waiting == 0


def test_duplicate_frames_change_nothing(tracker: CallTracker) -> None:
    called, connect = agent("AgentCalled"), agent("AgentConnect", HoldTime="4")
    hold, unhold = ev("Hold", chan("", LEG)), ev("Unhold", chan("", LEG))
    events = feed(tracker, join(), join(), called, called, connect, connect, unhold)
    events += feed(tracker, hold, hold, unhold, unhold, hangup(LEG), hangup(LEG))
    assert kinds(events) == [
        "CallOffered",
        "CallAnswered",
        "CallHeld",
        "CallResumed",
        "CallEnded",
    ]
    assert tracker.stats.duplicates >= 5


def test_out_of_order_and_unknown_calls_are_ignored(tracker: CallTracker) -> None:
    # Hold before Connect, a Hangup for a call never seen, an Unhold out of nowhere.
    stray = ("PJSIP/trunk-000000ff", "1700000000.99")
    events = feed(
        tracker,
        ev("Hold", chan("", LEG)),
        hangup(stray),
        ev("Unhold", chan("", stray)),
        agent("AgentRingNoAnswer", RingTime="15000"),
    )
    assert calls(events) == []
    assert tracker.stats.ignored >= 2

    # AgentConnect whose AgentCalled was lost: an offer is synthesised first.
    events = feed(tracker, agent("AgentConnect", HoldTime="9"), ev("Hold", chan("", LEG)))
    assert kinds(events) == ["CallOffered", "CallAnswered", "CallHeld"]
    assert isinstance(events[0], CallOffered) and events[0].waited == 9

    # Frames about the leg after it ended are stale.
    feed(tracker, hangup(LEG))
    late = feed(tracker, agent("AgentConnect"), agent("AgentCalled"), ev("Unhold", chan("", LEG)))
    assert calls(late) == []
    assert tracker.active_calls() == []


def test_the_caller_hanging_up_first_ends_with_the_talk_time(tracker: CallTracker) -> None:
    feed(tracker, join(), agent("AgentCalled"), leave(), agent("AgentConnect"))
    assert calls(feed(tracker, hangup(CALLER))) == []  # AgentComplete still to come
    done = agent("AgentComplete", HoldTime="2", TalkTime="41", Reason="caller")
    (end,) = calls(feed(tracker, done, hangup(LEG)))
    assert isinstance(end, CallEnded)
    assert (end.reason, end.cause, end.talk_time) == (EndReason.CALLER, 16, 41)


def test_ring_no_answer_then_reoffer_on_a_new_leg(tracker: CallTracker) -> None:
    second_leg = ("PJSIP/1001-00000009", "1700000000.9")
    events = feed(
        tracker,
        join(),
        agent("AgentCalled"),
        agent("AgentRingNoAnswer", RingTime="15000"),
        hangup(LEG, "19", "No user responding"),
        agent("AgentCalled", second_leg),
    )
    assert kinds(events) == ["CallOffered", "CallEnded", "CallOffered"]
    end = events_of(events, CallEnded)[0]
    assert (end.reason, end.answered) == (EndReason.NO_ANSWER, False)
    assert tracker.active_calls()[0].agent_channel == second_leg[0]


def test_ringall_answered_elsewhere_and_other_agents_calls(tracker: CallTracker) -> None:
    events = feed(
        tracker,
        join(),
        agent("AgentCalled"),
        agent("AgentCalled", OTHER_LEG, iface="PJSIP/2001"),
        hangup(LEG, "26", "Answered elsewhere"),
        agent("AgentConnect", OTHER_LEG, iface="PJSIP/2001"),
        ev("Hold", chan("", OTHER_LEG)),
        agent("AgentComplete", OTHER_LEG, iface="PJSIP/2001", Reason="agent"),
    )
    assert kinds(events) == ["CallOffered", "CallEnded"]
    assert events_of(events, CallEnded)[0].reason is EndReason.ANSWERED_ELSEWHERE
    # The other agent's completion still counts for the queue.
    assert tracker.queues()["support"].completed == 1


def test_a_caller_abandoning_while_ringing(tracker: CallTracker) -> None:
    # The simulator's (and Asterisk's) order: the ring stops, then the abandon is reported.
    abandon = ev(
        "QueueCallerAbandon",
        chan("", CALLER),
        Queue="support",
        Position="1",
        OriginalPosition="1",
        HoldTime="33",
    )
    events = feed(tracker, join(), agent("AgentCalled"), hangup(LEG), abandon, abandon)
    events += feed(tracker, leave(), hangup(CALLER))
    assert kinds(events) == ["CallOffered", "CallEnded"]
    assert events_of(events, CallEnded)[0].reason is EndReason.CANCELLED
    (gone,) = events_of(events, CallAbandoned)
    assert (gone.uniqueid, gone.queue, gone.waited, gone.original_position) == (
        CALLER[1],
        "support",
        33,
        1,
    )
    assert tracker.queues()["support"].abandoned == 1
    assert tracker.queues()["support"].waiting == 0

    # Abandon reported before the ring stops: the end says so.
    other = CallTracker(AGENT)
    events = feed(other, join(), agent("AgentCalled"), abandon, hangup(LEG))
    assert events_of(events, CallEnded)[0].reason is EndReason.ABANDONED


def test_blind_transfer(tracker: CallTracker) -> None:
    transfer = ev(
        "BlindTransfer",
        [("Result", "Success")],
        chan("Transferer", LEG),
        chan("Transferee", CALLER),
        IsExternal="No",
        Context="from-internal",
        Extension="601",
    )
    done = agent("AgentComplete", TalkTime="20", Reason="transfer")
    events = feed(tracker, join(), agent("AgentCalled"), agent("AgentConnect"), transfer)
    events += feed(tracker, transfer, done, hangup(LEG), join("sales"))
    assert kinds(events) == ["CallOffered", "CallAnswered", "CallTransferred", "CallEnded"]
    (moved,) = events_of(events, CallTransferred)
    assert (moved.target, moved.context) == ("601", "from-internal")
    assert events_of(events, CallEnded)[0].reason is EndReason.TRANSFER
    assert tracker.queues()["sales"].waiting == 1


def test_unknown_malformed_and_garbage_frames_are_counted(tracker: CallTracker) -> None:
    events = feed(
        tracker,
        ev("FutureThing", Peer="PJSIP/1001"),
        ev("FutureThing", Peer="PJSIP/1002"),
        ev("Newchannel", chan("", CALLER)),
        Message((("Response", "Success"),)),  # not an event at all
        ev("AgentCalled", Queue="support", Interface=AGENT),  # no Uniqueid / DestUniqueid
        ev("QueueCallerJoin", Queue="support"),
        ev("QueueMemberStatus", Queue="support"),  # no Interface
    )
    assert events == []
    assert tracker.stats.unknown["FutureThing"] == 2
    assert tracker.stats.malformed == 4
    assert tracker.stats.ignored == 1
    # Unparseable numbers are None, not a crash.
    events = feed(tracker, agent("AgentConnect", HoldTime="soon", RingTime="-"))
    answered = events_of(events, CallAnswered)[0]
    assert (answered.hold_time, answered.ring_time) == (None, None)


def test_empty_caller_id_is_unknown(tracker: CallTracker) -> None:
    anonymous = Message((("Event", "AgentCalled"), *[(k, v) for k, v in chan("", CALLER)]))
    blank = Message(
        tuple(
            (k, "" if k.startswith("CallerID") else v)
            for k, v in agent("AgentCalled").pairs
            if k != "CallerIDName"
        )
    )
    assert calls(tracker.feed(anonymous)) == []  # no Interface: another agent's ring
    (offered,) = events_of(tracker.feed(blank), CallOffered)
    assert (offered.caller_id, offered.caller_name) == (UNKNOWN_CALLER, UNKNOWN_CALLER)


def test_agent_named_by_member_name_and_member_states(clock: Clock) -> None:
    tracker = CallTracker("Alice", clock=clock)
    events = feed(tracker, member("QueueMemberAdded"), member("QueueMemberStatus"))
    (state,) = events_of(events, AgentStateChanged)
    assert (state.interface, state.member_name, state.logged_in) == (AGENT, "Alice", True)
    assert (state.status, state.status_text) == (1, "Not in use")
    assert tracker.stats.duplicates == 1  # the identical status frame
    assert tracker.queues()["support"].available == 1

    paused = events_of(
        feed(tracker, member("QueueMemberPause", paused="1", reason="Lunch")), AgentStateChanged
    )
    assert (paused[0].paused, paused[0].reason) == (True, "Lunch")
    assert tracker.queues()["support"].available == 0
    assert tracker.queues()["support"].paused == 1

    # Calls for the member's interface are recognised through the learnt interface.
    assert kinds(feed(tracker, join(), agent("AgentCalled"))) == ["CallOffered"]
    removed = ev("QueueMemberRemoved", Queue="support", MemberName="Alice", Interface=AGENT)
    (gone,) = events_of(feed(tracker, removed), AgentStateChanged)
    assert gone.logged_in is False
    assert tracker.members() == []


def test_transcript_lines_follow_the_agents_call(tracker: CallTracker) -> None:
    say = ev(
        "UserEvent",
        chan("", CALLER),
        UserEvent="Transcript",
        Script="s1",
        Speaker="caller",
        Text="Hello, my card was charged twice",
    )
    assert feed(tracker, say) == []  # not the agent's call (yet)
    feed(tracker, join(), agent("AgentCalled"), agent("AgentConnect"))
    (line,) = events_of(feed(tracker, say), TranscriptLine)
    assert (line.uniqueid, line.speaker, line.text, line.script) == (
        CALLER[1],
        "caller",
        "Hello, my card was charged twice",
        "s1",
    )


def test_a_callback_request_is_reported_once_for_any_queue(tracker: CallTracker) -> None:
    request = ev(
        "UserEvent",
        chan("", CALLER),
        UserEvent="CallbackRequest",
        Queue="billing",
        Number="+14155550100",
        WaitTime="300",
    )
    (asked,) = events_of(feed(tracker, request), CallbackRequested)
    assert (asked.uniqueid, asked.queue, asked.number, asked.waited) == (
        CALLER[1],
        "billing",
        "+14155550100",
        300,
    )
    assert feed(tracker, request) == []  # a repeated frame (resync) is not a second request


def test_a_timestamp_header_dates_the_event(tracker: CallTracker) -> None:
    stamped = Message((*agent("AgentCalled").pairs, ("Timestamp", "1700000123.500000")))
    (offered,) = events_of(tracker.feed(stamped), CallOffered)
    assert offered.at == datetime.fromtimestamp(1700000123.5, UTC)


# Rebuild -----------------------------------------------------------------------------------


def snapshot(*, agent_state: str = "6", member_status: str = "2", waiting: bool = True) -> Snapshot:
    status = [
        ev(
            "QueueParams",
            Queue="support",
            Strategy="rrmemory",
            Calls="1",
            Holdtime="12",
            TalkTime="180",
            Completed="7",
            Abandoned="2",
            ServiceLevel="20",
            ServicelevelPerf="85.7",
            ServicelevelPerf2="75.0",
        ),
        ev(
            "QueueMember",
            Queue="support",
            Name="Alice",
            Location=AGENT,
            Status=member_status,
            Paused="0",
            PausedReason="",
            InCall="1",
        ),
    ]
    if waiting:
        status.append(
            ev(
                "QueueEntry",
                Queue="support",
                Position="1",
                Channel="PJSIP/trunk-00000007",
                Uniqueid="1700000000.7",
                CallerIDNum="+15550001111",
                CallerIDName="Bob",
                Wait="30",
            )
        )
    bridge = "b1" if agent_state == "6" else ""
    channels = [
        ev(
            "CoreShowChannel",
            chan("", CALLER),
            BridgeId=bridge,
            Application="Queue",
            ApplicationData="support",
        ),
        ev(
            "CoreShowChannel",
            chan("", LEG, num="1001", name="Alice", state=agent_state),
            BridgeId=bridge,
            Application="AppQueue",
            ApplicationData="(Outgoing Line)",
        ),
    ]
    return Snapshot(status, channels)


def test_rebuild_brings_back_a_held_call_and_the_queue(tracker: CallTracker, clock: Clock) -> None:
    events = tracker.rebuild(snapshot(member_status="8"))
    assert kinds(events) == ["CallOffered", "CallAnswered", "CallHeld"]
    assert all(e.resync for e in calls(events))
    offered = events_of(events, CallOffered)[0]
    assert (offered.queue, offered.caller_name, offered.member_name) == (
        "support",
        "Ann Caller",
        "Alice",
    )
    (queue,) = events_of(events, QueueChanged)
    assert (queue.waiting, queue.completed, queue.abandoned, queue.service_level_perf) == (
        1,
        7,
        2,
        85.7,
    )
    assert queue.oldest_joined_at == T0 - timedelta(seconds=30)
    assert queue.longest_wait_at(T0 + timedelta(seconds=5)) == 35
    assert [s.status_text for s in events_of(events, AgentStateChanged)] == ["On Hold"]

    # The same snapshot again: nothing happened to the call, so no call event.
    assert calls(tracker.rebuild(snapshot(member_status="8"))) == []
    # Unheld meanwhile.
    assert kinds(tracker.rebuild(snapshot(member_status="2"))) == ["CallResumed"]

    # Events the snapshot already reflects, replayed after it, are ignored...
    assert calls(feed(tracker, agent("AgentCalled"), agent("AgentConnect"))) == []
    # ...and live ones continue the call.
    assert kinds(feed(tracker, ev("Hold", chan("", LEG)))) == ["CallHeld"]

    # The call ended while the link was down.
    (end,) = calls(tracker.rebuild(Snapshot(snapshot().queue_status, [])))
    assert isinstance(end, CallEnded)
    assert (end.reason, end.answered, end.resync) == (EndReason.UNKNOWN, True, True)
    assert calls(feed(tracker, ev("Unhold", chan("", LEG)), hangup(LEG))) == []


def test_rebuild_of_a_ringing_call_and_refused_lists(tracker: CallTracker) -> None:
    events = tracker.rebuild(snapshot(agent_state="5", member_status="6", waiting=False))
    assert kinds(events) == ["CallOffered"]
    # The live AgentConnect that follows answers it.
    assert kinds(feed(tracker, agent("AgentConnect"))) == ["CallAnswered"]
    # A PBX refusing both lists (a replay) leaves everything as it was.
    assert tracker.rebuild(Snapshot(None, None)) == []
    assert tracker.active_calls()[0].state is CallState.CONNECTED


def test_rebuild_counts_malformed_items_and_drops_members(tracker: CallTracker) -> None:
    tracker.rebuild(snapshot())
    bad = [ev("QueueMember", Queue="support"), ev("QueueParams"), ev("CoreShowChannel")]
    events = tracker.rebuild(Snapshot(bad, bad))
    assert tracker.stats.malformed == 3
    (gone,) = events_of(events, AgentStateChanged)
    assert (gone.interface, gone.logged_in) == (AGENT, False)
    assert events_of(events, CallEnded)[0].reason is EndReason.UNKNOWN


# Property: any order, any repetition -------------------------------------------------------

LIFE = [
    join(),
    agent("AgentCalled"),
    leave(),
    agent("AgentConnect", HoldTime="3"),
    ev("Hold", chan("", LEG)),
    ev("Unhold", chan("", LEG)),
    agent("AgentComplete", TalkTime="9", Reason="caller"),
    hangup(CALLER),
    hangup(LEG),
    agent("AgentRingNoAnswer", RingTime="1000"),
    ev("BlindTransfer", chan("Transferer", LEG), chan("Transferee", CALLER), Extension="601"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(range(len(LIFE))), max_size=25))
def test_any_sequence_keeps_offers_and_ends_paired(order: list[int]) -> None:
    tracker = CallTracker(AGENT)
    events = calls(feed(tracker, *(LIFE[i] for i in order)))
    open_offer = False
    answered = False
    for event in events:
        if isinstance(event, CallOffered):
            assert not open_offer
            open_offer, answered = True, False
        elif isinstance(event, CallEnded):
            assert open_offer and event.answered == answered
            open_offer = False
        else:
            assert open_offer  # nothing happens to a call that was not offered
            if isinstance(event, CallAnswered):
                assert not answered
                answered = True
            elif isinstance(event, CallHeld | CallResumed | CallTransferred):
                assert answered
    assert len(tracker.active_calls()) == int(open_offer)


# The simulator's own event stream ----------------------------------------------------------


def test_the_simulators_events_drive_the_tracker() -> None:
    toml = """
[[queues]]
name = "q"
extension = "600"
[[agents]]
interface = "PJSIP/1001"
name = "Trainee"
kind = "phone"
queues = ["q"]
[[calls]]
at = 0
queue = "q"
number = "+14155550100"
name = "Ann Caller"
"""
    engine, _rec = build(toml)
    tracker = CallTracker("Trainee")
    events: list[CtiEvent] = []
    engine.add_listener(
        lambda name, fields: events.extend(tracker.feed(Message((("Event", name), *fields))))
    )
    engine.run_virtual(3)
    engine.phone("PJSIP/1001", "answer")
    engine.run_virtual(5)
    engine.phone("PJSIP/1001", "hold")
    engine.phone("PJSIP/1001", "unhold")
    engine.run_virtual(5)
    engine.phone("PJSIP/1001", "hangup")
    assert kinds(events) == ["CallOffered", "CallAnswered", "CallHeld", "CallResumed", "CallEnded"]
    offered = events_of(events, CallOffered)[0]
    assert (offered.caller_id, offered.caller_name, offered.queue) == (
        "+14155550100",
        "Ann Caller",
        "q",
    )
    assert offered.interface == "PJSIP/1001"
    end = events_of(events, CallEnded)[0]
    assert (end.reason, end.cause, end.talk_time) == (EndReason.AGENT, 16, 10)
    assert tracker.stats.unknown == {}
    assert tracker.stats.malformed == 0
    # The snapshot of the idle engine agrees: nothing to resync.
    snap = Snapshot(
        [Message((("Event", n), *f)) for n, f in engine.queue_status_items()],
        [Message((("Event", n), *f)) for n, f in engine.core_show_channels_items()],
    )
    assert calls(tracker.rebuild(snap)) == []


# Outbound (Originate) ------------------------------------------------------------------------


def originate_response(ok: bool, **extra: str) -> Message:
    fields = dict(
        ActionID="cc-1-7",
        Response="Success" if ok else "Failure",
        Channel=f"{AGENT}-0000000a" if ok else AGENT,
        Exten="+14155550100",
        Reason="4" if ok else "3",
        Uniqueid="1700000100.10" if ok else "<null>",
    )
    return ev("OriginateResponse", **(fields | extra))


def dial_end(status: str) -> Message:
    return ev(
        "DialEnd",
        Uniqueid="1700000100.10",
        DestUniqueid="1700000100.11",
        DialStatus=status,
    )


def test_an_originated_call_is_offered_as_outbound_and_ends_by_its_dial_status(
    tracker: CallTracker,
) -> None:
    (offered,) = events_of(feed(tracker, originate_response(True)), CallOffered)
    assert (offered.direction, offered.action_id, offered.caller_id) == (
        "outbound",
        "cc-1-7",
        "+14155550100",
    )
    assert feed(tracker, originate_response(True)) == []  # repeated: nothing new
    (ended,) = events_of(feed(tracker, dial_end("BUSY")), CallEnded)
    assert (ended.reason, ended.answered) == (EndReason.BUSY, False)


def test_an_answered_outbound_call_ends_when_a_leg_hangs_up(tracker: CallTracker) -> None:
    feed(tracker, originate_response(True))
    assert kinds(feed(tracker, dial_end("ANSWER"))) == ["CallAnswered"]
    assert feed(tracker, ev("Hangup", Uniqueid="1700000100.11", Cause="16")) == []
    (ended,) = events_of(feed(tracker, ev("Hangup", Uniqueid="1700000100.10")), CallEnded)
    assert (ended.reason, ended.answered) == (EndReason.CALLER, True)


def test_an_originate_that_never_reached_the_agent_is_reported_and_others_ignored(
    tracker: CallTracker,
) -> None:
    (failed,) = events_of(feed(tracker, originate_response(False)), OriginateFailed)
    assert (failed.action_id, failed.reason) == ("cc-1-7", 3)
    other = originate_response(True, Channel="PJSIP/2002-00000001")
    assert feed(tracker, other) == []  # another agent's phone


@pytest.mark.parametrize(
    "channel",
    ["PJSIP/1001-0000000a", "Local/1001@from-queue-0000abcd;1", "Local/1001@from-queue-0000abcd;2"],
)
def test_a_local_members_originate_is_recognised_by_its_phone_or_its_halves(channel: str) -> None:
    local = CallTracker("Local/1001@from-queue/n", state_interfaces=["PJSIP/1001"])
    (offered,) = events_of(feed(local, originate_response(True, Channel=channel)), CallOffered)
    assert offered.direction == "outbound"
    other = originate_response(True, Channel="Local/1002@from-queue-0000abce;1", Uniqueid="9.9")
    assert feed(local, other) == []  # another member's halves


def test_the_agents_device_is_learnt_from_its_member_frames() -> None:
    """Configured by member name only: QueueMember's Location/StateInterface name the rest."""
    local = CallTracker("Alice")
    member = ev(
        "QueueMemberStatus",
        Queue="support",
        MemberName="Alice",
        Interface="Local/1001@from-queue/n",
        StateInterface="PJSIP/1001",
        Status="1",
        Paused="0",
    )
    feed(local, member)
    assert local.lines.owns("PJSIP/1001-0000000a")
    assert local.lines.owns("Local/1001@from-queue-0000abcd;2")
    assert not local.lines.owns("PJSIP/1002-0000000b")


NOISE = [
    "Newexten",
    "VarSet",
    "RTCPSent",
    "RTCPReceived",
    "Cdr",
    "CEL",
    "DialState",
    "DeviceStateChange",
    "NewConnectedline",
    "LocalBridge",
    "BridgeCreate",
    "BridgeDestroy",
]


def test_a_real_pbxs_everyday_noise_is_ignored_not_unknown(tracker: CallTracker) -> None:
    for name in NOISE:
        assert feed(tracker, ev(name, Channel="PJSIP/3001-00000001", Uniqueid="1.1")) == []
    assert not tracker.stats.unknown
    assert tracker.stats.ignored == len(NOISE)


# Scripted calls and trainers' runs (simulator only) ------------------------------------------


def scripted_call(script: str = "s1", run: str = "", linked: str = LINKED) -> Message:
    block = [(k, linked if k == "Linkedid" else v) for k, v in chan("", CALLER)]
    extra = {"TrainingRun": run} if run else {}
    return ev("UserEvent", block, UserEvent="ScriptedCall", Script=script, Tier="", **extra)


def training(event: str, iface: str = AGENT, **fields: str) -> Message:
    values = {"RunId": "run-7", "Scenario": "drill", "Interface": iface, "Calls": "2"} | fields
    return ev("UserEvent", UserEvent=event, **{k: v for k, v in values.items() if v != "-"})


def test_a_scripted_calls_offers_name_the_script_and_run_until_the_call_ends(
    tracker: CallTracker,
) -> None:
    assert feed(tracker, scripted_call("needs-tier2", "run-7")) == []
    assert feed(tracker, scripted_call("needs-tier2", "run-7")) == []  # repeated: nothing new
    feed(tracker, join())
    (offered,) = events_of(feed(tracker, agent("AgentCalled")), CallOffered)
    assert (offered.script, offered.training_run) == ("needs-tier2", "run-7")
    feed(tracker, agent("AgentRingNoAnswer", RingTime="15000"))
    again = agent("AgentCalled", ("PJSIP/1001-00000004", "1700000000.4"))
    (reoffered,) = events_of(feed(tracker, again), CallOffered)
    assert (reoffered.script, reoffered.training_run) == ("needs-tier2", "run-7")
    feed(tracker, hangup(CALLER))
    # The call is over: a later call on the same Linkedid (ids restart) is not scripted.
    feed(tracker, join())
    later = agent("AgentCalled", ("PJSIP/1001-00000005", "1700000000.5"))
    (plain,) = events_of(feed(tracker, later), CallOffered)
    assert (plain.script, plain.training_run) == ("", "")


def test_a_scripted_call_outside_a_run_and_the_memory_bound(tracker: CallTracker) -> None:
    feed(tracker, scripted_call("lonely"))
    (offered,) = events_of(feed(tracker, join(), agent("AgentCalled")), CallOffered)
    assert (offered.script, offered.training_run) == ("lonely", "")
    # Thousands of scripted calls whose ends were never seen: the oldest are forgotten.
    for n in range(2000):
        feed(tracker, scripted_call(f"s{n}", "r", linked=f"1700009999.{n}"))
    feed(tracker, agent("AgentRingNoAnswer", RingTime="15000"))  # the call itself goes on
    later = agent("AgentCalled", ("PJSIP/1001-00000006", "1700000000.6"))
    (forgotten,) = events_of(feed(tracker, later), CallOffered)
    assert forgotten.script == ""
    assert tracker.stats.malformed == 0


def test_training_runs_on_the_agents_phone_become_training_changed(tracker: CallTracker) -> None:
    (started,) = events_of(feed(tracker, training("TrainingStarted")), TrainingChanged)
    assert started == TrainingChanged(
        run_id="run-7", scenario="drill", interface=AGENT, state="started", calls=2, at=T0
    )
    assert feed(tracker, training("TrainingStarted")) == []  # repeated
    assert feed(tracker, training("TrainingStarted", iface="PJSIP/2002")) == []  # not ours
    done = training("TrainingFinished", Reason="done")
    (finished,) = events_of(feed(tracker, done), TrainingChanged)
    assert (finished.state, finished.calls) == ("finished", 2)
    stop = training("TrainingFinished", RunId="run-8", Reason="stopped", Calls="two")
    (stopped,) = events_of(feed(tracker, stop), TrainingChanged)
    assert (stopped.run_id, stopped.state, stopped.calls) == ("run-8", "stopped", 0)
    bare = training("TrainingFinished", RunId="run-9", Calls="-", Scenario="-")
    (odd,) = events_of(feed(tracker, bare), TrainingChanged)  # no Reason, Calls or Scenario
    assert (odd.state, odd.calls, odd.scenario) == ("finished", 0, "")
    assert tracker.stats.malformed == 0


def test_a_training_run_on_the_simulator_reaches_the_tracker(tmp_path: Path) -> None:
    drill = tmp_path / "drill.toml"
    drill.write_text(
        """
name = "drill"
[[queues]]
name = "q"
[[calls]]
id = "first"
queue = "q"
number = "+14155550111"
hangup_after = 10
""",
        encoding="utf-8",
    )
    engine, _rec = build(
        '[[queues]]\nname = "q"\n[[agents]]\ninterface = "PJSIP/1001"\nkind = "phone"\n'
        'queues = ["q"]\n'
    )
    tracker = CallTracker(AGENT)
    events: list[CtiEvent] = []
    engine.add_listener(
        lambda name, fields: events.extend(tracker.feed(Message((("Event", name), *fields))))
    )
    engine.training_start(AGENT, str(drill), "run-1", 1)
    engine.run_virtual(2)
    engine.phone(AGENT, "answer")
    engine.run_virtual(20)
    changes = events_of(events, TrainingChanged)
    assert [(c.run_id, c.scenario, c.state, c.calls) for c in changes] == [
        ("run-1", "drill", "started", 1),
        ("run-1", "drill", "finished", 1),
    ]
    (offered,) = events_of(events, CallOffered)
    assert (offered.script, offered.training_run, offered.caller_id) == (
        "first",
        "run-1",
        "+14155550111",
    )
    names = [type(e).__name__ for e in events if isinstance(e, CallEnded | TrainingChanged)]
    assert names == ["TrainingChanged", "CallEnded", "TrainingChanged"]
    assert tracker.stats.unknown == {} and tracker.stats.malformed == 0


def test_a_campaign_call_carries_its_campaign_and_lead(tracker: CallTracker) -> None:
    """The dialer's CC_CAMPAIGN / CC_LEAD on the customer's channel reach the offer
    (``ChanVariable`` lines, manager_channels.c); the agent channel's ``DestChanVariable``
    lines and junk values are not taken."""
    caller = [*chan("", CALLER), ("ChanVariable", "CC_CAMPAIGN=7"), ("ChanVariable", "CC_LEAD=42")]
    dest = [*chan("Dest", LEG, num="1001", name="Alice"), ("DestChanVariable", "CC_CAMPAIGN=9")]
    called = ev("AgentCalled", caller, dest, Queue="support", Interface=AGENT, MemberName="Alice")
    (offered,) = events_of(feed(tracker, called), CallOffered)
    assert (offered.campaign, offered.lead) == ("7", "42")


def test_a_preview_dial_carries_its_campaign_on_the_originate_response(
    tracker: CallTracker,
) -> None:
    """An agent-first (preview) dial's variables are on the agent's leg; the OriginateResponse
    lists them as ``ChanVariable(<channel>): NAME=value`` (main/manager.c
    append_channel_vars()), and the outbound offer carries them."""
    leg = f"{AGENT}-0000000a"
    response = Message(
        (
            *originate_response(True).pairs,
            (f"ChanVariable({leg})", "CC_CAMPAIGN=3"),
            (f"ChanVariable({leg})", "CC_LEAD=11"),
        )
    )
    (offered,) = events_of(feed(tracker, response), CallOffered)
    assert (offered.direction, offered.campaign, offered.lead) == ("outbound", "3", "11")


def test_a_spy_originate_on_the_supervisors_phone_is_not_a_call(tracker: CallTracker) -> None:
    """ChanSpy started on this console's phone: an application Originate, whose
    OriginateResponse has an empty Exten (manager.c fast_originate()): no call is offered."""
    assert (
        events_of(feed(tracker, originate_response(True, Exten="", Context="")), CallOffered) == []
    )


def test_a_callback_originate_has_no_campaign(tracker: CallTracker) -> None:
    (offered,) = events_of(feed(tracker, originate_response(True)), CallOffered)
    assert (offered.campaign, offered.lead) == ("", "")


@pytest.mark.parametrize(
    "variables",
    [[], [("DestChanVariable", "CC_CAMPAIGN=7"), ("DestChanVariable", "CC_LEAD=1")],
     [("ChanVariable", "CC_CAMPAIGN=7; DROP"), ("ChanVariable", "CC_LEAD=1")],
     [("ChanVariable", "CC_CAMPAIGN=7")],
     [("ChanVariable", "CC_CAMPAIGN=\u00b2"), ("ChanVariable", "CC_LEAD=1")]],  # isdigit, not int
)  # fmt: skip
def test_an_inbound_call_has_no_campaign(
    tracker: CallTracker, variables: list[tuple[str, str]]
) -> None:
    called = ev(
        "AgentCalled", [*chan("", CALLER), *variables], chan("Dest", LEG, num="1001"),
        Queue="support", Interface=AGENT, MemberName="Alice",
    )  # fmt: skip
    (offered,) = events_of(feed(tracker, called), CallOffered)
    assert (offered.campaign, offered.lead) == ("", "")


def test_callers_the_agent_never_had_are_forgotten_when_they_leave_the_queue() -> None:
    """An agent's console hears every caller of its queues join and leave (its event filter)
    but only its own calls' hang-ups: a shift's other callers must not pile up in the tracker
    (they did: 25,000 records in one bench process, walked on every event)."""
    clock = Clock()
    tracker = CallTracker(AGENT, clock=clock)
    for n in range(300):
        caller = (f"PJSIP/trunk-{n:08x}", f"1700001000.{n}")
        block = chan("", caller)
        feed(tracker, ev("QueueCallerJoin", block, Queue="support", Position="1", Count="1"))
        if n % 3 == 0:  # gave up waiting (Asterisk sends the abandon, then the leave)
            feed(tracker, ev("QueueCallerAbandon", block, Queue="support", Position="1"))
        if n % 5 == 0:  # rang here first, unanswered, then a colleague took it
            ring = (f"PJSIP/1001-{n:08x}", f"1700002000.{n}")
            feed(
                tracker,
                ev("AgentCalled", block, chan("Dest", ring), Queue="support", Interface=AGENT),
                ev(
                    "AgentRingNoAnswer", block, chan("Dest", ring), Queue="support", Interface=AGENT
                ),
            )
        feed(tracker, ev("QueueCallerLeave", block, Queue="support", Position="1", Count="0"))
        clock.advance(1)
    assert tracker.followed_callers == 0
    # The agent's own call stays followed after its caller leaves the queue for the agent.
    feed(tracker, join(), agent("AgentCalled"), agent("AgentConnect"), leave())
    assert tracker.followed_callers == 1
    assert [c.state for c in tracker.active_calls()] == [CallState.CONNECTED]


def test_an_offer_without_a_join_heard_takes_the_wait_the_last_snapshot_listed(
    tracker: CallTracker, clock: Clock
) -> None:
    """An agent's filtered session hears no caller join; a caller the resync's QueueStatus
    listed (Wait 30) and offered 5 s later waited 35 s. One neither heard nor listed: unknown
    (the client then asks the PBX, console/cti/wait_probe.py)."""
    listed = [
        ev("QueueParams", Queue="support", Strategy="rrmemory", Calls="1"),
        ev("QueueEntry", Queue="support", Position="1", Uniqueid=CALLER[1], Wait="30"),
    ]
    tracker.rebuild(Snapshot(listed, []))
    clock.advance(5)
    (offered,) = events_of(tracker.feed(agent("AgentCalled")), CallOffered)
    assert offered.waited == 35

    fresh = CallTracker(AGENT, clock=clock)
    (unknown,) = events_of(fresh.feed(agent("AgentCalled")), CallOffered)
    assert unknown.waited is None


def test_the_coach_doorbell_for_this_agent_is_an_event_anothers_is_ignored(
    tracker: CallTracker,
) -> None:
    """A supervisor's console rings ``UserEvent: CoachMessage`` with the agent's interface (as
    the UserEvent action echoes it, Action and ActionID included)."""
    ring = ev("UserEvent", UserEvent="CoachMessage", Action="UserEvent", Interface=AGENT)
    (waiting,) = events_of(tracker.feed(ring), CoachMessageWaiting)
    assert waiting.interface == AGENT
    other = ev("UserEvent", UserEvent="CoachMessage", Interface="PJSIP/2001")
    assert tracker.feed(other) == []
