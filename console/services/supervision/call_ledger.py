"""The call ledger: queue events from any source in, `QueueCall` visits and staffed time out.

The live wallboard translates AMI events into these calls, the reports translate queue_log
lines; both then fold the visits with `metrics.FigureBuilder`. One state machine behind both is
what makes the wallboard's figures and the report's figures equal for the same period.

Rules (docs/metrics.md):

- A visit is keyed by (call id, queue). ``enter`` opens it; ``connect``, ``abandon`` or
  ``exit`` end the wait; ``complete`` ends the conversation. An event for a visit the ledger
  never saw enter (the source started mid-call) opens it, back-dated by the wait it reports.
- ``exit`` (a caller who left without an agent) is provisional: Asterisk sends
  QueueCallerLeave *before* AgentConnect, so a ``connect`` (or an ``abandon``) for the same
  visit overrides it.
- After-call work: an agent's pause with an after-call-work reason, started after their last
  completed call and before their next answer or any pause for another reason (a break after
  the call is not work on it), is that call's wrap-up until the agent unpauses, pauses for
  another reason or logs out. An agent already in an after-call-work pause when the call's
  completion arrives (the two can race) starts its wrap-up at that moment. A PBX's automatic
  ``wrapuptime`` is not logged anywhere (not in queue_log), so it is not handle time.
- Staffed time per queue: a member logged in and not paused, or paused for after-call work.
  With ``keep_intervals`` the ledger also keeps each staffed interval (agent, queue, start,
  end), so a report can split staffed time by agent, day or hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from callkit.metrics import Outcome, QueueCall

#: Pause reasons that mean after-call work (the console's own code is "acw").
DEFAULT_ACW_REASONS = frozenset({"acw", "after-call work", "wrap-up", "wrapup"})
_RECENT = 4096  # ended visits kept for late or repeated frames


@dataclass(frozen=True, slots=True)
class StaffedInterval:
    """``agent`` was staffed in ``queue`` from ``start`` to ``end`` (epoch seconds)."""

    agent: str
    queue: str
    start: float
    end: float


@dataclass(slots=True)
class _Membership:
    logged_in: bool = False
    paused: bool = False
    acw: bool = False
    since: float = 0.0  # when the current staffed interval began (when staffed)

    @property
    def staffed(self) -> bool:
        return self.logged_in and (not self.paused or self.acw)


@dataclass(slots=True)
class _Wrap:
    call: QueueCall
    started: float


class CallLedger:
    """Visits and staffed time; see the module docstring for the rules."""

    def __init__(
        self,
        acw_reasons: frozenset[str] = DEFAULT_ACW_REASONS,
        *,
        since: float | None = None,
        keep_intervals: bool = False,
    ) -> None:
        self.acw_reasons = frozenset(r.strip().lower() for r in acw_reasons)
        #: Visits entered before this epoch are not kept, staffed time before it not counted.
        self.since = since
        # Closed staffed intervals (reports only: a wallboard running for weeks keeps none).
        self._intervals: list[StaffedInterval] | None = [] if keep_intervals else None
        self.visits: list[QueueCall] = []
        self._open: dict[tuple[str, str], QueueCall] = {}  # waiting or talking
        self._recent: dict[tuple[str, str], QueueCall] = {}  # lately ended, for late frames
        self._last_done: dict[str, QueueCall] = {}  # agent -> last completed call
        self._wrapping: dict[str, _Wrap] = {}  # agent -> after-call work in progress
        self._members: dict[tuple[str, str], _Membership] = {}  # (agent, queue)
        self._staffed: dict[str, float] = {}  # queue -> closed staffed seconds

    # Queries -------------------------------------------------------------------------------

    def waiting(self) -> Iterator[QueueCall]:
        """Visits still waiting."""
        return (c for c in self._open.values() if c.outcome is Outcome.WAITING)

    def staffed_time(self, queue: str, now: float) -> float:
        """Seconds of staffed member time in ``queue`` up to ``now`` (open intervals too)."""
        total = self._staffed.get(queue, 0.0)
        for (_, q), m in self._members.items():
            if q == queue and m.staffed:
                total += max(0.0, now - self._clip(m.since))
        return total

    def staffed_intervals(self, now: float) -> Iterator[StaffedInterval]:
        """Every staffed interval kept so far, open ones ending at ``now`` (``keep_intervals``)."""
        if self._intervals is None:
            raise RuntimeError("this ledger keeps no intervals (keep_intervals=False)")
        yield from self._intervals
        for (agent, queue), m in self._members.items():
            start = self._clip(m.since)
            if m.staffed and now > start:
                yield StaffedInterval(agent, queue, start, now)

    def wrapping(self, agent: str) -> QueueCall | None:
        """The call whose after-call work ``agent`` is doing, if any."""
        w = self._wrapping.get(agent)
        return w.call if w is not None else None

    # Callers -------------------------------------------------------------------------------

    def enter(self, callid: str, queue: str, at: float) -> QueueCall | None:
        """A caller joined ``queue``; None when it is a repeat of a visit still waiting."""
        key = (callid, queue)
        old = self._open.get(key)
        if old is not None and old.outcome is Outcome.WAITING:
            return None
        self._recent.pop(key, None)
        return self._open_visit(key, at)

    def connect(self, callid: str, queue: str, agent: str, wait: float, at: float) -> None:
        """An agent answered the caller after ``wait`` seconds in the queue."""
        call = self._visit(callid, queue, at - wait)
        if call.outcome not in (Outcome.WAITING, Outcome.EXITED):
            return  # a repeated frame
        call.outcome, call.wait, call.agent = Outcome.ANSWERED, max(0.0, wait), agent
        self._recent.pop((callid, queue), None)
        self._open[(callid, queue)] = call
        self._end_wrap(agent, at)

    def abandon(self, callid: str, queue: str, wait: float, at: float) -> None:
        """The caller hung up while waiting."""
        call = self._visit(callid, queue, at - wait)
        if call.outcome in (Outcome.WAITING, Outcome.EXITED):  # an exit is provisional
            call.outcome, call.wait = Outcome.ABANDONED, max(0.0, wait)
            self._close(call)

    def exit(
        self, callid: str, queue: str, wait: float | None, at: float, *, back_date: bool = False
    ) -> None:
        """The caller left without an agent (provisional: see the module docstring).

        ``wait`` None: the time since the visit entered. ``back_date``: a visit never seen
        entering is opened, back-dated by ``wait`` (for sources whose wait is reliable, such as
        queue_log; AMI's QueueCallerLeave carries none, so it leaves unseen visits alone).
        """
        key = (callid, queue)
        call = self._open.get(key)
        if call is None and back_date and key not in self._recent:
            call = self._open_visit(key, at - (wait or 0.0))
        if call is not None and call.outcome is Outcome.WAITING:
            spent = at - call.entered_at if wait is None else wait
            call.outcome, call.wait = Outcome.EXITED, max(0.0, spent)
            self._close(call)

    def hold(self, callid: str, queue: str, seconds: float) -> None:
        """Add ``seconds`` on hold to a connected call (sources that can tell)."""
        call = self._open.get((callid, queue))
        if call is not None and call.outcome is Outcome.ANSWERED:
            call.hold += max(0.0, seconds)

    def complete(
        self,
        callid: str,
        queue: str,
        agent: str,
        wait: float,
        talk: float,
        at: float,
        *,
        transferred: bool = False,
    ) -> QueueCall | None:
        """The conversation ended after ``talk`` seconds (hold included)."""
        call = self._visit(callid, queue, at - talk - wait)
        if call.completed:
            return None
        if call.outcome is not Outcome.ANSWERED:
            call.outcome, call.wait = Outcome.ANSWERED, max(0.0, wait)
        call.agent = call.agent or agent
        call.completed, call.transferred = True, transferred
        call.talk, call.ended_at = max(0.0, talk), at
        call.hold = min(call.hold, call.talk)
        self._close(call)
        self._last_done[call.agent] = call
        if self._any_acw(call.agent):  # the ACW pause came first: wrap-up starts now
            self._start_wrap(call.agent, at)
        return call

    # Members -------------------------------------------------------------------------------

    def member(
        self,
        agent: str,
        queue: str,
        at: float,
        *,
        logged_in: bool,
        paused: bool,
        reason: str = "",
    ) -> None:
        """A member's state in one queue (added, removed, paused, unpaused)."""
        key = (agent, queue)
        m = self._members.get(key)
        if m is None:
            m = self._members[key] = _Membership()
        acw = paused and reason.strip().lower() in self.acw_reasons
        if m.staffed:
            start = self._clip(m.since)
            self._staffed[queue] = self._staffed.get(queue, 0.0) + max(0.0, at - start)
            if self._intervals is not None and at > start:
                self._intervals.append(StaffedInterval(agent, queue, start, at))
        m.logged_in, m.paused, m.acw = logged_in, paused and logged_in, acw and logged_in
        if m.staffed:
            m.since = at
        if not logged_in:
            del self._members[key]
        # After-call work is per agent: the first ACW pause starts it, anything else ends it.
        if m.acw:
            self._start_wrap(agent, at)
        else:
            if m.paused:  # another pause: a later ACW pause is no longer this call's
                self._last_done.pop(agent, None)
            if agent in self._wrapping and not self._any_acw(agent):
                self._end_wrap(agent, at)

    # Internals -----------------------------------------------------------------------------

    def _clip(self, at: float) -> float:
        return at if self.since is None else max(at, self.since)

    def _any_acw(self, agent: str) -> bool:
        return any(m.acw for (a, _), m in self._members.items() if a == agent)

    def _start_wrap(self, agent: str, at: float) -> None:
        call = self._last_done.pop(agent, None)
        fresh = call is not None and call.ended_at is not None and call.ended_at <= at
        if fresh and call is not None and agent not in self._wrapping:
            self._wrapping[agent] = _Wrap(call, at)

    def _end_wrap(self, agent: str, at: float) -> None:
        self._last_done.pop(agent, None)
        w = self._wrapping.pop(agent, None)
        if w is not None:
            w.call.wrap += max(0.0, at - w.started)

    def _close(self, call: QueueCall) -> None:
        key = (call.callid, call.queue)
        self._open.pop(key, None)
        self._recent[key] = call
        if len(self._recent) > _RECENT:
            for old in list(self._recent)[: _RECENT // 2]:
                del self._recent[old]

    def _open_visit(self, key: tuple[str, str], at: float) -> QueueCall:
        call = QueueCall(callid=key[0], queue=key[1], entered_at=at)
        self._open[key] = call
        if self.since is None or at >= self.since:
            self.visits.append(call)
        return call

    def _visit(self, callid: str, queue: str, entered_at: float) -> QueueCall:
        key = (callid, queue)
        call = self._open.get(key) or self._recent.get(key)
        if call is None:
            call = self._open_visit(key, entered_at)
        return call
