"""The queue board: every queue's waiting callers and figures, every member's state.

Part of the call tracker (``tracker.py``), kept apart because it serves every agent and the
wallboards rather than one agent's calls. It emits `QueueChanged` only when a figure changed
and `AgentStateChanged` only when a member's state changed, so a flood of identical
QueueMemberStatus frames costs the UI nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from callkit.ami_frames import Message
from console.cti.fields import Malformed, as_float, as_int, need
from console.cti.protocol import AgentStateChanged, CtiEvent, QueueChanged

#: Asterisk device states (ast_device_state) as QueueMember* events report them.
DEVICE_STATES = {
    0: "Unknown",
    1: "Not in use",
    2: "In use",
    3: "Busy",
    4: "Invalid",
    5: "Unavailable",
    6: "Ringing",
    7: "Ring+Inuse",
    8: "On Hold",
}
NOT_INUSE, ON_HOLD = 1, 8


@dataclass(eq=False)
class _Queue:
    name: str
    waiting: dict[str, datetime] = field(default_factory=dict)  # caller Uniqueid -> joined
    strategy: str = ""
    completed: int = 0
    abandoned: int = 0
    avg_hold_time: int | None = None
    avg_talk_time: int | None = None
    service_level: int | None = None
    service_level_perf: float | None = None
    service_level_perf2: float | None = None
    last: QueueChanged | None = None  # the last view emitted, to emit only changes


def _state_key(state: AgentStateChanged) -> tuple[object, ...]:
    return (state.member_name, state.logged_in, state.paused, state.reason, state.status)


def _figures(view: QueueChanged) -> QueueChanged:
    # Compare views without the clock fields, which differ every time.
    return replace(view, at=datetime.min, longest_wait=0.0, resync=False)


def member_state(msg: Message, at: datetime, *, snapshot: bool) -> AgentStateChanged:
    """A member's state from a QueueMember* event or (``snapshot``) a QueueStatus item.

    QueueStatus's QueueMember names the member ``Name`` and its interface ``Location``; the
    QueueMember* events say ``MemberName`` and ``Interface``.
    """
    name_key, iface_key = ("Name", "Location") if snapshot else ("MemberName", "Interface")
    interface = need(msg, iface_key)
    paused = msg.get("Paused").strip() == "1"
    status = as_int(msg.get("Status"))
    status = 0 if status is None else status
    return AgentStateChanged(
        interface=interface,
        member_name=msg.get(name_key).strip() or interface,
        queue=need(msg, "Queue"),
        logged_in=True,
        paused=paused,
        reason=msg.get("PausedReason") if paused else "",
        status=status,
        status_text=DEVICE_STATES.get(status, "Unknown"),
        in_call=msg.get("InCall").strip() == "1",
        at=at,
        resync=snapshot,
    )


class QueueBoard:
    """Queues and members; methods append the events they cause to ``out``.

    ``figures=False``: no QueueChanged as callers come and go (`views` still answers). An
    agent's filtered session hears its colleagues' member events no more, so its member
    counts would be the login snapshot's; and building the figures on every caller's join and
    leave was a tenth of a console's CPU at 200 seats (docs/seats.md).
    """

    def __init__(self, *, figures: bool = True) -> None:
        self.figures = figures
        self._queues: dict[str, _Queue] = {}
        self._members: dict[str, dict[str, AgentStateChanged]] = {}  # queue -> interface ->

    # Queries -------------------------------------------------------------------------------

    def views(self, now: datetime) -> dict[str, QueueChanged]:
        """The current state of every queue."""
        return {name: self._view(q, now) for name, q in self._queues.items()}

    def members(self) -> list[AgentStateChanged]:
        """The current state of every member (one entry per member and queue)."""
        return [state for per_queue in self._members.values() for state in per_queue.values()]

    def member(self, queue: str, interface: str) -> AgentStateChanged | None:
        """One member's state in one queue, if it is a member there."""
        return self._members.get(queue, {}).get(interface)

    def interfaces(self) -> set[str]:
        """Every member interface in any queue."""
        return {i for per_queue in self._members.values() for i in per_queue}

    def joined_at(self, queue: str, uniqueid: str) -> datetime | None:
        """When a caller still waiting in ``queue`` joined it."""
        q = self._queues.get(queue)
        return q.waiting.get(uniqueid) if q is not None else None

    # Callers -------------------------------------------------------------------------------

    def join(self, queue: str, uniqueid: str, at: datetime, out: list[CtiEvent]) -> bool:
        """A caller joined ``queue``; False when it was already waiting there."""
        q = self._queue(queue)
        if uniqueid in q.waiting:
            return False
        q.waiting[uniqueid] = at
        self._emit(q, at, out)
        return True

    def leave(self, queue: str, uniqueid: str, at: datetime, out: list[CtiEvent]) -> bool:
        """A caller left ``queue`` (answered, abandoned, timed out…); False if not there."""
        q = self._queues.get(queue)
        if q is None or q.waiting.pop(uniqueid, None) is None:
            return False
        self._emit(q, at, out)
        return True

    def count(self, queue: str, what: str, at: datetime, out: list[CtiEvent]) -> None:
        """Count one ``completed`` or ``abandoned`` call in ``queue``."""
        q = self._queue(queue)
        if what == "completed":
            q.completed += 1
        else:
            q.abandoned += 1
        self._emit(q, at, out)

    # Members -------------------------------------------------------------------------------

    def member_event(
        self, msg: Message, at: datetime, out: list[CtiEvent]
    ) -> AgentStateChanged | None:
        """QueueMemberAdded / Status / Pause: the new state, or None when nothing changed.

        Raises `Malformed` without changing anything when Queue or Interface is missing.
        """
        state = member_state(msg, at, snapshot=False)
        per_queue = self._members.setdefault(state.queue, {})
        old = per_queue.get(state.interface)
        if old is not None and _state_key(old) == _state_key(state):
            return None
        per_queue[state.interface] = state
        out.append(state)
        self._emit(self._queue(state.queue), at, out)
        return state

    def member_removed(self, msg: Message, at: datetime, out: list[CtiEvent]) -> bool:
        """QueueMemberRemoved; False when it was not a member (raises Malformed)."""
        queue, interface = need(msg, "Queue"), need(msg, "Interface")
        old = self._members.get(queue, {}).pop(interface, None)
        if old is None:
            return False
        out.append(replace(old, logged_in=False, in_call=False, at=at, resync=False))
        self._emit(self._queue(queue), at, out)
        return True

    # Snapshot ------------------------------------------------------------------------------

    def rebuild(self, items: Sequence[Message], at: datetime, out: list[CtiEvent]) -> int:
        """Replace everything with a QueueStatus list; returns how many items were malformed.

        Members whose state changed get an AgentStateChanged (``logged_in=False`` for those
        gone); call `emit_all` once the caller records are rebuilt too.
        """
        queues: dict[str, _Queue] = {}
        members: dict[str, dict[str, AgentStateChanged]] = {}
        bad = 0
        for item in items:
            kind = item.get("Event").strip().lower()
            try:
                if kind == "queueparams":
                    name = need(item, "Queue")
                    queues[name] = q = queues.get(name) or _Queue(name)
                    q.strategy = item.get("Strategy")
                    q.completed = as_int(item.get("Completed")) or 0
                    q.abandoned = as_int(item.get("Abandoned")) or 0
                    q.avg_hold_time = as_int(item.get("Holdtime"))
                    q.avg_talk_time = as_int(item.get("TalkTime"))
                    q.service_level = as_int(item.get("ServiceLevel"))
                    q.service_level_perf = as_float(item.get("ServicelevelPerf"))
                    q.service_level_perf2 = as_float(item.get("ServicelevelPerf2"))
                elif kind == "queuemember":
                    state = member_state(item, at, snapshot=True)
                    members.setdefault(state.queue, {})[state.interface] = state
                elif kind == "queueentry":
                    name = need(item, "Queue")
                    queues[name] = q = queues.get(name) or _Queue(name)
                    wait = as_int(item.get("Wait")) or 0
                    q.waiting[need(item, "Uniqueid")] = at - timedelta(seconds=max(0, wait))
            except Malformed:
                bad += 1
        for name, per_queue in members.items():
            for interface, state in per_queue.items():
                old = self.member(name, interface)
                if old is None or _state_key(old) != _state_key(state):
                    out.append(state)
        for name, per_queue in self._members.items():
            for interface, old in per_queue.items():
                if interface not in members.get(name, {}):
                    out.append(replace(old, logged_in=False, in_call=False, at=at, resync=True))
        self._queues, self._members = queues, members
        return bad

    def emit_all(self, at: datetime, out: list[CtiEvent]) -> None:
        """A fresh QueueChanged (``resync=True``) for every queue."""
        for q in self._queues.values():
            self._emit(q, at, out, resync=True)

    # Internals -----------------------------------------------------------------------------

    def _queue(self, name: str) -> _Queue:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _Queue(name)
        return q

    def _view(self, q: _Queue, at: datetime, *, resync: bool = False) -> QueueChanged:
        members = self._members.get(q.name, {}).values()
        oldest = min(q.waiting.values(), default=None)
        return QueueChanged(
            queue=q.name,
            waiting=len(q.waiting),
            oldest_joined_at=oldest,
            longest_wait=0.0 if oldest is None else max(0.0, (at - oldest).total_seconds()),
            members=len(members),
            available=sum(1 for m in members if not m.paused and m.status == NOT_INUSE),
            paused=sum(1 for m in members if m.paused),
            completed=q.completed,
            abandoned=q.abandoned,
            strategy=q.strategy,
            avg_hold_time=q.avg_hold_time,
            avg_talk_time=q.avg_talk_time,
            service_level=q.service_level,
            service_level_perf=q.service_level_perf,
            service_level_perf2=q.service_level_perf2,
            at=at,
            resync=resync,
        )

    def _emit(self, q: _Queue, at: datetime, out: list[CtiEvent], *, resync: bool = False) -> None:
        if not self.figures:
            return
        view = self._view(q, at, resync=resync)
        if resync or q.last is None or _figures(q.last) != _figures(view):
            q.last = view
            out.append(view)
