"""Spying and recording as the PBX reports them: frames in, typed events out.

Asterisk publishes ChanSpyStart / ChanSpyStop (apps/app_chanspy.c publish_chanspy_message(),
formatted by main/manager_channels.c with ``Spyer``/``Spyee``-prefixed channel blocks) and
MixMonitorStart / MixMonitorStop / MixMonitorMute (apps/app_mixmonitor.c, Asterisk 16.17 /
18.3+). `MonitorTracker` turns those frames, and the few others a spy or a recording needs
(the Originate's answer, a watched channel hanging up, a member leaving its queues), into the
frozen events below; `MonitorFeed` hands them to whoever subscribed (the monitoring and
recording services, the agent's "supervisor listening" notice). Pure: no I/O, no Textual.

Feed it every raw frame of a link (the AMI client's ``on_frame``). An agent's filtered session
still gets these frames: ChanSpyStart names the agent's leg in ``SpyeeChannel`` and the
MixMonitor events in ``Channel``, which the agent's device filter matches (docs/cti.md).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from callkit.ami_frames import Message

log = logging.getLogger(__name__)

SPOKEN_CALLS = 200  # calls whose words a feed keeps
SPOKEN_LINES = 200  # words kept per call


@dataclass(frozen=True, slots=True)
class SpyStarted:
    """ChanSpyStart: ``spyer_channel`` began listening to ``spyee_channel``."""

    spyer_channel: str
    spyer_uniqueid: str
    spyee_channel: str
    spyee_uniqueid: str
    linkedid: str  # the spied-on call's
    at: datetime
    caller: str = ""  # who the agent talks to (the spyee's ConnectedLine name, else number)


@dataclass(frozen=True, slots=True)
class SpyStopped:
    """ChanSpyStop: ``spyer_channel`` stopped (the spyee or the spyer hung up)."""

    spyer_channel: str
    spyer_uniqueid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SpyAnswered:
    """The OriginateResponse of a spy call (matched by the Originate's ActionID)."""

    action_id: str
    ok: bool
    channel: str  # the spyer's channel when ok
    uniqueid: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ChannelGone:
    """A watched channel (a spyer's, a recorded leg) hung up."""

    channel: str
    uniqueid: str
    cause: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """QueueMemberRemoved: ``interface`` left ``queue`` (an agent logging out leaves them all)."""

    interface: str
    queue: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """MixMonitorStart on ``channel`` (``filename``: MIXMONITOR_FILENAME as the PBX set it)."""

    channel: str
    uniqueid: str
    linkedid: str
    filename: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordingMuted:
    """MixMonitorMute: the recording of ``channel`` was muted (paused) or unmuted."""

    channel: str
    uniqueid: str
    muted: bool
    direction: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """MixMonitorStop (only StopMixMonitor sends it; a hang-up closes the file silently)."""

    channel: str
    uniqueid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CallerSpoke:
    """A line of a caller's speech (``UserEvent: Transcript`` on the caller's channel): what a
    supervisor listening to the call reads, whether or not the agent has a console."""

    linkedid: str
    speaker: str
    text: str
    at: datetime


MonitorEvent = (
    CallerSpoke
    | SpyStarted
    | SpyStopped
    | SpyAnswered
    | ChannelGone
    | MemberLeft
    | RecordingStarted
    | RecordingMuted
    | RecordingStopped
)


class MonitorTracker:
    """Frames → monitor events. ``watch`` a channel to hear of its Hangup; ``expect`` an
    Originate's ActionID to hear of its answer. Everything else is ignored cheaply."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._watched: set[str] = set()
        self._expected: set[str] = set()
        self._filenames: dict[str, str] = {}  # channel -> MIXMONITOR_FILENAME

    def watch(self, channel: str) -> None:
        """Report ``channel``'s Hangup as `ChannelGone`."""
        if channel:
            self._watched.add(channel)

    def expect(self, action_id: str) -> None:
        """Report the OriginateResponse carrying ``action_id`` as `SpyAnswered`."""
        if action_id:
            self._expected.add(action_id)

    def feed(self, frame: Message) -> list[MonitorEvent]:
        """The events one frame means (most frames: none)."""
        name = frame.get("Event")
        if not name:
            return []
        handler = _HANDLERS.get(name.lower())
        if handler is None:
            return []
        return handler(self, frame, self._clock())

    # Handlers ----------------------------------------------------------------------------------

    def _spy_start(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        spyer, spyee = frame.get("SpyerChannel"), frame.get("SpyeeChannel")
        if not spyer or not spyee:
            return []
        return [
            SpyStarted(
                spyer,
                frame.get("SpyerUniqueid"),
                spyee,
                frame.get("SpyeeUniqueid"),
                frame.get("SpyeeLinkedid"),
                at,
                _connected(frame, "Spyee"),
            )
        ]

    def _spy_stop(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        spyer = frame.get("SpyerChannel")
        return [SpyStopped(spyer, frame.get("SpyerUniqueid"), at)] if spyer else []

    def _originate(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        action_id = frame.get("ActionID")
        if action_id not in self._expected:
            return []
        self._expected.discard(action_id)
        ok = frame.get("Response").strip().lower() == "success"
        channel = frame.get("Channel")
        if ok:
            self._watched.add(channel)
        return [SpyAnswered(action_id, ok, channel, frame.get("Uniqueid"), frame.get("Reason"), at)]

    def _hangup(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        channel = frame.get("Channel")
        self._filenames.pop(channel, None)
        if channel not in self._watched:
            return []
        self._watched.discard(channel)
        return [ChannelGone(channel, frame.get("Uniqueid"), frame.get("Cause"), at)]

    def _member_removed(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        interface = frame.get("Interface") or frame.get("Location")
        return [MemberLeft(interface, frame.get("Queue"), at)] if interface else []

    def _varset(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        if frame.get("Variable") == "MIXMONITOR_FILENAME" and frame.get("Channel"):
            if len(self._filenames) > 4096:  # bounded: channels that never hung up here
                self._filenames.clear()
            self._filenames[frame.get("Channel")] = frame.get("Value")
        return []

    def _mix_start(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        channel = frame.get("Channel")
        filename = self._filenames.get(channel, "")
        return [
            RecordingStarted(channel, frame.get("Uniqueid"), frame.get("Linkedid"), filename, at)
        ]

    def _mix_mute(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        muted = frame.get("State").strip() == "1"
        return [
            RecordingMuted(
                frame.get("Channel"), frame.get("Uniqueid"), muted, frame.get("Direction"), at
            )
        ]

    def _mix_stop(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        return [RecordingStopped(frame.get("Channel"), frame.get("Uniqueid"), at)]

    def _user_event(self, frame: Message, at: datetime) -> list[MonitorEvent]:
        if frame.get("UserEvent").strip().lower() != "transcript":
            return []
        linkedid = frame.get("Linkedid").strip() or frame.get("Uniqueid").strip()
        if not linkedid:
            return []
        speaker = frame.get("Speaker").strip() or "caller"
        return [CallerSpoke(linkedid, speaker, frame.get("Text"), at)]


def _connected(frame: Message, prefix: str) -> str:
    """A channel block's ConnectedLine: the name, else the number ("" for <unknown>)."""
    for key in ("ConnectedLineName", "ConnectedLineNum"):
        value = " ".join(frame.get(prefix + key).split())
        if value and value.lower() != "<unknown>":
            return value[:80]
    return ""


_Handler = Callable[[MonitorTracker, Message, datetime], list[MonitorEvent]]
_HANDLERS: dict[str, _Handler] = {
    "chanspystart": MonitorTracker._spy_start,
    "chanspystop": MonitorTracker._spy_stop,
    "originateresponse": MonitorTracker._originate,
    "hangup": MonitorTracker._hangup,
    "queuememberremoved": MonitorTracker._member_removed,
    "varset": MonitorTracker._varset,
    "mixmonitorstart": MonitorTracker._mix_start,
    "mixmonitormute": MonitorTracker._mix_mute,
    "mixmonitorstop": MonitorTracker._mix_stop,
    "userevent": MonitorTracker._user_event,
}


class MonitorFeed:
    """A `MonitorTracker` with subscribers: give ``feed`` to the link as (part of) its
    ``on_frame``; services `subscribe` a callback (called on the loop, in frame order)."""

    def __init__(self, tracker: MonitorTracker | None = None) -> None:
        self.tracker = tracker or MonitorTracker()
        self._subscribers: list[Callable[[MonitorEvent], None]] = []
        # The words of the latest calls, so a supervisor who starts listening mid-call reads
        # what was said before (bounded: SPOKEN_CALLS calls, SPOKEN_LINES lines each).
        self._spoken: OrderedDict[str, list[CallerSpoke]] = OrderedDict()

    def spoken(self, linkedid: str) -> list[CallerSpoke]:
        """The words heard so far on call ``linkedid`` (oldest first)."""
        return list(self._spoken.get(linkedid, ()))

    def _keep(self, event: CallerSpoke) -> None:
        lines = self._spoken.setdefault(event.linkedid, [])
        self._spoken.move_to_end(event.linkedid)
        lines.append(event)
        del lines[:-SPOKEN_LINES]
        while len(self._spoken) > SPOKEN_CALLS:
            self._spoken.popitem(last=False)

    def subscribe(self, callback: Callable[[MonitorEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def feed(self, frame: Message) -> None:
        """One raw frame from the link."""
        events = self.tracker.feed(frame)
        for event in events:
            if isinstance(event, CallerSpoke):
                self._keep(event)
            for callback in tuple(self._subscribers):
                try:
                    callback(event)
                except Exception:  # one subscriber's failure must not starve the others
                    log.exception("monitor event subscriber failed on %s", type(event).__name__)


def fan_out(*consumers: Callable[[Message], None] | None) -> Callable[[Message], None]:
    """One ``on_frame`` callback calling each consumer in turn (None entries skipped)."""
    live = tuple(c for c in consumers if c is not None)

    def on_frame(frame: Message) -> None:
        for consumer in live:
            consumer(frame)

    return on_frame
