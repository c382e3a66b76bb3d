"""The live board's corrections from a QueueStatus list: a mixin of `LiveBoard`.

Events are the board's input; now and then the supervisor's runtime also asks the PBX for
QueueStatus and `reconcile` sets waiting callers and members to what that list says — except
what events changed after the list was asked for, which is newer. See `live_board`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from callkit.ami_frames import Message
from console.services.supervision.live_state import (
    BUSY,
    RINGING,
    AgentCall,
    AgentState,
    QueueState,
    number,
)

if TYPE_CHECKING:
    from callkit.metrics import QueueCall
    from console.services.supervision.call_ledger import CallLedger
    from console.services.supervision.live_state import Key


class QueueStatusReconciler:
    """`LiveBoard.reconcile` and what it needs (see the module docstring)."""

    clock: Callable[[], float]
    events_seen: int
    _next_sample: float
    _ledger: CallLedger
    _queues: dict[str, QueueState]
    _agents: dict[str, AgentState]
    _legs: dict[str, str]
    _talking: dict[str, Key]
    _waiting_in: dict[str, str]

    if TYPE_CHECKING:

        def _advance(self, at: float) -> None: ...
        def _queue(self, name: str) -> QueueState: ...
        def _agent(self, interface: str, name: str = "") -> AgentState: ...
        def _refresh(self, a: AgentState, now: float) -> None: ...
        def _gone(self, q: QueueState, callid: str, at: float, *, exit_: bool) -> float | None: ...
        def _track(
            self, key: Key, step: Callable[..., object], *args: object, **kwargs: object
        ) -> tuple[QueueCall | None, object]: ...
        def _apply_member(
            self, msg: Message, queue: str, interface: str, name: str, at: float
        ) -> None: ...

    def reconcile(
        self,
        items: Iterable[Message],
        *,
        since_event: int | None = None,
        at: float | None = None,
    ) -> None:
        """Correct waiting callers and members from a QueueStatus list.

        Only the queues the list names (QueueParams) are touched. A caller waiting in the list
        but unknown here joins (once: a caller already waiting is not counted again); a caller
        waiting here but not in the list has left without us hearing (counted as exited).
        Members are set to what the list says and removed when absent. ``since_event`` (the
        board's ``events_seen`` when QueueStatus was sent) protects what events changed after
        it: those are newer than the list, or as new.
        """
        now = self.clock() if at is None else at
        if now >= self._next_sample:
            self._advance(now)
        mark = self.events_seen if since_event is None else since_event
        named: set[str] = set()
        entries: dict[str, dict[str, float]] = {}
        members: dict[str, dict[str, Message]] = {}
        for item in items:
            kind = item.get("Event").strip().lower()
            queue = item.get("Queue").strip()
            if not queue:
                continue
            if kind == "queueparams":
                named.add(queue)
            elif kind == "queueentry" and item.get("Uniqueid").strip():
                wait = number(item.get("Wait"), 0.0) or 0.0
                entries.setdefault(queue, {})[item.get("Uniqueid").strip()] = max(0.0, wait)
            elif kind == "queuemember" and item.get("Location").strip():
                members.setdefault(queue, {})[item.get("Location").strip()] = item
        for queue in named:
            self._reconcile_callers(self._queue(queue), entries.get(queue, {}), mark, now)
            self._reconcile_members(queue, members.get(queue, {}), mark, now)

    def _reconcile_callers(
        self, q: QueueState, listed: dict[str, float], mark: int, now: float
    ) -> None:
        for callid, (_entered, touched) in list(q.waiting.items()):
            if callid not in listed and touched <= mark:
                self._gone(q, callid, now, exit_=True)
        for callid, wait in listed.items():
            if callid in q.waiting or q.gone.get(callid, -1) > mark:
                continue  # known, or left since the list was taken
            entered = now - wait
            q.waiting[callid] = (entered, mark)
            self._waiting_in[callid] = q.name
            queue = q.name
            self._track((callid, queue), self._ledger.enter, callid, queue, entered)

    def _reconcile_members(
        self, queue: str, listed: dict[str, Message], mark: int, now: float
    ) -> None:
        for a in list(self._agents.values()):
            m = a.memberships.get(queue)
            if m is not None and a.interface not in listed and m.touched <= mark:
                del a.memberships[queue]
                self._ledger.member(a.name, queue, now, logged_in=False, paused=False)
                self._refresh(a, now)
        for interface, item in listed.items():
            a = self._agent(interface, item.get("Name").strip())
            m = a.memberships.get(queue)
            if m is not None and m.touched > mark:
                continue
            self._apply_member(item, queue, interface, item.get("Name").strip(), now)
            member = a.memberships[queue]
            member.touched = mark  # as old as the list
            idle = member.status not in BUSY and member.status != RINGING
            call = a.call
            if call is not None and call.touched <= mark and idle and not member.in_call:
                self._end_lost_call(a, call, now)

    def _end_lost_call(self, a: AgentState, call: AgentCall, now: float) -> None:
        """The PBX says the agent's phone is idle: the call we follow ended unheard."""
        self._legs.pop(call.leg, None)
        self._talking.pop(call.leg, None)
        self._talking.pop(call.callid, None)
        key = (call.callid, call.queue)
        visit = a.pending.pop(key, None)
        if visit is not None and not visit.completed:  # answered, never completed: as is
            a.final.add(visit)
            q = self._queues.get(call.queue)
            if q is not None and q.pending.pop(key, None) is not None:
                q.final.add(visit)
        a.call = None
        self._refresh(a, now)
