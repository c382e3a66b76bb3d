"""The live board: raw AMI events in, every queue's and agent's state and today's figures out.

`LiveBoard` is a pure, synchronous state machine (no asyncio, no Textual). The supervisor's
runtime feeds it every AMI event frame (`feed`), corrects it now and then from a QueueStatus
list (`reconcile`, in `live_reconcile`), and the wallboard and the agent grid read
`snapshot(now)` a few times a second. The figures come from the same `CallLedger` and
`metrics.FigureBuilder` as the reports (docs/metrics.md), so a wallboard and a report on the
same calls agree.

Timing is the PBX's own: an event's time is its ``Timestamp`` header (Asterisk's
``timestampevents``), else the board's clock when it is fed; queue waits and talk times are
AgentConnect's and AgentComplete's ``HoldTime`` / ``TalkTime`` (integer seconds, talk
including hold); hold is measured between Hold and Unhold.

Agents (keyed by queue interface) are, in this order of precedence: ringing or on call (a queue
call, or a busy device); logged out (no queue membership); wrap-up (paused with an after-call
work reason, or within the member's ``Wrapuptime`` after the last call); not ready (paused in
every queue, or a phone the PBX reports unavailable); available.

"Today" is since local midnight: at midnight the ledger starts afresh. Callers still waiting
carry over on the board (waiting, longest current wait) but, as docs/metrics.md says, count on
the day they entered. Cost: a visit's figures are added once it can no longer change
("settled"); a snapshot only re-adds the visits still open, so it stays cheap all day.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from copy import copy
from datetime import tzinfo

from callkit.ami_frames import Message
from callkit.metrics import (
    FigureBuilder,
    MetricDefinitions,
    Outcome,
    QueueCall,
    QueueFigures,
    aht,
    service_level,
    summarise,
)
from console.services.supervision.call_ledger import DEFAULT_ACW_REASONS, CallLedger
from console.services.supervision.live_reconcile import QueueStatusReconciler
from console.services.supervision.live_state import (
    AgentCall,
    AgentState,
    Key,
    Member,
    QueueState,
    caller_label,
    day_bounds,
    label,
    number,
)
from console.services.supervision.live_types import (
    AgentActivity,
    AgentLive,
    BoardSnapshot,
    QueueLive,
)

__all__ = ["EXIT_GRACE", "HISTORY_MINUTES", "LiveBoard", "caller_label", "day_bounds"]

#: Samples kept for the sparklines: one a minute for the last hour.
HISTORY_MINUTES = 60
#: Asterisk sends QueueCallerLeave just before AgentConnect: an exit stays provisional this long.
EXIT_GRACE = 10.0
STAFFED_REFRESH = 1.0  # seconds a queue's staffed time (occupancy) is reused by snapshots
_EPOCHS = (1e9, 1e10)  # Timestamps outside 2001..2286 are not a PBX's clock
_GONE_KEPT = 4096  # callers recently gone from a queue, per queue (reconcile races)


class LiveBoard(QueueStatusReconciler):
    """Queues and agents live, from AMI events; see the module docstring."""

    def __init__(
        self,
        definitions: MetricDefinitions | None = None,
        *,
        acw_reasons: Iterable[str] = DEFAULT_ACW_REASONS,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        history_minutes: int = HISTORY_MINUTES,
    ) -> None:
        self.definitions = definitions or MetricDefinitions()
        self.acw_reasons = frozenset(r.strip().lower() for r in acw_reasons)
        self.clock = clock
        self.tz = tz
        self.history_minutes = history_minutes
        self.events_seen = 0
        self.day_start: float | None = None
        self._next_day = -math.inf
        self._next_sample = -math.inf
        self._ledger = CallLedger(self.acw_reasons)
        self._queues: dict[str, QueueState] = {}
        self._agents: dict[str, AgentState] = {}
        self._last_done: dict[str, QueueCall] = {}  # member name -> last completed visit
        self._legs: dict[str, str] = {}  # agent leg Uniqueid -> interface
        self._ringing: dict[str, set[str]] = {}  # caller Uniqueid -> interfaces ringing
        self._talking: dict[str, Key] = {}  # caller or agent leg Uniqueid -> visit key
        self._held: dict[Key, float] = {}  # visit on hold -> since
        self._waiting_in: dict[str, str] = {}  # waiting caller Uniqueid -> queue
        self._staffed: dict[str, tuple[float, float]] = {}  # queue -> (at, staffed seconds)
        handlers: dict[str, Callable[[Message, float], None]] = {
            "QueueCallerJoin": self._join,
            "QueueCallerLeave": self._leave,
            "QueueCallerAbandon": self._abandon,
            "AgentCalled": self._called,
            "AgentRingNoAnswer": self._ring_no_answer,
            "AgentConnect": self._connect,
            "AgentComplete": self._complete,
            "Hold": self._hold,
            "Unhold": self._hold,
            "Hangup": self._hangup,
            "QueueMemberAdded": self._member,
            "QueueMemberStatus": self._member,
            "QueueMemberPause": self._member,
            "QueueMemberPaused": self._member,  # Asterisk 12's name
            "QueueMemberRemoved": self._member_removed,
        }
        self._handlers = handlers | {k.lower(): v for k, v in handlers.items()}

    # Feeding -------------------------------------------------------------------------------

    def feed(self, msg: Message) -> None:
        """Apply one AMI event frame (anything else, or a malformed one, changes nothing)."""
        self.events_seen += 1
        event = msg.get("Event")
        handler = self._handlers.get(event) or self._handlers.get(event.strip().lower())
        if handler is None:
            return
        at = self._time(msg)
        if at >= self._next_sample:
            self._advance(at)
        handler(msg, at)

    def _time(self, msg: Message) -> float:
        stamp = msg.get("Timestamp")
        if stamp:
            at = number(stamp)
            if at is not None and _EPOCHS[0] < at < _EPOCHS[1]:  # a PBX clock, not garbage
                return at
        return self.clock()

    def _queue(self, name: str) -> QueueState:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = QueueState(name, self.definitions, self.history_minutes)
        return q

    def _agent(self, interface: str, name: str = "") -> AgentState:
        a = self._agents.get(interface)
        if a is None:
            a = self._agents[interface] = AgentState(interface, name, self.definitions)
        elif name and a.name == a.interface:  # first told its member name; then it stays
            a.name, a.label = name, label(name)  # (the ledger knows the agent by it)
        return a

    # Ledger bookkeeping: every visit of today sits in its queue's (and agent's) ``pending``
    # until it is settled, then its figures are added once to ``final``.

    def _track(
        self, key: Key, step: Callable[..., object], *args: object, **kwargs: object
    ) -> tuple[QueueCall | None, object]:
        """Run ledger step ``step(*args, **kwargs)`` for visit ``key``; return the visit (when
        it belongs to today's figures and is not settled yet) and what the step returned."""
        q = self._queue(key[1])
        visit = q.pending.get(key)
        before = visit.outcome if visit is not None else None
        count = len(self._ledger.visits)
        result = step(*args, **kwargs)
        for new in self._ledger.visits[count:]:
            self._register(new)
        if q.pending.get(key) is not visit:  # a new visit (the first, or the caller is back)
            visit, before = q.pending.get(key), None
        ended = visit is not None and visit.outcome is not before
        if ended and visit is not None and visit.outcome in (Outcome.ANSWERED, Outcome.ABANDONED):
            q.minute.add(visit)  # its wait ended this minute: the SL sample's
        return visit, result

    def _register(self, visit: QueueCall) -> None:
        """A visit the ledger just opened joins its queue's pending ones."""
        q = self._queue(visit.queue)
        key = (visit.callid, visit.queue)
        old = q.pending.get(key)
        if old is not None and old is not visit:  # the caller is back (a transfer): that
            q.final.add(old)  # earlier visit is over
        q.pending[key] = visit

    @staticmethod
    def _agent_visit(a: AgentState, key: Key, visit: QueueCall) -> None:
        old = a.pending.get(key)
        if old is not None and old is not visit:  # the same caller again: that one is over
            a.final.add(old)
        a.pending[key] = visit

    def _settled(self, visit: QueueCall, now: float) -> bool:
        outcome = visit.outcome
        if outcome is Outcome.ABANDONED:
            return True
        if outcome is Outcome.EXITED:
            return now - visit.entered_at - visit.wait >= EXIT_GRACE
        if outcome is Outcome.ANSWERED and visit.completed:
            # Its wrap-up can still grow while it is the agent's last call or being wrapped.
            agent = visit.agent
            return self._last_done.get(agent) is not visit and (
                self._ledger.wrapping(agent) is not visit
            )
        return False

    def _settle(self, pending: dict[Key, QueueCall], final: FigureBuilder, now: float) -> bool:
        done = [key for key, visit in pending.items() if self._settled(visit, now)]
        for key in done:
            final.add(pending.pop(key))
        return bool(done)

    # Callers -------------------------------------------------------------------------------

    def _join(self, msg: Message, at: float) -> None:
        queue, callid = msg.get("Queue").strip(), msg.get("Uniqueid").strip()
        if not queue or not callid:
            return
        q = self._queue(queue)
        if callid in q.waiting:
            return  # a repeat
        old = self._waiting_in.get(callid)
        if old is not None and old != queue:
            self._gone(self._queues[old], callid, at, exit_=True)  # its Leave was missed
        q.waiting[callid] = (at, self.events_seen)
        self._waiting_in[callid] = queue
        self._track((callid, queue), self._ledger.enter, callid, queue, at)

    def _gone(self, q: QueueState, callid: str, at: float, *, exit_: bool) -> float | None:
        """The caller left ``q``'s waiting list; returns how long they waited there."""
        entry = q.waiting.pop(callid, None)
        if self._waiting_in.get(callid) == q.name:
            del self._waiting_in[callid]
        q.gone[callid] = self.events_seen
        if len(q.gone) > _GONE_KEPT:
            for old in list(q.gone)[: _GONE_KEPT // 2]:
                del q.gone[old]
        if entry is None:
            return None
        wait = max(0.0, at - entry[0])
        if exit_:
            key = (callid, q.name)
            self._track(key, self._ledger.exit, callid, q.name, wait, at)
        return wait

    def _leave(self, msg: Message, at: float) -> None:
        queue, callid = msg.get("Queue").strip(), msg.get("Uniqueid").strip()
        q = self._queues.get(queue)
        if q is not None and callid:
            # Provisional: an AgentConnect right after turns the exit into an answer.
            self._gone(q, callid, at, exit_=True)

    def _abandon(self, msg: Message, at: float) -> None:
        queue, callid = msg.get("Queue").strip(), msg.get("Uniqueid").strip()
        if not queue or not callid:
            return
        q = self._queue(queue)
        waited = self._gone(q, callid, at, exit_=False)
        wait = number(msg.get("HoldTime"), waited if waited is not None else 0.0) or 0.0
        self._track((callid, queue), self._ledger.abandon, callid, queue, wait, at)
        self._stop_ringing(callid, at)

    def _stop_ringing(self, callid: str, at: float, keep: str = "") -> None:
        for interface in self._ringing.pop(callid, ()):
            a = self._agents.get(interface)
            call = a.call if a is not None and interface != keep else None
            if a is not None and call is not None and not call.talking and call.callid == callid:
                a.call = None
                self._refresh(a, at)

    # Agents' calls -------------------------------------------------------------------------

    def _called(self, msg: Message, at: float) -> None:
        interface, callid = msg.get("Interface").strip(), msg.get("Uniqueid").strip()
        queue = msg.get("Queue").strip()
        if not interface or not callid or not queue:
            return
        a = self._agent(interface, msg.get("MemberName").strip())
        self._queue(queue)
        if a.call is not None and a.call.talking:
            return  # stale: the agent is talking
        leg = msg.get("DestUniqueid").strip()
        caller = caller_label(msg.get("CallerIDName"), msg.get("CallerIDNum"))
        a.call = AgentCall(callid, queue, caller, leg, at)
        a.call.touched = self.events_seen
        if leg:
            self._legs[leg] = interface
        self._ringing.setdefault(callid, set()).add(interface)
        self._refresh(a, at)

    def _ring_no_answer(self, msg: Message, at: float) -> None:
        a = self._agents.get(msg.get("Interface").strip())
        if a is None or a.call is None or a.call.talking:
            return
        leg = msg.get("DestUniqueid").strip()
        if a.call.leg == leg or a.call.callid == msg.get("Uniqueid").strip():
            ringing = self._ringing.get(a.call.callid)
            if ringing is not None:
                ringing.discard(a.interface)
            a.call = None
            self._refresh(a, at)

    def _connect(self, msg: Message, at: float) -> None:
        queue, callid = msg.get("Queue").strip(), msg.get("Uniqueid").strip()
        interface = msg.get("Interface").strip()
        if not queue or not callid or not interface:
            return
        a = self._agent(interface, msg.get("MemberName").strip())
        q = self._queue(queue)
        waited = self._gone(q, callid, at, exit_=False) if callid in q.waiting else None
        wait = number(msg.get("HoldTime"), waited if waited is not None else 0.0) or 0.0
        name = a.name
        visit, _ = self._track((callid, queue), self._ledger.connect, callid, queue, name, wait, at)
        self._last_done.pop(name, None)  # the previous call's wrap-up is over
        if visit is not None and visit.agent == name:
            self._agent_visit(a, (callid, queue), visit)
        self._stop_ringing(callid, at, keep=interface)
        leg = msg.get("DestUniqueid").strip()
        call = a.call
        if call is None or call.callid != callid:  # its AgentCalled was missed
            caller = caller_label(msg.get("CallerIDName"), msg.get("CallerIDNum"))
            call = a.call = AgentCall(callid, queue, caller, leg, at)
        if not call.talking:  # (a repeated AgentConnect keeps the first answer's time)
            call.talking, call.started = True, at
        call.touched = self.events_seen
        if leg:
            self._legs[leg] = interface
            self._talking[leg] = (callid, queue)
        self._talking[callid] = (callid, queue)
        self._refresh(a, at)

    def _complete(self, msg: Message, at: float) -> None:
        queue, callid = msg.get("Queue").strip(), msg.get("Uniqueid").strip()
        interface = msg.get("Interface").strip()
        if not queue or not callid or not interface:
            return
        a = self._agent(interface, msg.get("MemberName").strip())
        key = (callid, queue)
        since = self._held.pop(key, None)
        if since is not None:  # completed while on hold
            self._ledger.hold(callid, queue, at - since)
        wait = number(msg.get("HoldTime"), 0.0) or 0.0
        talk = number(msg.get("TalkTime"), 0.0) or 0.0
        transferred = msg.get("Reason").strip().lower() == "transfer"
        name = a.name
        visit, done = self._track(
            key, self._ledger.complete, callid, queue, name, wait, talk, at, transferred=transferred
        )
        if isinstance(done, QueueCall):  # not a repeat
            self._last_done[done.agent] = done
            if visit is not None:
                self._agent_visit(a, key, visit)
            a.last_end = at
        self._talking.pop(callid, None)
        call = a.call
        if call is not None and call.callid == callid:
            self._talking.pop(call.leg, None)
            a.call = None
        self._refresh(a, at)

    def _hold(self, msg: Message, at: float) -> None:
        key = self._talking.get(msg.get("Uniqueid").strip())
        if key is None:
            return
        if msg.get("Event").strip().lower() == "hold":
            self._held.setdefault(key, at)
        else:
            since = self._held.pop(key, None)
            if since is not None:
                self._ledger.hold(key[0], key[1], at - since)

    def _hangup(self, msg: Message, at: float) -> None:
        uid = msg.get("Uniqueid").strip()
        interface = self._legs.pop(uid, None)
        if interface is not None:  # an agent's leg
            self._talking.pop(uid, None)
            a = self._agents.get(interface)
            if a is not None and a.call is not None and a.call.leg == uid:
                if a.call.talking:  # AgentComplete never came
                    a.last_end = at
                ringing = self._ringing.get(a.call.callid)
                if ringing is not None:
                    ringing.discard(interface)
                a.call = None
                self._refresh(a, at)
            return
        queue = self._waiting_in.get(uid)
        if queue is not None:  # a waiting caller whose Abandon/Leave we missed
            self._gone(self._queues[queue], uid, at, exit_=True)
        self._talking.pop(uid, None)
        if uid in self._ringing:
            self._stop_ringing(uid, at)

    # Members -------------------------------------------------------------------------------

    def _member(self, msg: Message, at: float) -> None:
        queue, interface = msg.get("Queue").strip(), msg.get("Interface").strip()
        if queue and interface:
            self._apply_member(msg, queue, interface, msg.get("MemberName").strip(), at)

    def _apply_member(self, msg: Message, queue: str, interface: str, name: str, at: float) -> None:
        a = self._agent(interface, name)
        self._queue(queue)
        m = a.memberships.get(queue)
        joined = m is None
        if m is None:
            m = a.memberships[queue] = Member()
        paused = msg.get("Paused").strip() == "1"
        reason = (msg.get("PausedReason") or msg.get("Reason")).strip() if paused else ""
        if joined or paused != m.paused or reason != m.reason:
            self._ledger.member(a.name, queue, at, logged_in=True, paused=paused, reason=reason)
            m.paused, m.reason = paused, reason
        status = number(msg.get("Status"))
        if status is not None:
            m.status = int(status)
        m.in_call = msg.get("InCall").strip() == "1"
        m.touched = self.events_seen
        wrap = number(msg.get("Wrapuptime"))
        if wrap is not None:
            a.wrapuptime = max(0.0, wrap)
        last = number(msg.get("LastCall"))
        # The PBX's clock: trusted only when it agrees with ours (a simulator's epoch may not).
        if last and at - 86_400 < last <= at + 5 and (a.last_end is None or last > a.last_end):
            a.last_end = last
        self._refresh(a, at)

    def _member_removed(self, msg: Message, at: float) -> None:
        a = self._agents.get(msg.get("Interface").strip())
        queue = msg.get("Queue").strip()
        if a is not None and a.memberships.pop(queue, None) is not None:
            self._ledger.member(a.name, queue, at, logged_in=False, paused=False)
            self._refresh(a, at)

    # Agents' states ------------------------------------------------------------------------

    def _refresh(self, a: AgentState, now: float) -> None:
        activity, reason = a.state(now, self.acw_reasons)
        if activity is a.activity and reason == a.reason:
            return
        since = now
        timer_end = a.last_end + a.wrapuptime if a.last_end is not None else None
        if a.activity is AgentActivity.WRAP_UP and not a.reason and timer_end is not None:
            since = max(a.since, min(now, timer_end))  # the wrap-up timer ran out then
        a.activity, a.reason, a.since = activity, reason, since

    # Time ----------------------------------------------------------------------------------

    def _advance(self, at: float) -> None:
        """Minute samples and the midnight rollover, as time passes ``at``."""
        if self.day_start is None:
            self.day_start, self._next_day = day_bounds(at, self.tz)
            self._ledger.since = self.day_start
            self._next_sample = (at // 60 + 1) * 60
            return
        taken = 0
        while at >= self._next_sample and taken <= self.history_minutes:
            self._sample()
            self._next_sample += 60
            taken += 1
        if at >= self._next_sample:  # a long silence: skip to now
            self._next_sample = (at // 60 + 1) * 60
        if at >= self._next_day:
            self._new_day(at)

    def _sample(self) -> None:
        treatment = self.definitions.treatment
        for q in self._queues.values():
            q.wait_hist.append(float(len(q.waiting)))
            q.sl_hist.append(service_level(q.minute.figures(), treatment))
            q.minute = FigureBuilder(self.definitions)

    def _new_day(self, at: float) -> None:
        """Midnight: a fresh ledger for today; members and waiting callers carry over."""
        self.day_start, self._next_day = day_bounds(at, self.tz)
        start = self.day_start
        self._ledger = CallLedger(self.acw_reasons, since=start)
        self._staffed.clear()
        self._last_done.clear()
        self._held.clear()
        for q in self._queues.values():
            q.final, q.pending = FigureBuilder(self.definitions), {}
        for a in self._agents.values():
            a.final, a.pending = FigureBuilder(self.definitions), {}
            for queue, m in a.memberships.items():
                self._ledger.member(
                    a.name, queue, start, logged_in=True, paused=m.paused, reason=m.reason
                )

    # Reading -------------------------------------------------------------------------------

    def queue_members(
        self, queue: str, now: float | None = None
    ) -> list[tuple[str, AgentActivity, float, bool]]:
        """Each member of ``queue`` now: interface, activity, since when, paused there. Cheap
        (no figures): the outbound dialer asks it every round."""
        now = self.clock() if now is None else now
        members = []
        for a in self._agents.values():
            m = a.memberships.get(queue)
            if m is not None:
                self._refresh(a, now)
                members.append((a.interface, a.activity, a.since, m.paused))
        return members

    def visits(self) -> list[QueueCall]:
        """Today's queue visits so far (the staffing panel's recent traffic)."""
        return list(self._ledger.visits)

    def snapshot(self, now: float | None = None) -> BoardSnapshot:
        """Every queue and agent at ``now`` (default: the board's clock)."""
        now = self.clock() if now is None else now
        if now >= self._next_sample:
            self._advance(now)
        counts: dict[str, list[int]] = {name: [0, 0, 0, 0, 0] for name in self._queues}
        agents = tuple(self._agent_live(a, now, counts) for a in self._agents.values())
        queues = tuple(
            self._queue_live(self._queues[name], now, counts[name]) for name in sorted(self._queues)
        )
        return BoardSnapshot(at=now, queues=queues, agents=agents, events_seen=self.events_seen)

    def _queue_live(self, q: QueueState, now: float, count: list[int]) -> QueueLive:
        self._settle(q.pending, q.final, now)
        builder = copy(q.final)
        for visit in q.pending.values():
            builder.add(visit, now)
        staffed = self._staffed.get(q.name)
        if staffed is None or not 0 <= now - staffed[0] < STAFFED_REFRESH:
            # The ledger walks every membership for it: refreshed once a second, not per redraw.
            staffed = self._staffed[q.name] = (now, self._ledger.staffed_time(q.name, now))
        builder.staffed_time = staffed[1]
        figures = builder.figures()
        oldest = min((entered for entered, _ in q.waiting.values()), default=None)
        return QueueLive(
            queue=q.label,
            waiting=len(q.waiting),
            longest_wait=0.0 if oldest is None else max(0.0, now - oldest),
            figures=figures,
            summary=summarise(figures, self.definitions),
            logged_in=count[0],
            available=count[1],
            on_call=count[2],
            wrap_up=count[3],
            not_ready=count[4],
            waiting_history=tuple(q.wait_hist),
            sl_history=tuple(q.sl_hist),
        )

    def _agent_live(self, a: AgentState, now: float, counts: dict[str, list[int]]) -> AgentLive:
        self._refresh(a, now)
        activity = a.activity
        for queue, m in a.memberships.items():
            count = counts[queue]
            count[0] += 1
            if activity is AgentActivity.ON_CALL or activity is AgentActivity.RINGING:
                count[2] += 1
            elif activity is AgentActivity.WRAP_UP:
                count[3] += 1
            elif m.paused or activity is AgentActivity.NOT_READY:
                count[4] += 1
            else:
                count[1] += 1
        if len(a.pending) > 1:
            self._settle(a.pending, a.final, now)
        # Only handled and AHT are shown per agent: summed here rather than copying a builder
        # (a copy per agent per snapshot was most of a snapshot's cost), same fields as it adds.
        final = a.final
        handled, busy = final.handled, final.talk_time + final.hold_time + final.wrap_time
        for visit in a.pending.values():
            if visit.completed and visit.outcome is Outcome.ANSWERED:
                handled += 1
                busy += visit.talk + visit.wrap
        call = a.call
        return AgentLive(
            agent=a.label,
            interface=a.interface,
            queues=tuple(self._queues[queue].label for queue in a.memberships),
            activity=activity,
            reason=label(a.reason),
            since=a.since,
            call_queue=self._queues[call.queue].label if call is not None else "",
            caller=call.caller if call is not None else "",
            call_started=call.started if call is not None else None,
            handled=handled,
            aht=aht(QueueFigures(handled=handled, talk_time=busy)),
        )
