"""Recording an agent's call (MixMonitor), pausing it while card details are taken.

`CallRecordingService` starts the PBX's MixMonitor on the agent's leg, pauses and resumes it
with MixMonitorMute (both directions: muted audio is silence in the file), and stops it with
StopMixMonitor (console/cti/ami_monitor.py). The interaction's row gets the recording: its
reference (the ``File`` the console asked the PBX for) in ``call_recordings`` and each paused
span in ``recording_pauses`` (migration 0020), written as each step happens, with an audit
entry per pause and resume (``recording_pause`` / ``recording_resume``) in the same
transaction.

An agent's pause resumes by itself after ``auto_resume_seconds`` (setting
``[desk] recording_pause_seconds``): a forgotten pause must not leave the rest of the call
unrecorded. The agent's leg hanging up ends the recording (the PBX closes the file itself):
an open pause is closed then (``resumed_by = call_end``).

Refusals are one line (`RecordingError`) and change nothing: a PBX without MixMonitor, a call
not being recorded, a refused action.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from console.cti.ami_types import ActionResult, AmiError
from console.cti.link import CtiLink
from console.cti.monitor import ChannelGone, MonitorEvent, MonitorFeed
from console.db import Database
from console.models.recording import CallRecording, RecordingPause
from console.services.audit import AuditLog
from console.services.errors import ServiceError

RECORDING_PAUSE = "recording_pause"
RECORDING_RESUME = "recording_resume"
BY_AGENT, BY_AUTO, BY_CALL_END, BY_STOP = "agent", "auto", "call_end", "stop"


class RecordingError(ServiceError):
    """A recording request refused; the message is one line for the screen."""


@dataclass(frozen=True, slots=True)
class PausedSpan:
    """One span the recording was paused."""

    paused_at: datetime
    resumed_at: datetime | None
    resumed_by: str


@dataclass(frozen=True, slots=True)
class RecordingState:
    """A call's recording as the screen shows it."""

    interaction_id: int
    reference: str
    channel: str
    started_at: datetime
    stopped_at: datetime | None = None
    paused_at: datetime | None = None  # while paused
    resumes_at: datetime | None = None  # when a pause will resume by itself
    pauses: tuple[PausedSpan, ...] = ()

    @property
    def recording(self) -> bool:
        return self.stopped_at is None

    @property
    def paused(self) -> bool:
        return self.recording and self.paused_at is not None

    def resumes_in(self, now: datetime) -> int:
        """Whole seconds until the automatic resume (0 when not paused)."""
        if not self.paused or self.resumes_at is None:
            return 0
        return max(int((self.resumes_at - now).total_seconds() + 0.999), 0)


def recording_reference(uniqueid: str, interaction_id: int) -> str:
    """The file name asked of the PBX (relative: its monitor folder), from values the console
    made or checked: a Uniqueid as Asterisk writes them (``1700000000.42``), else ``call``."""
    safe = uniqueid if re.fullmatch(r"[0-9]{1,20}(\.[0-9]{1,20})?", uniqueid) else "call"
    return f"callconsole/{safe}-{interaction_id}.wav"


AUTO_RESUME_TRIES = 5  # a resume the PBX did not take is tried again this many times
AUTO_RESUME_RETRY = 3.0  # seconds apart


class CallRecordingService:
    """The recordings of one console's calls (one at a time per interaction)."""

    def __init__(
        self,
        db: Database,
        link: CtiLink,
        *,
        actor_id: int,
        feed: MonitorFeed | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        auto_resume_seconds: float = 120.0,
        on_change: Callable[[RecordingState], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self._db = db
        self._link = link
        self._actor = actor_id
        self._clock = clock
        self._audit = AuditLog(db, clock=clock)
        self.auto_resume_seconds = auto_resume_seconds
        self._on_change = on_change
        self.on_warning = on_warning  # a row not written (the PBX's state stands), one line
        self.unsaved: list[str] = []  # what could not be written, in order (tests, the log)
        self._states: dict[int, RecordingState] = {}
        self._rows: dict[int, int] = {}  # interaction -> call_recordings.id
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._feed = feed
        self._unsubscribe = feed.subscribe(self._on_event) if feed is not None else None

    def close(self) -> None:
        """Stop following the PBX and cancel the automatic resumes."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        for timer in self._timers.values():
            timer.cancel()

    def state(self, interaction_id: int) -> RecordingState | None:
        return self._states.get(interaction_id)

    async def settle(self) -> None:
        """Wait for the writes the PBX's events started (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)

    # Requests ------------------------------------------------------------------------------

    async def start(self, interaction_id: int, channel: str, uniqueid: str) -> RecordingState:
        """Record the agent's leg ``channel`` of interaction ``interaction_id``."""
        if self._link.capabilities.mixmonitor is False:
            raise RecordingError("Recording is not available: the PBX has no MixMonitor")
        current = self._states.get(interaction_id)
        if current is not None and current.recording:
            return current
        reference = recording_reference(uniqueid, interaction_id)
        await self._act("start recording", self._link.mix_monitor(channel, reference, "b"))
        now = self._clock()
        # The PBX records now: the console's state says so at once (the pause key must work
        # for card details), whatever happens to the row.
        if self._feed is not None:
            self._feed.tracker.watch(channel)
        state = self._put(RecordingState(interaction_id, reference, channel, now))

        async def write() -> None:
            async with self._db.write_connection() as conn:
                row_id = await conn.scalar(
                    insert(CallRecording)
                    .values(
                        interaction_id=interaction_id,
                        reference=reference,
                        channel=channel[:120],
                        started_at=now,
                    )
                    .returning(CallRecording.id)
                )
            assert row_id is not None
            self._rows[interaction_id] = row_id

        try:
            await write()
        except IntegrityError:
            self._warn("the recording's row", "this call already has one")
        except Exception as exc:
            self._warn("the recording's row", exc)
        return state

    async def pause(self, interaction_id: int) -> RecordingState:
        """Pause (mute) the recording; it resumes by itself after `auto_resume_seconds`."""
        state = self._running(interaction_id)
        if state.paused:
            return state
        await self._act("pause the recording", self._link.mix_monitor_mute(state.channel, True))
        now = self._clock()
        resumes_at = now + timedelta(seconds=self.auto_resume_seconds)
        self._timers[interaction_id] = asyncio.get_running_loop().create_task(
            self._auto_resume(interaction_id, self.auto_resume_seconds)
        )
        paused = self._put(replace(state, paused_at=now, resumes_at=resumes_at))
        row = self._rows.get(interaction_id)
        try:
            async with self._db.write_connection() as conn:
                if row is not None:
                    await conn.execute(
                        insert(RecordingPause).values(
                            recording_id=row, paused_at=now, resumed_by=""
                        )
                    )
                await self._audit.add(
                    conn, self._actor, RECORDING_PAUSE, "interaction", interaction_id, {}
                )
        except Exception as exc:
            self._warn("the pause", exc)
        return paused

    async def resume(self, interaction_id: int, *, by: str = BY_AGENT) -> RecordingState:
        """Resume a paused recording (``by``: agent, auto)."""
        state = self._running(interaction_id)
        if not state.paused:
            return state
        await self._act("resume the recording", self._link.mix_monitor_mute(state.channel, False))
        return await self._close_pause(state, by)

    async def stop(self, interaction_id: int) -> RecordingState:
        """Stop the recording (the PBX finishes the file)."""
        state = self._running(interaction_id)
        await self._act("stop the recording", self._link.stop_mix_monitor(state.channel))
        return await self._finish(state, BY_STOP)

    async def call_ended(self, interaction_id: int) -> RecordingState | None:
        """The recorded leg hung up: the PBX closed the file; close the row and any pause."""
        state = self._states.get(interaction_id)
        if state is None or not state.recording:
            return state
        return await self._finish(state, BY_CALL_END)

    # Inside --------------------------------------------------------------------------------

    def _running(self, interaction_id: int) -> RecordingState:
        state = self._states.get(interaction_id)
        if state is None or not state.recording:
            raise RecordingError("This call is not being recorded")
        return state

    async def _act(self, what: str, request: Awaitable[ActionResult]) -> None:
        try:
            result = await request
        except AmiError as exc:
            raise RecordingError(f"Could not {what}: {exc}") from None
        if not result.ok:
            raise RecordingError(f"The PBX refused to {what}: {result.message}")

    async def _auto_resume(self, interaction_id: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._timers.pop(interaction_id, None)
        for attempt in range(AUTO_RESUME_TRIES):  # the link may be back in a moment
            try:
                await self.resume(interaction_id, by=BY_AUTO)
                return
            except Exception as exc:
                state = self._states.get(interaction_id)
                if state is None or not state.paused:
                    return  # resumed or ended meanwhile
                if attempt == AUTO_RESUME_TRIES - 1:
                    self._warn("the automatic resume", exc)
                    return
                await asyncio.sleep(AUTO_RESUME_RETRY)

    async def _close_pause(self, state: RecordingState, by: str) -> RecordingState:
        timer = self._timers.pop(state.interaction_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        now = self._clock()
        assert state.paused_at is not None
        span = PausedSpan(state.paused_at, now, by)
        resumed = self._put(
            replace(state, paused_at=None, resumes_at=None, pauses=(*state.pauses, span))
        )
        row = self._rows.get(state.interaction_id)
        try:
            async with self._db.write_connection() as conn:
                if row is not None:
                    await conn.execute(
                        update(RecordingPause)
                        .where(
                            RecordingPause.recording_id == row,
                            RecordingPause.resumed_at.is_(None),
                        )
                        .values(resumed_at=now, resumed_by=by)
                    )
                await self._audit.add(
                    conn, self._actor, RECORDING_RESUME, "interaction", state.interaction_id,
                    {"by": by},
                )  # fmt: skip
        except Exception as exc:
            self._warn("the resume", exc)
        return resumed

    async def _finish(self, state: RecordingState, by: str) -> RecordingState:
        if state.paused:
            state = await self._close_pause(state, by)
        now = self._clock()
        stopped = self._put(replace(state, stopped_at=now))
        row = self._rows.get(state.interaction_id)
        if row is not None:
            try:
                async with self._db.write_connection() as conn:
                    await conn.execute(
                        update(CallRecording).where(CallRecording.id == row).values(stopped_at=now)
                    )
            except Exception as exc:
                self._warn("the recording's end", exc)
        return stopped

    def _warn(self, what: str, why: object) -> None:
        """A row not written: the PBX's state stands and the console shows it; said once."""
        line = f"Recording: {what} was not saved ({why}); the call is recorded as shown"
        self.unsaved.append(line)
        if self.on_warning is not None:
            self.on_warning(line)

    def _put(self, state: RecordingState) -> RecordingState:
        self._states[state.interaction_id] = state
        if self._on_change is not None:
            self._on_change(state)
        return state

    def _on_event(self, event: MonitorEvent) -> None:
        if isinstance(event, ChannelGone):
            for state in list(self._states.values()):
                if state.recording and state.channel == event.channel:
                    task = asyncio.get_running_loop().create_task(
                        self._quietly(state.interaction_id)
                    )
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    async def _quietly(self, interaction_id: int) -> None:
        with contextlib.suppress(RecordingError):
            await self.call_ended(interaction_id)


async def stored_recording(db: Database, interaction_id: int) -> RecordingState | None:
    """The interaction's recording as the database holds it (reference, spans), or None."""
    async with db.session() as session:
        row = await session.scalar(
            select(CallRecording).where(CallRecording.interaction_id == interaction_id)
        )
        if row is None:
            return None
        pauses = (
            await session.scalars(
                select(RecordingPause)
                .where(RecordingPause.recording_id == row.id)
                .order_by(RecordingPause.paused_at, RecordingPause.id)
            )
        ).all()
        spans = tuple(PausedSpan(p.paused_at, p.resumed_at, p.resumed_by) for p in pauses)
        open_pause = next((p.paused_at for p in pauses if p.resumed_at is None), None)
        return RecordingState(
            interaction_id,
            row.reference,
            row.channel,
            row.started_at,
            row.stopped_at,
            paused_at=open_pause,
            pauses=tuple(s for s in spans if s.resumed_at is not None),
        )
