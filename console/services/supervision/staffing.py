"""Staffing: how many agents a queue needs now, by Erlang C and Erlang A, against how many it has.

- `estimate_traffic` derives the arrival rate λ, the AHT and the callers' mean patience from
  the `QueueCall` visits of the last N minutes (the same visits the wallboard counts).
- `measure` turns a `BoardSnapshot`, the queue's targets and that estimate into a
  `StaffingInput` (falling back to today's figures when the window holds no calls).
- `staffing_view` computes the `StaffingView`: agents needed for the service-level target and
  for the ASA target by Erlang C and by Erlang A, and the predicted figures at the staffing
  actually logged in — or at a what-if (`WhatIf`: other agents, λ, AHT or patience).

Pure: no clock of its own, no database, no UI. The formulas are in
console/services/supervision/erlang.py
and docs/metrics.md ("Staffing").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from callkit.metrics import (
    FigureBuilder,
    MetricDefinitions,
    Outcome,
    QueueCall,
    QueueFigures,
    aht,
)
from console.services.supervision import erlang
from console.services.supervision.live_types import AgentActivity, BoardSnapshot, QueueLive
from console.services.supervision.queue_targets import TargetBook

#: Activities that count as staffed (after-call work included, as in docs/metrics.md).
STAFFED = frozenset(
    {AgentActivity.AVAILABLE, AgentActivity.RINGING, AgentActivity.ON_CALL, AgentActivity.WRAP_UP}
)
MAX_AGENTS = 5000  # searches for "agents needed" give up above this


class StaffingError(ValueError):
    """The staffing figures cannot be computed (a missing AHT, a bad what-if value)."""


@dataclass(frozen=True, slots=True)
class TrafficEstimate:
    """What the recent calls say: arrivals, handle time and patience over one window."""

    window: float  # seconds covered (0: no window)
    offered: int  # visits that entered the queue in the window
    handled: int  # conversations that ended in the window
    abandoned: int  # visits in the window that ended in an abandon
    rate: float | None  # offered / window, calls per second
    aht: float | None  # (talk + hold + wrap-up) / handled of those conversations
    patience: float | None  # mean patience estimate (s); None without abandons


def estimate_traffic(
    calls: Iterable[QueueCall],
    now: float,
    minutes: float,
    *,
    queue: str | None = None,
    since: float | None = None,
    definitions: MetricDefinitions | None = None,
) -> TrafficEstimate:
    """λ, AHT and patience from the visits of the last ``minutes`` before ``now``.

    ``queue`` keeps one queue's visits (None: all). ``since`` is when the calls started being
    observed: the window never reaches back before it (a board started 5 minutes ago has
    seen 5 minutes of arrivals, not 30). The rate counts visits that *entered* in the window;
    the AHT uses conversations that *ended* in it (folded by `FigureBuilder`, so it is the
    wallboard's AHT); the mean patience is the censored-exponential estimate: total time all
    callers spent waiting (answered, abandoned or still waiting) / abandoned callers.
    """
    if minutes <= 0:
        raise ValueError("the window must be more than 0 minutes")
    start = now - minutes * 60.0
    if since is not None:
        start = max(start, since)
    window = max(0.0, now - start)
    builder = FigureBuilder(definitions or MetricDefinitions())
    offered = abandoned = 0
    exposure = 0.0
    for call in calls:
        if queue is not None and call.queue != queue:
            continue
        if start <= call.entered_at <= now:
            offered += 1
            if call.outcome is Outcome.WAITING:
                exposure += max(0.0, now - call.entered_at)
            else:
                exposure += call.wait
            abandoned += call.outcome is Outcome.ABANDONED
        ended = call.ended_at
        if call.completed and ended is not None and start <= ended <= now:
            builder.add(call)
    figures = builder.figures()
    return TrafficEstimate(
        window=window,
        offered=offered,
        handled=figures.handled,
        abandoned=abandoned,
        rate=offered / window if window > 0 else None,
        aht=aht(figures),
        patience=exposure / abandoned if abandoned and exposure > 0 else None,
    )


@dataclass(frozen=True, slots=True)
class StaffingInput:
    """What the staffing figures are computed from (one queue, or all queues pooled)."""

    rate: float  # arrivals per second
    aht: float | None  # seconds; None while no call has been handled
    agents: int  # agents staffed now (logged in and not paused; wrap-up counts)
    sl_target: float = 0.80  # share answered within sl_threshold
    sl_threshold: float = 20.0  # seconds
    asa_target: float = 30.0  # seconds
    patience: float | None = None  # callers' mean patience (s); None: unknown, no Erlang A
    queue: str = ""  # "" for all queues pooled
    source: str = ""  # where rate and AHT come from, e.g. "last 30 min" or "today"

    @property
    def calls_per_hour(self) -> float:
        return self.rate * 3600.0


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Overrides of the measured inputs; None keeps the measured value."""

    agents: int | None = None
    rate: float | None = None  # calls per second
    aht: float | None = None
    patience: float | None = None

    def apply(self, inp: StaffingInput) -> StaffingInput:
        """``inp`` with these overrides."""
        return replace(
            inp,
            agents=inp.agents if self.agents is None else self.agents,
            rate=inp.rate if self.rate is None else self.rate,
            aht=inp.aht if self.aht is None else self.aht,
            patience=inp.patience if self.patience is None else self.patience,
        )

    @property
    def empty(self) -> bool:
        return self == WhatIf()


@dataclass(frozen=True, slots=True)
class Prediction:
    """Predicted figures at one staffing level under one model."""

    agents: int
    service_level: float  # share of calls answered within the threshold
    asa: float  # seconds (answered calls); inf when the queue grows without end
    p_wait: float
    p_abandon: float  # 0 under Erlang C
    occupancy: float


@dataclass(frozen=True, slots=True)
class StaffingView:
    """Agents needed against agents staffed, by Erlang C and (with a patience) Erlang A.

    An "agents needed" of None means the target is out of reach below MAX_AGENTS.
    """

    measured: StaffingInput
    effective: StaffingInput  # the measured input with the what-if applied
    what_if: WhatIf
    traffic: float  # offered erlangs, λ·AHT
    needed_sl_c: int | None
    needed_asa_c: int | None
    at_staffing_c: Prediction
    needed_sl_a: int | None = None  # the Erlang A figures are None without a patience
    needed_asa_a: int | None = None
    at_staffing_a: Prediction | None = None

    @property
    def needed_c(self) -> int | None:
        """Agents meeting both targets by Erlang C."""
        return _both(self.needed_sl_c, self.needed_asa_c)

    @property
    def needed_a(self) -> int | None:
        """Agents meeting both targets by Erlang A."""
        return _both(self.needed_sl_a, self.needed_asa_a)


def staffing_view(inp: StaffingInput, what_if: WhatIf | None = None) -> StaffingView:
    """The staffing figures for ``inp`` with ``what_if`` applied."""
    what_if = what_if or WhatIf()
    eff = what_if.apply(inp)
    _check(eff)
    handle = eff.aht
    if handle is None:
        raise StaffingError("no AHT yet (no call handled): enter one to see the figures")
    rate, n, t = eff.rate, eff.agents, eff.sl_threshold
    needed = _needed
    c = erlang.erlang_a(rate, handle, n, None, t)
    view = StaffingView(
        measured=inp,
        effective=eff,
        what_if=what_if,
        traffic=rate * handle,
        needed_sl_c=needed(erlang.agents_for_service_level, rate, handle, eff.sl_target, t),
        needed_asa_c=needed(erlang.agents_for_asa, rate, handle, eff.asa_target),
        at_staffing_c=_prediction(c),
    )
    if eff.patience is None:
        return view
    p = eff.patience
    a = erlang.erlang_a(rate, handle, n, p, t)
    return replace(
        view,
        needed_sl_a=needed(erlang.agents_for_service_level_a, rate, handle, p, eff.sl_target, t),
        needed_asa_a=needed(erlang.agents_for_asa_a, rate, handle, p, eff.asa_target),
        at_staffing_a=_prediction(a),
    )


def measure(
    snapshot: BoardSnapshot,
    book: TargetBook,
    *,
    queue: str | None = None,
    calls: Iterable[QueueCall] | None = None,
    minutes: float = 30.0,
    since: float | None = None,
    definitions: MetricDefinitions | None = None,
) -> StaffingInput:
    """The `StaffingInput` of ``queue`` (None: all queues pooled) at ``snapshot.at``.

    λ, AHT and patience come from ``calls`` over the last ``minutes`` (`estimate_traffic`);
    without calls, or when the window holds none, from today's figures on the board (λ =
    offered today / time since local midnight; no patience). Agents staffed are those in a
    staffed activity serving the queue (for all queues: every staffed agent once). Targets are
    the queue's (all queues: the defaults); the SL threshold is the metric definitions'.
    """
    definitions = definitions or MetricDefinitions()
    targets = book.defaults if queue is None else book.for_queue(queue)
    lives = [q for q in snapshot.queues if queue is None or q.queue == queue]
    agents = sum(
        1
        for a in snapshot.agents
        if a.activity in STAFFED and (queue in a.queues if queue is not None else a.queues)
    )
    rate: float | None = None
    handle: float | None = None
    patience: float | None = None
    source = ""
    if calls is not None:
        est = estimate_traffic(
            calls, snapshot.at, minutes, queue=queue, since=since, definitions=definitions
        )
        if est.rate is not None and est.offered:
            rate, patience = est.rate, est.patience
            source = f"last {est.window / 60:.0f} min"
        handle = est.aht
    if rate is None or handle is None:
        today_rate, today_aht = _today(lives, snapshot.at)
        if rate is None:
            rate, source = today_rate, "today"
        if handle is None:
            handle = today_aht
    return StaffingInput(
        rate=rate,
        aht=handle,
        agents=agents,
        sl_target=targets.service_level,
        sl_threshold=definitions.sl_threshold,
        asa_target=targets.asa,
        patience=patience,
        queue=queue or "",
        source=source,
    )


def _needed(search: Callable[..., int], *args: float | None) -> int | None:
    """``search(*args)`` (an agents-needed search), None when out of reach."""
    try:
        return search(*args, max_agents=MAX_AGENTS)
    except ValueError:
        return None


def _today(lives: list[QueueLive], at: float) -> tuple[float, float | None]:
    """λ and AHT from today's counters of ``lives`` (QueueLive), pooled."""
    midnight = datetime.fromtimestamp(at).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = at - midnight.timestamp()
    figures = [q.figures for q in lives]
    pooled = QueueFigures(
        offered=sum(f.offered for f in figures),
        handled=sum(f.handled for f in figures),
        talk_time=sum(f.talk_time for f in figures),
        hold_time=sum(f.hold_time for f in figures),
        wrap_time=sum(f.wrap_time for f in figures),
    )
    return (pooled.offered / elapsed if elapsed > 0 else 0.0), aht(pooled)


def _check(inp: StaffingInput) -> None:
    problems = []
    if not (math.isfinite(inp.rate) and inp.rate >= 0):
        problems.append("calls per hour must be 0 or more")
    if inp.aht is not None and not (math.isfinite(inp.aht) and inp.aht > 0):
        problems.append("AHT must be more than 0 s")
    if inp.agents < 0:
        problems.append("agents must be 0 or more")
    if inp.patience is not None and not (math.isfinite(inp.patience) and inp.patience > 0):
        problems.append("patience must be more than 0 s")
    if not 0 <= inp.sl_target < 1 or inp.sl_threshold < 0 or inp.asa_target <= 0:
        problems.append("targets must be SL in [0, 1), threshold >= 0 s and ASA > 0 s")
    if problems:
        raise StaffingError("; ".join(problems))


def _prediction(figures: erlang.ErlangA) -> Prediction:
    return Prediction(
        agents=figures.agents,
        service_level=figures.service_level,
        asa=figures.asa,
        p_wait=figures.p_wait,
        p_abandon=figures.p_abandon,
        occupancy=figures.occupancy,
    )


def _both(first: int | None, second: int | None) -> int | None:
    return None if first is None or second is None else max(first, second)
