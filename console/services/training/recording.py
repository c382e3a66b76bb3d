"""Session recording: every CTI event a console receives and every action of its agent.

Write side — `SessionRecorder`, one per console login (a `sessions` row). `record_event` and
`record_action` only stamp the record (the console's clock, never going backwards, and `seq`,
one counter for both logs) and append it to an in-memory buffer: nothing is serialised or
written on the caller's path, so the screen pop and the UI never wait for the recording. A
background task writes the buffer every `flush_interval` (or as soon as `batch_size` records
wait) in one transaction per chunk (executemany). If the database is away the records stay
buffered and the write is retried with backoff; past `max_pending` the oldest are dropped with
one warning, and a `recording_gap` action marks the hole once writing works again. Inserts are
`ON CONFLICT (session_id, seq) DO NOTHING`, so a batch retried after an ambiguous failure is
saved once. `stop()` writes what is left and closes the session.

How records are encoded is `recording_codec`; reading them back is `session_log` (`SessionLog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import socket
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Table, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from console.cti.protocol import CtiEvent, QueueChanged
from console.db import Database
from console.models import AgentAction, CallEvent, ConsoleSession
from console.models.enums import SessionKind
from console.services.text import clean_text
from console.services.training.recording_codec import action_details_json, encode_event

log = logging.getLogger(__name__)

_CALL_MAP_SIZE = 512  # interaction id -> Linkedid, for actions that only know the interaction


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ActionRecorder(Protocol):
    """What services and screens need to record an agent action."""

    def record_action(
        self,
        kind: str,
        *,
        call_id: str | None = None,
        interaction_id: int | None = None,
        **details: Any,
    ) -> None:
        """Record that the agent did `kind` (at once, never waiting for the database)."""
        ...


class NullRecorder:
    """Records nothing: previews, snapshots and tests that don't look at recordings."""

    session_id = ""

    def record_event(self, event: CtiEvent) -> None:
        """Nothing."""

    def record_action(
        self,
        kind: str,
        *,
        call_id: str | None = None,
        interaction_id: int | None = None,
        **details: Any,
    ) -> None:
        """Nothing."""

    def start(self, on_warning: Callable[[str], None] | None = None) -> None:
        """Nothing."""

    async def stop(self) -> None:
        """Nothing."""


NO_RECORDING = NullRecorder()


#: Events a session's recording leaves out. A queue's figures (waiting, longest wait, members
#: available) change with every caller of the queue, are the same for each of its consoles and
#: are the PBX's own (its queue_log; the wallboard's live board): no view of a recorded session
#: shows them. Recorded, they were nine rows in ten of every agent's recording, each written
#: by every console of the queue (bench/seats.py at 200 seats: 1,100 rows a second).
NOT_RECORDED = (QueueChanged,)


class _Pending(NamedTuple):
    seq: int
    at: datetime
    call_id: str | None
    interaction_id: int | None
    kind: str  # the event's class name, or the action's kind
    body: Any  # the CtiEvent itself, or the action's details (serialised when written)
    is_event: bool


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """How the recording is going (for a status line and tests)."""

    pending: int
    written: int
    dropped: int
    failures: int  # failed write attempts since the session started
    last_error: str


class SessionRecorder:
    """Buffers one console session's events and actions and writes them in batches."""

    def __init__(
        self,
        db: Database,
        *,
        agent_id: int,
        kind: SessionKind | str = SessionKind.LIVE,
        training_run_id: int | None = None,
        host: str | None = None,
        details: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        flush_interval: float = 1.0,
        batch_size: int = 200,
        max_pending: int = 50_000,
        rows_per_transaction: int = 1000,
        retry_cap: float = 5.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self._db = db
        self.session_id = uuid.uuid4().hex
        self.agent_id = agent_id
        self._clock = clock
        self._interval = flush_interval
        self._batch_size = max(1, batch_size)
        self._max_pending = max(1, max_pending)
        self._chunk = max(1, rows_per_transaction)
        self._retry_cap = retry_cap
        self._stop_timeout = stop_timeout
        self.started_at = clock()
        self._session_row = dict(
            id=self.session_id,
            agent_id=agent_id,
            kind=SessionKind(kind),
            training_run_id=training_run_id,
            host=clean_text(host if host is not None else socket.gethostname(), max_length=255),
            started_at=self.started_at,
            ended_at=None,
            details=action_details_json(dict(details or {})),
        )
        self._session_saved = False
        self._pending: deque[_Pending] = deque()
        self._seq = itertools.count(1)
        self._last_at = self.started_at
        self._calls: dict[int, str] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stopped = False
        self._on_warning: Callable[[str], None] | None = None
        self._written = self._dropped = self._unreported_drops = self._failures = 0
        self._last_error = ""
        self._away = self._overflowing = False
        self._delay = flush_interval
        self._inserts: dict[type[Any], Any] = {}

    # ------------------------------------------------------------ recording (never waits)

    def record_event(self, event: CtiEvent) -> None:
        """Record a CTI event as the console received it, but queue figures (`NOT_RECORDED`)."""
        if isinstance(event, NOT_RECORDED):
            return
        call_id = getattr(event, "linkedid", "") or getattr(event, "uniqueid", "") or None
        self._push(call_id, None, type(event).__name__, event, True)

    def record_action(
        self,
        kind: str,
        *,
        call_id: str | None = None,
        interaction_id: int | None = None,
        **details: Any,
    ) -> None:
        """Record an agent action; `details` are made JSON-safe when written.

        `call_id` is the call's Linkedid; given only `interaction_id`, the Linkedid an earlier
        action recorded with it is used.
        """
        if interaction_id is not None:
            if call_id:
                if len(self._calls) >= _CALL_MAP_SIZE:
                    self._calls.pop(next(iter(self._calls)))
                self._calls[interaction_id] = call_id
            else:
                call_id = self._calls.get(interaction_id)
        self._push(call_id or None, interaction_id, kind, details, False)

    def _push(
        self, call_id: str | None, interaction_id: int | None, kind: str, body: Any, event: bool
    ) -> None:
        if self._stopped:
            return
        at = self._clock()
        if at < self._last_at:  # a clock stepped back: keep the session's times in order
            at = self._last_at
        self._last_at = at
        pending = self._pending
        pending.append(_Pending(next(self._seq), at, call_id, interaction_id, kind, body, event))
        if len(pending) > self._max_pending:
            pending.popleft()
            self._dropped += 1
            self._unreported_drops += 1
            if not self._overflowing:
                self._overflowing = True
                self._warn(
                    f"Recording buffer full ({self._max_pending:,} records not saved): "
                    "dropping the oldest until the database is back."
                )
        if len(pending) >= self._batch_size and not self._away:
            self._wake.set()

    # ------------------------------------------------------------ running

    def start(self, on_warning: Callable[[str], None] | None = None) -> None:
        """Start writing in the background (call on the running loop). `on_warning` is told,
        once per episode, when the database is away or records are being dropped."""
        self._on_warning = on_warning
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"recorder-{self.session_id[:8]}"
            )

    async def stop(self) -> None:
        """Write what is left (within `stop_timeout`) and mark the session ended."""
        if self._stopped:
            return
        self._stopping = True
        self._wake.set()
        ended_at = max(self._clock(), self._last_at)
        self._session_row["ended_at"] = ended_at  # if the session row is still unsaved
        try:
            async with asyncio.timeout(self._stop_timeout):
                if self._task is not None:
                    await self._task
                await self.flush()
                async with self._db.write_connection() as conn:
                    await conn.execute(
                        update(ConsoleSession)
                        .where(ConsoleSession.id == self.session_id)
                        .values(ended_at=ended_at)
                    )
        except Exception as exc:  # the database is away at logout: say what is lost
            if self._task is not None and not self._task.done():
                self._task.cancel()
            log.warning(
                "recording: %d records of session %s not saved at shutdown: %s",
                len(self._pending),
                self.session_id,
                _one_line(exc),
            )
        finally:
            self._stopped = True

    async def _run(self) -> None:
        while not self._stopping:
            # Wait for the interval, a full batch or stop(); while the database is away only
            # stop() wakes us early (records arriving meanwhile don't hurry a retry).
            if self._away or len(self._pending) < self._batch_size:
                self._wake.clear()
                # Jittered by a tenth: consoles started together (a shift, a bench) drift
                # apart instead of all writing in the same instant every second.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._delay * random.uniform(0.9, 1.1)):
                        await self._wake.wait()
            if self._stopping:
                return
            await self._flush_or_wait()

    async def _flush_or_wait(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # the database is away (or refuses): keep the records
            self._failures += 1
            self._last_error = _one_line(exc)
            self._delay = min(self._retry_cap, max(self._interval, self._delay * 2))
            if not self._away:
                self._away = True
                self._warn(
                    f"Recording paused, the database is unavailable ({self._last_error}); "
                    f"{len(self._pending):,} records kept in memory, retrying."
                )
            return
        if self._away:
            log.info("recording: database back, %d records pending", len(self._pending))
        self._away = self._overflowing = False
        self._delay = self._interval
        if self._unreported_drops:
            dropped, self._unreported_drops = self._unreported_drops, 0
            self.record_action("recording_gap", dropped=dropped)

    def _warn(self, message: str) -> None:
        log.warning("recording: %s", message)
        if self._on_warning is not None:
            try:
                self._on_warning(message)
            except Exception:  # a UI that can't show it must not stop the recording
                log.exception("recording: on_warning failed")

    @property
    def stats(self) -> RecorderStats:
        return RecorderStats(
            len(self._pending), self._written, self._dropped, self._failures, self._last_error
        )

    # ------------------------------------------------------------ writing

    async def flush(self) -> int:
        """Write every buffered record now, in chunks of one transaction each; returns how
        many were written. Raises if the database fails (the records stay buffered)."""
        written = 0
        async with self._lock:
            while self._pending or not self._session_saved:
                chunk = list(itertools.islice(self._pending, self._chunk))
                try:
                    await self._write(chunk)
                except Exception as exc:
                    if not (chunk and _is_data_error(exc)):
                        raise
                    await self._write_one_by_one(chunk)  # a bad record must not block the rest
                if chunk:
                    last = chunk[-1].seq
                    while self._pending and self._pending[0].seq <= last:
                        self._pending.popleft()
                written += len(chunk)
                self._written += len(chunk)
                if len(chunk) < self._chunk:
                    break
        return written

    async def _write(self, chunk: Sequence[_Pending]) -> None:
        events = [self._event_row(p) for p in chunk if p.is_event]
        actions = [self._action_row(p) for p in chunk if not p.is_event]
        # Each insert is idempotent (ON CONFLICT DO NOTHING) and the session row goes first,
        # so on PostgreSQL they need no transaction around them: a flush is one round trip or
        # two, not four. With 200 consoles flushing twice a second, BEGIN and COMMIT were most
        # of the consoles' database work (bench/seats.py, docs/seats.md).
        async with self._db.statements_connection() as conn:
            if not self._session_saved:
                await conn.execute(self._insert(ConsoleSession, ("id",)), [self._session_row])
            if events:
                await conn.execute(self._insert(CallEvent, ("session_id", "seq")), events)
            if actions:
                await conn.execute(self._insert(AgentAction, ("session_id", "seq")), actions)
        self._session_saved = True

    async def _write_one_by_one(self, chunk: Sequence[_Pending]) -> None:
        for pending in chunk:
            try:
                await self._write([pending])
            except Exception as exc:
                if not _is_data_error(exc):
                    raise
                self._dropped += 1
                log.error(
                    "recording: %s %s (seq %d) refused, dropped: %s",
                    "event" if pending.is_event else "action",
                    pending.kind,
                    pending.seq,
                    _one_line(exc),
                )

    def _insert(self, model: type[Any], key: tuple[str, ...]) -> Any:
        statement = self._inserts.get(model)
        if statement is None:
            table: Table = model.__table__
            dialect_insert = self._db.insert
            statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(key))
            self._inserts[model] = statement
        return statement

    def _event_row(self, p: _Pending) -> dict[str, Any]:
        event = p.body
        when = getattr(event, "at", None)
        return dict(
            session_id=self.session_id,
            seq=p.seq,
            agent_id=self.agent_id,
            received_at=p.at,
            event_at=when if isinstance(when, datetime) else None,
            call_id=clean_text(p.call_id, single_line=True, max_length=64) if p.call_id else None,
            event_type=p.kind,
            payload=encode_event(event),
        )

    def _action_row(self, p: _Pending) -> dict[str, Any]:
        return dict(
            session_id=self.session_id,
            seq=p.seq,
            agent_id=self.agent_id,
            at=p.at,
            kind=clean_text(p.kind, single_line=True, max_length=40),
            call_id=clean_text(p.call_id, single_line=True, max_length=64) if p.call_id else None,
            interaction_id=p.interaction_id,
            details=action_details_json(p.body),
        )


def _is_data_error(exc: BaseException) -> bool:
    """A record the database refuses (not a database that is away)."""
    if isinstance(exc, IntegrityError | DataError | TypeError | ValueError):
        return True
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:200] if text else type(orig).__name__
