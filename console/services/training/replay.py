"""Replaying recorded calls, shifts and training runs: seekable frames and a playback clock.

- `Replay` holds a recording ready to show: every record decoded once and, when the viewer
  sees masked data, masked once (`RecordPreparer`) before any frame is built from it, so no
  raw name, number or email reaches a frame or a widget. `frame_at(t)` folds the reducer
  (`console.services.training.replay_state.apply`) from the nearest checkpoint (one every
  `checkpoint_every` records), so seeking anywhere in a long shift costs at most that many
  steps; playing forward folds on from the last frame asked for.
- `ReplayPlayer` is the playback clock: speed, play/pause, step, seek. It takes the monotonic
  time as an argument, so it is pure and testable without sleeping.

The records come from `console.services.training.replay_sources`: `ReplaySources` loads a call, a
shift
or a session, `LiveTail` follows a session as it is recorded.

Positions are seconds from the replay's `start` on the recording console's clock.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from console.cti.protocol import (
    CallAbandoned,
    CallbackRequested,
    CallOffered,
    CtiEvent,
    TranscriptLine,
)
from console.services.crm.phones import WITHHELD_VALUES
from console.services.training.mask_formats import mask_email, mask_name, mask_phone
from console.services.training.masking import Masker, known_values
from console.services.training.pop_decoder import decode_pop
from console.services.training.recording_codec import encode_event
from console.services.training.replay_sources import record_order
from console.services.training.replay_state import ReplayFrame, apply
from console.services.training.session_log import Recorded, RecordedAction, RecordedEvent

CHECKPOINT_EVERY = 128
SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


_PLACEHOLDER = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- decoding and masking once


@dataclass(frozen=True, slots=True)
class PreparedEvent(RecordedEvent):
    """A recorded event decoded once (and masked, when the replay masks)."""

    decoded: CtiEvent | None = None

    def event(self) -> CtiEvent | None:
        return self.decoded


_NAME_KEYS = frozenset(
    {"name", "customer_name", "display_name", "caller_name", "organisation_name"}
)
_PHONE_KEYS = frozenset(
    {"phone", "number", "e164", "caller_id", "caller_raw", "caller_e164", "national"}
)
_EMAIL_KEYS = frozenset({"email", "address"})
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_REMEMBERED_CALLS = 256
_EVENT_HEAD = ("session_id", "seq", "at", "agent_id", "call_id", "event_type", "event_at")


def masking_enabled(masker: Masker | None) -> bool:
    """Whether `masker` masks (None does not; a policy may carry an `enabled` switch)."""
    return masker is not None and bool(getattr(masker, "enabled", True))


class RecordPreparer:
    """Decodes records once and masks them, in order, before a `Replay` folds them.

    Masking needs what came before: free text on a call is masked with the names, numbers and
    emails of that call's caller and pop (`known_values`), learnt from its `CallOffered` and
    `pop_shown` / `customer_chosen` records. Records must therefore be prepared in order.
    """

    def __init__(self, masker: Masker | None = None) -> None:
        self.masking = masking_enabled(masker)
        self._masker = masker if masker is not None else Masker()
        self._known: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._latest: tuple[str, ...] = ()  # the last pop's values, for records with no call

    def prepare(self, records: Iterable[Recorded]) -> list[Recorded]:
        """The records decoded (and masked), in the order given."""
        return [
            self._event(r) if isinstance(r, RecordedEvent) else self._action(r) for r in records
        ]

    # ------------------------------------------------------------ what is known per call

    def _learn(self, call_id: str | None, values: Iterable[str]) -> None:
        key = call_id or ""
        fresh = (
            v for v in values if len(v.strip()) >= 2 and v.strip().lower() not in WITHHELD_VALUES
        )
        self._known[key] = tuple(dict.fromkeys((*self._known.pop(key, ()), *fresh)))
        if len(self._known) > _REMEMBERED_CALLS:
            self._known.popitem(last=False)

    def _known_for(self, call_id: str | None) -> tuple[str, ...]:
        known = self._known.get(call_id or "", ())
        return known if known else self._latest

    # ------------------------------------------------------------ events

    def _event(self, record: RecordedEvent) -> RecordedEvent:
        if isinstance(record, PreparedEvent):
            return record
        event = record.event()
        payload: Mapping[str, Any] = record.payload
        if self.masking:
            event = self._mask_event(event, record.call_id)
            payload = encode_event(event) if event is not None else {}
        head = {name: getattr(record, name) for name in _EVENT_HEAD}
        return PreparedEvent(**head, payload=payload, decoded=event)

    def _mask_event(self, event: CtiEvent | None, call_id: str | None) -> CtiEvent | None:
        masker = self._masker
        if isinstance(event, CallOffered):
            self._learn(event.linkedid or call_id, (event.caller_id, event.caller_name))
            return masker.apply(event)
        if isinstance(event, TranscriptLine):
            known = self._known_for(event.linkedid or call_id)
            return replace(event, text=masker.text(event.text, known=known))
        if isinstance(event, CallAbandoned):
            return replace(
                event,
                caller_id=mask_phone(event.caller_id, masker.region),
                caller_name=mask_name(event.caller_name),
            )
        if isinstance(event, CallbackRequested):
            return replace(event, number=mask_phone(event.number, masker.region))
        return event

    # ------------------------------------------------------------ actions

    def _action(self, record: RecordedAction) -> RecordedAction:
        details = dict(record.details)
        if "pop" in details:
            pop = decode_pop(details["pop"])
            if pop is not None:
                values = known_values(pop)
                self._learn(record.call_id, values)
                self._latest = tuple(values)
                if self.masking:
                    pop = self._masker.apply(pop)
            details["pop"] = pop
        if self.masking:
            known = self._known_for(record.call_id)
            details = {
                k: (v if k == "pop" else self._mask(k, v, known, 0)) for k, v in details.items()
            }
        return replace(record, details=details)

    def _mask(self, key: str, value: Any, known: tuple[str, ...], depth: int) -> Any:
        if isinstance(value, str):
            if key in _NAME_KEYS:
                return mask_name(value)
            if key in _PHONE_KEYS:
                return mask_phone(value, self._masker.region) if value else value
            if key in _EMAIL_KEYS:
                return mask_email(value)
            if _TIMESTAMP.fullmatch(value):
                return value  # times stay readable (they look like digit runs)
            return self._masker.text(value, known=known)
        if depth >= 8:
            return None if isinstance(value, Mapping | list | tuple) else value
        if isinstance(value, Mapping):
            return {str(k): self._mask(str(k), v, known, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(key, v, known, depth + 1) for v in value]
        return value


def agent_names_in(records: Iterable[Recorded]) -> frozenset[str]:
    """The agent's interface and member name, as the recorded call events give them."""
    names: set[str] = set()
    for record in records:
        if isinstance(record, RecordedEvent) and record.event_type in (
            "CallOffered",
            "CallAnswered",
        ):
            for key in ("interface", "member_name"):
                value = record.payload.get(key)
                if isinstance(value, str) and value:
                    names.add(value)
    return frozenset(names)


# ---------------------------------------------------------------- the replay


class Replay:
    """A recording ready to replay: prepared records, checkpoints, frames at any position.

    `start` defaults to the first record's time, `end` to the last's; records before `start`
    (a prelude: what the console showed when the window opens) are folded into the first frame.
    """

    def __init__(
        self,
        records: Iterable[Recorded] = (),
        *,
        masker: Masker | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        agent_names: Iterable[str] = (),
        checkpoint_every: int = CHECKPOINT_EVERY,
    ) -> None:
        self._preparer = RecordPreparer(masker)
        ordered = sorted(records, key=record_order)
        prepared = self._preparer.prepare(ordered)
        names = frozenset(n for n in agent_names if n) | agent_names_in(ordered)
        self.initial = ReplayFrame(agent_names=names)
        self._every = max(1, checkpoint_every)
        self._records: list[Recorded] = []
        self._offsets: list[float] = []
        self._checkpoints: list[ReplayFrame] = []
        self._tail = self.initial  # the frame after every record
        self._last: tuple[int, ReplayFrame] = (0, self.initial)  # the last frame asked for
        first = prepared[0].at if prepared else None
        # With neither records nor a start, the start is a placeholder until records come.
        self._start_given = start is not None or first is not None
        self.start: datetime = start or first or _PLACEHOLDER
        self.end: datetime = max(end or self.start, self.start)
        self._append(prepared)

    # ------------------------------------------------------------ growing (a live tail)

    @property
    def masked(self) -> bool:
        return self._preparer.masking

    def prepare(self, records: Iterable[Recorded]) -> list[Recorded]:
        """Decode and mask new records (may run in a worker thread); then `append` them."""
        return self._preparer.prepare(sorted(records, key=record_order))

    def extend(self, records: Iterable[Recorded]) -> int:
        """Prepare and append records newer than those held; returns how many."""
        return self.append(self.prepare(records))

    def append(self, prepared: Sequence[Recorded]) -> int:
        """Append prepared records (from `prepare`), in order."""
        if not prepared:
            return 0
        if not self._records:  # the first records: what the constructor would have learnt
            names = self.initial.agent_names | agent_names_in(prepared)
            self.initial = self._tail = replace(self.initial, agent_names=names)
            self._last = (0, self.initial)
            if not self._start_given:
                self.start = prepared[0].at  # an empty replay's start was only a placeholder
                self.end = max(self.end, self.start)
                self._start_given = True
        self._append(prepared)
        return len(prepared)

    def _append(self, prepared: Sequence[Recorded]) -> None:
        every, start = self._every, self.start
        frame = self._tail
        for record in prepared:
            if self._records and record.at < self._records[-1].at:
                record = replace(record, at=self._records[-1].at)  # never back in time
            index = len(self._records)
            if index % every == 0:
                self._checkpoints.append(frame)
            self._records.append(record)
            self._offsets.append((record.at - start).total_seconds())
            frame = apply(frame, record)
        self._tail = frame
        if self._records and self._records[-1].at > self.end:
            self.end = self._records[-1].at

    def extend_to(self, end: datetime) -> None:
        """Move the end forward (the live edge of a followed session)."""
        if end > self.end:
            self.end = end

    # ------------------------------------------------------------ reading

    @property
    def records(self) -> Sequence[Recorded]:
        """The prepared (decoded, masked when masking) records frames are folded from."""
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    @property
    def duration(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def before_start(self) -> int:
        """How many records precede `start` (the prelude)."""
        return bisect.bisect_left(self._offsets, 0.0)

    @property
    def window_count(self) -> int:
        """Records in the replayed window (the prelude not counted)."""
        return len(self._records) - self.before_start

    def offset(self, at: datetime) -> float:
        """The position of a time."""
        return (at - self.start).total_seconds()

    def time_at(self, t: float) -> datetime:
        """The console's time at position `t`."""
        return self.start + timedelta(seconds=t)

    def index_at(self, t: float) -> int:
        """How many records have happened at position `t` (prelude included)."""
        return bisect.bisect_right(self._offsets, t)

    def next_record_after(self, t: float) -> float | None:
        """The position of the first record after `t`, or None at the end (for stepping)."""
        index = bisect.bisect_right(self._offsets, t)
        return self._offsets[index] if index < len(self._offsets) else None

    def frame_at(self, t: float) -> ReplayFrame:
        """What the console showed at position `t` (every record at or before it applied)."""
        return self.frame_at_index(self.index_at(t))

    def frame_at_index(self, index: int) -> ReplayFrame:
        """The frame after the first `index` records."""
        index = max(0, min(index, len(self._records)))
        if index == len(self._records):
            frame, done = self._tail, index
        else:
            done, frame = self._last
            if not done <= index < done + self._every:
                done = (index // self._every) * self._every
                frame = self._checkpoints[index // self._every] if self._records else self.initial
            records = self._records
            for position in range(done, index):
                frame = apply(frame, records[position])
        self._last = (index, frame)
        return frame


# ---------------------------------------------------------------- the playback clock


class ReplayPlayer:
    """Where the playback is, given the monotonic time: speed, play/pause, step, seek.

    `live` (following a session): the position is the replay's end, whatever the time; any
    pause or seek leaves the live edge, `go_live` comes back to it.
    """

    def __init__(
        self,
        replay: Replay,
        *,
        speed: float = 1.0,
        position: float = 0.0,
        playing: bool = False,
        live: bool = False,
        now: float = 0.0,
    ) -> None:
        self.replay = replay
        self.speed = _nearest_speed(speed)
        self.playing = playing
        self.live = live
        self._anchor = max(0.0, position)
        self._since = now

    @property
    def duration(self) -> float:
        return self.replay.duration

    def position(self, now: float) -> float:
        """The position at monotonic time `now` (clamped to the replay)."""
        if self.live:
            return self.duration
        position = self._anchor
        if self.playing:
            position += max(0.0, now - self._since) * self.speed
        return min(max(position, 0.0), self.duration)

    def finished(self, now: float) -> bool:
        """Played to the end (not when following live)."""
        return not self.live and self.position(now) >= self.duration

    def _rebase(self, now: float) -> None:
        self._anchor = self.position(now)
        self._since = now

    def play(self, now: float) -> None:
        """Play on at the current speed; from the start again when at the end."""
        if self.live:
            return
        self._rebase(now)
        if self._anchor >= self.duration:
            self._anchor = 0.0
        self.playing = True

    def pause(self, now: float) -> None:
        self._rebase(now)
        self.playing = False
        self.live = False

    def toggle(self, now: float) -> None:
        """Space: pause if playing (or live), else play."""
        if self.playing or self.live:
            self.pause(now)
        else:
            self.play(now)

    def set_speed(self, speed: float, now: float) -> None:
        self._rebase(now)
        self.speed = _nearest_speed(speed)

    def faster(self, now: float) -> None:
        index = SPEEDS.index(self.speed)
        self.set_speed(SPEEDS[min(len(SPEEDS) - 1, index + 1)], now)

    def slower(self, now: float) -> None:
        index = SPEEDS.index(self.speed)
        self.set_speed(SPEEDS[max(0, index - 1)], now)

    def seek(self, t: float, now: float) -> None:
        """Jump to position `t` (playing on if it was playing)."""
        if self.live:
            self.live = False
            self.playing = True
        self._anchor = min(max(t, 0.0), self.duration)
        self._since = now

    def seek_fraction(self, fraction: float, now: float) -> None:
        self.seek(min(max(fraction, 0.0), 1.0) * self.duration, now)

    def skip(self, seconds: float, now: float) -> None:
        """Seek `seconds` forward (negative: back) from where it is."""
        self.seek(self.position(now) + seconds, now)

    def step(self, now: float) -> bool:
        """Pause on the next record; False when there is none."""
        here = self.position(now)
        self.pause(now)
        following = self.replay.next_record_after(here)
        if following is None:
            return False
        self.seek(following, now)
        return True

    def go_live(self, now: float) -> None:
        """Back to the live edge, playing."""
        self.live = True
        self.playing = True
        self.speed = 1.0
        self._rebase(now)


def _nearest_speed(speed: float) -> float:
    return min(SPEEDS, key=lambda s: abs(s - speed))
