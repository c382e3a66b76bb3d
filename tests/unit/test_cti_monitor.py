"""MonitorTracker (frames → spy and recording events) and the agent's listening notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callkit.ami_frames import Message
from console.cti.monitor import (
    ChannelGone,
    MemberLeft,
    MonitorFeed,
    MonitorTracker,
    RecordingStarted,
    SpyAnswered,
    SpyStarted,
    SpyStopped,
)
from console.services.quality.call_recording import RecordingState, recording_reference
from console.services.quality.listening import SupervisorListening


def frame(event: str, **fields: str) -> Message:
    return Message((("Event", event), *fields.items()))


SPY_START = frame(
    "ChanSpyStart",
    SpyerChannel="PJSIP/2001-00000009",
    SpyerUniqueid="1.9",
    SpyeeChannel="PJSIP/1001-00000002",
    SpyeeUniqueid="1.2",
    SpyeeLinkedid="1.1",
)
SPY_STOP = frame("ChanSpyStop", SpyerChannel="PJSIP/2001-00000009", SpyerUniqueid="1.9")


def test_spy_frames_become_events_and_others_are_ignored() -> None:
    tracker = MonitorTracker()
    (started,) = tracker.feed(SPY_START)
    assert isinstance(started, SpyStarted) and started.spyee_channel == "PJSIP/1001-00000002"
    assert started.linkedid == "1.1"
    (stopped,) = tracker.feed(SPY_STOP)
    assert isinstance(stopped, SpyStopped) and stopped.spyer_channel == "PJSIP/2001-00000009"
    assert tracker.feed(frame("Newstate", Channel="PJSIP/2001-00000009")) == []
    assert tracker.feed(frame("ChanSpyStart", SpyerChannel="x")) == []  # no spyee: malformed


def test_originate_answers_and_hangups_only_when_asked_for() -> None:
    tracker = MonitorTracker()
    answer = frame(
        "OriginateResponse", ActionID="cc-1", Response="Success", Channel="PJSIP/2001-1", Reason="4"
    )
    assert tracker.feed(answer) == []  # not expected
    tracker.expect("cc-1")
    (answered,) = tracker.feed(answer)
    assert isinstance(answered, SpyAnswered) and answered.ok and answered.channel == "PJSIP/2001-1"
    assert tracker.feed(answer) == []  # once
    (gone,) = tracker.feed(frame("Hangup", Channel="PJSIP/2001-1", Uniqueid="1.5", Cause="16"))
    assert isinstance(gone, ChannelGone)  # the answered spyer is watched
    assert tracker.feed(frame("Hangup", Channel="PJSIP/3003-1")) == []
    (left,) = tracker.feed(frame("QueueMemberRemoved", Interface="PJSIP/1001", Queue="support"))
    assert isinstance(left, MemberLeft) and left.interface == "PJSIP/1001"


def test_mixmonitor_start_carries_the_filename_from_its_varset() -> None:
    tracker = MonitorTracker()
    tracker.feed(
        frame("VarSet", Channel="PJSIP/1001-2", Variable="MIXMONITOR_FILENAME", Value="/r/a.wav")
    )
    (started,) = tracker.feed(frame("MixMonitorStart", Channel="PJSIP/1001-2", Uniqueid="1.2"))
    assert isinstance(started, RecordingStarted) and started.filename == "/r/a.wav"


def test_the_agent_is_told_only_when_the_site_says_so() -> None:
    feed = MonitorFeed()
    silent = SupervisorListening(feed, "PJSIP/1001")
    told: list[bool] = []
    shown = SupervisorListening(feed, "PJSIP/1001", shown=True, on_change=told.append)
    other = SupervisorListening(feed, "PJSIP/1002", shown=True)
    feed.feed(SPY_START)
    assert shown.listening and not silent.listening and not other.listening
    feed.feed(SPY_STOP)
    assert not shown.listening and told == [True, False]


def test_recording_reference_keeps_only_a_uniqueid() -> None:
    assert recording_reference("1700000000.42", 7) == "callconsole/1700000000.42-7.wav"
    assert recording_reference("../../etc/passwd", 7) == "callconsole/call-7.wav"
    assert recording_reference("1.2\n", 7) == "callconsole/call-7.wav"


def test_resumes_in_counts_down_whole_seconds() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    paused = RecordingState(
        1, "r", "c", start, paused_at=start, resumes_at=start + timedelta(seconds=30)
    )
    assert paused.paused and paused.resumes_in(start + timedelta(seconds=0.5)) == 30
    assert paused.resumes_in(start + timedelta(seconds=31)) == 0
    assert RecordingState(1, "r", "c", start).resumes_in(start) == 0
